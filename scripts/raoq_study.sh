#!/usr/bin/env bash
# RAOQ on cimkit (issue 17, paper 003): writes docs/results/raoq.md.
#
#   scripts/raoq_study.sh [OUT]        (OUT: runs/raoq)
#
# Every run is `cimkit run configs/raoq/lenet5.yaml` (lenet5, Fashion-MNIST, 4-bit weights and
# activations, first and last layers digital at 8 bits, 128-row tiles, k = 4). The QAT stage is
# trained once per seed and W-reshape setting; every ADC-stage run starts from its model.pt:
#   qat_<v>_s<S>        the QAT stage alone (raoq.epochs 0): v = plain (λ_κ 0) or wr (λ_κ 0.002)
#   t1_<arm>_b<B>_s<S>  Table 1: arm vanilla (every mechanism off) or raoq (all), ADC bits B
#   ab_<set>_s<S>       Table 5 at the hardest setting (6 bits): ashift, wreshape, bitaug, aw
#   lk_<λ>              Tables 8-9: λ_κ sweep (seed 1), QAT and ADC stage with every mechanism
#   k_<k>               Table 14: clipping factor k (seed 1), from qat_wr_s1
#   lora_r<r>           Table 6: ADC-LoRA against full fine-tuning (t1_raoq_b6_s1)
#   chip_<arm>_{ideal_sliced,realistic}  the 6-bit models read on a bit-sliced chip and on
#                       realistic cells (3 device instances)
#   res_*               resnet20 at width 0.5 on a 12 000-image training subset (vanilla, raoq at 6
#                       bits, seeds 1-2)
# PART selects: table1, ablation, sweeps, lora, chips, resnet, or all (default; then the page).
# Steps whose stats.json exists are skipped. THREADS (default 1) per run; CIMKIT: a copy of the
# binary (to keep building meanwhile); SEEDS (default "1 2 3").
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/raoq}
CFG=configs/raoq/lenet5.yaml
if [ -z "${CIMKIT:-}" ]; then make --no-print-directory build >/dev/null; fi
B=${CIMKIT:-build/cimkit}
T=${THREADS:-1}
SEEDS=${SEEDS:-"1 2 3"}
PART=${PART:-all}
want() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }
mkdir -p "$OUT"

# Mechanism switches.
VANILLA=(--set raoq.kurtosis=0 --set raoq.bitaug=false --set chip.crossbar.a_shift=false)
ALL=(--set raoq.kurtosis=0.002 --set raoq.bitaug=true --set chip.crossbar.a_shift=true)

run() {  # run NAME ARGS...
  local name=$1; shift
  [ -f "$OUT/$name/stats.json" ] && return 0
  echo "$(date +%H:%M:%S) $name"
  $B run "$CFG" --out "$OUT/$name" --overwrite --set threads=$T "$@" > "$OUT/$name.log" 2>&1
}
qat() {  # qat VARIANT SEED [ARGS...]: the QAT stage alone
  local v=$1 s=$2; shift 2
  local lk=0; [ "$v" = wr ] && lk=0.002
  run "qat_${v}_s$s" --set seed=$s --set raoq.epochs=0 --set raoq.kurtosis=$lk "$@"
}
stage() {  # stage NAME QAT_RUN ARGS...: the ADC stage from a QAT model
  local name=$1 from=$2; shift 2
  run "$name" --set train.epochs=0 --set "train.pretrained=$OUT/$from/model.pt" "$@"
}

if want table1; then
  for s in $SEEDS; do
    qat plain "$s"
    qat wr "$s"
    for b in 6 7 8 9; do
      stage "t1_vanilla_b${b}_s$s" "qat_plain_s$s" --set seed=$s --set chip.adc.bits=$b "${VANILLA[@]}"
      stage "t1_raoq_b${b}_s$s" "qat_wr_s$s" --set seed=$s --set chip.adc.bits=$b "${ALL[@]}"
    done
  done
fi

if want ablation; then
  for s in $SEEDS; do
    qat plain "$s"
    qat wr "$s"
    stage "ab_ashift_s$s" "qat_plain_s$s" --set seed=$s "${VANILLA[@]}" --set chip.crossbar.a_shift=true
    stage "ab_wreshape_s$s" "qat_wr_s$s" --set seed=$s "${VANILLA[@]}"
    stage "ab_bitaug_s$s" "qat_plain_s$s" --set seed=$s "${VANILLA[@]}" --set raoq.bitaug=true
    stage "ab_aw_s$s" "qat_wr_s$s" --set seed=$s "${VANILLA[@]}" --set chip.crossbar.a_shift=true
  done
fi

if want sweeps; then
  for lk in 0 0.0005 0.002 0.01 0.05; do
    run "lk_qat_$lk" --set seed=1 --set raoq.epochs=0 --set raoq.kurtosis=$lk
    stage "lk_$lk" "lk_qat_$lk" --set seed=1 "${ALL[@]}"
  done
  qat wr 1
  for k in 1 2 4 8 16; do
    stage "k_$k" qat_wr_s1 --set seed=1 "${ALL[@]}" --set chip.adc.clip_k=$k
  done
fi

if want lora; then
  qat wr 1
  for r in 2 8; do
    stage "lora_r$r" qat_wr_s1 --set seed=1 "${ALL[@]}" --set raoq.lora=true --set raoq.lora_rank=$r
  done
fi

if want chips; then
  for arm in vanilla raoq; do
    src=$OUT/t1_${arm}_b6_s1/model.pt
    [ -f "$src" ] || { echo "chips: $src is missing (run PART=table1 first)"; continue; }
    sw=("${VANILLA[@]}"); [ $arm = raoq ] && sw=("${ALL[@]}")
    # The same codes on 1-bit cells and 1-bit DACs: every column split into slices, each with its own ADC.
    run "chip_${arm}_ideal_sliced" --set seed=1 --set train.epochs=0 --set "train.pretrained=$src" --set raoq.enabled=false \
      "${sw[@]}" --set chip.crossbar.cell_bits=1 --set chip.dac.bits=1
    # Realistic cells (variation, read noise, faults, drift), 3 device instances.
    run "chip_${arm}_realistic" --set seed=1 --set train.epochs=0 --set "train.pretrained=$src" --set raoq.enabled=false \
      "${sw[@]}" --set 'chip.device={preset: realistic_reram}' --set eval.device_seeds=3
  done
fi

if want resnet; then
  R=(--set model.name=resnet20 --set model.width=0.5 --set data.train_limit=12000 --set train.epochs=4 --set raoq.epochs=2)
  for s in 1 2; do
    run "res_qat_plain_s$s" "${R[@]}" --set seed=$s --set raoq.epochs=0 --set raoq.kurtosis=0
    run "res_qat_wr_s$s" "${R[@]}" --set seed=$s --set raoq.epochs=0 --set raoq.kurtosis=0.002
    run "res_vanilla_s$s" "${R[@]}" --set seed=$s --set train.epochs=0 --set "train.pretrained=$OUT/res_qat_plain_s$s/model.pt" "${VANILLA[@]}"
    run "res_raoq_s$s" "${R[@]}" --set seed=$s --set train.epochs=0 --set "train.pretrained=$OUT/res_qat_wr_s$s/model.pt" "${ALL[@]}"
  done
fi

if [ "$PART" = all ]; then
  python3 scripts/raoq_results.py "$OUT" docs/results/raoq.md
fi
