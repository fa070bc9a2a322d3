#!/usr/bin/env bash
# CrossNAS on cimkit (issue 16, paper 004): writes docs/results/crossnas.md.
#
#   scripts/crossnas_study.sh [OUT]
#
#   1. main      the whole search of configs/search/crossnas.yaml, timed (the config's budget)
#   2. wacc_W    the architecture search again on main's supernet with eq. 4's w_acc = W
#                (0.5, 0.8, 0.99, 1.0; the config's 0.9 is main)
#   3. seed_K    the architecture search on main's supernet with search seeds 1 and 2, and
#      chipseed_K  the bits-and-chip search on main's mixed-precision network with seeds 1, 2
#   4. zoo_NET   lenet5 trained at 8 bits (cimkit run) and read on the preset chip, then on the
#                chip the bits-and-chip search chose (zoo_lenet5_winner, from main/final.json).
#                ZOO="resnet20 vgg8" adds those (4 epochs each, the tile rung: they are slow on 2 cores)
# Steps already done are skipped (their result files exist). CIMKIT may name a copy of
# build/cimkit (to keep building while this runs); THREADS (default 2) sets the threads of the
# runs after main (1 leaves a core to other work: two OpenMP threads on one free core crawl).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/crossnas}
CFG=configs/search/crossnas.yaml
if [ -z "${CIMKIT:-}" ]; then make --no-print-directory build >/dev/null; fi
B=${CIMKIT:-build/cimkit}
T=${THREADS:-2}
# PART: all (default), or sweep / seeds / zoo alone (to run them side by side, then `all` to finish).
PART=${PART:-all}
want() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }
mkdir -p "$OUT"

if [ ! -f "$OUT/main/final.json" ]; then
  resume=""
  [ -f "$OUT/main/supernet/checkpoint.pt" ] && resume=--resume
  echo "1. the whole search -> $OUT/main"
  start=$(date +%s)
  $B nas "$CFG" --out "$OUT/main" $resume > "$OUT/main.log" 2>&1
  echo "$(( $(date +%s) - start ))" > "$OUT/main.wall_s"
fi

# A new run folder holding main's checkpoints up to a stage.
reuse() {  # reuse DIR STAGE...
  local d=$1; shift
  rm -rf "$d"; mkdir -p "$d/supernet"
  cp "$OUT/main/supernet/checkpoint.pt" "$d/supernet/"
  for s in "$@"; do
    case "$s" in
      arch) cp "$OUT/main/arch_search.pt" "$OUT/main/arch_candidates.csv" "$d/" ;;
      quant) cp -r "$OUT/main/quant" "$d/" ;;
    esac
  done
}

for w in 0.5 0.8 0.99 1.0; do
  want sweep || break
  d=$OUT/wacc_$w
  [ -f "$d/arch_candidates.csv" ] && continue
  echo "2. architecture search, w_acc $w -> $d"
  reuse "$d"
  $B nas "$CFG" --out "$d" --resume --until arch_search --set threads=$T --set nas.arch_search.w_acc=$w > "$d.log" 2>&1
done

for k in 1 2; do
  want seeds || break
  d=$OUT/seed_$k
  if [ ! -f "$d/arch_candidates.csv" ]; then
    echo "3. architecture search, search seed $k -> $d"
    reuse "$d"
    $B nas "$CFG" --out "$d" --resume --until arch_search --set threads=$T --set nas.arch_search.search_seed=$k > "$d.log" 2>&1
  fi
  d=$OUT/chipseed_$k
  if [ ! -f "$d/chip_candidates.csv" ]; then
    echo "3. bits-and-chip search, search seed $k -> $d"
    reuse "$d" arch quant
    $B nas "$CFG" --out "$d" --resume --until chip_search --set threads=$T --set nas.chip_search.search_seed=$k > "$d.log" 2>&1
  fi
done

zoo() {  # zoo NET WIDTH EPOCHS FIDELITY
  local d=$OUT/zoo_$1
  [ -f "$d/stats.json" ] && return
  echo "4. $1 on the same chip -> $d"
  cat > "$OUT/zoo_$1.yaml" <<YAML
seed: 1
threads: $T
chip: {preset: crossnas}
model: {name: $1, width: $2, weight_bits: 8, act_bits: 8, adc_bits: 0, first_last_bits: 8, quant: lsq}
data: {name: fashion_mnist, val_fraction: 0.1, train_limit: 0, test_limit: 0}
train: {mode: quantised, epochs: $3, batch_size: 128, optimizer: adam, lr: 0.002, weight_decay: 0.0, schedule: cosine, progress: plain}
eval: {device_seeds: 1, sqnr: false, fidelity: $4}
arch: {preset: crossnas}
cost: {enabled: true}
thermal: {enabled: false}
YAML
  $B run "$OUT/zoo_$1.yaml" --out "$d" --overwrite > "$d.log" 2>&1
}
if want zoo; then
  zoo lenet5 1.0 8 bit_exact
  # The same lenet5 on the chip the bits-and-chip search chose (crossbar, ADC and DAC of final.json).
  if [ ! -f "$OUT/zoo_lenet5_winner/stats.json" ]; then
    read -r XB ADC DAC < <(python3 -c "import json; c = json.load(open('$OUT/main/final.json'))['chip_search']; print(c['xbar'], c['adc_bits'], c['dac_bits'])")
    $B run "$OUT/zoo_lenet5.yaml" --out "$OUT/zoo_lenet5_winner" --overwrite --set train.epochs=0 \
      --set "train.pretrained=$OUT/zoo_lenet5/model.pt" --set chip.crossbar.rows=$XB --set chip.crossbar.cols=$XB \
      --set chip.adc.bits=$ADC --set chip.dac.bits=$DAC > "$OUT/zoo_lenet5_winner.log" 2>&1
  fi
  for net in ${ZOO:-}; do
    case $net in
      vgg8) zoo vgg8 0.25 4 tile ;;
      *) zoo "$net" 1.0 4 tile ;;
    esac
  done
fi

if [ "$PART" = all ]; then
  python3 scripts/crossnas_results.py "$OUT" docs/results/crossnas.md --cimkit "$B"
fi
