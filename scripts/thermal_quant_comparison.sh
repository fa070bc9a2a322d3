#!/usr/bin/env bash
# Paper 000's comparison on cimkit (issue 14 §4): fixed 8-bit, HAQ, BSQ and the thermal-aware search
# with and without the thermal-aware pretraining, on the same hot chip (configs/search/
# thermal_quant.yaml), the same budgets and seeds. Writes docs/results/thermal_quant.md with
# scripts/thermal_quant_results.py.
#
#   scripts/thermal_quant_comparison.sh [OUT] [--seeds "1 2 3"] [--networks "lenet5 resnet20"]
#                                        [--lanes 2] [--base-only] [--set KEY=VALUE]...
#
# Two phases, each timed:
#   1. base models: per network and seed, `cimkit run` trains the 8-bit model once (2 threads);
#   2. methods: from that model, the thermal-aware search (which also reports fixed 8-bit), the
#      same after the thermal-aware pretraining, HAQ and BSQ, as independent jobs on --lanes
#      processes of 1 thread each (the 2 cores of the development machine kept busy).
# Every job is skipped when its folder holds its result and a stopped search resumes, so the
# same command after an interruption continues. Extra --set options go to every job (e.g.
# --set search.episodes=20 for a quick check).
#
# The second network is resnet20 at width 0.25 (16→4, 32→8, 64→16 channels; 22 analog layers)
# with a smaller budget than lenet5's so that the whole method phase fits an hour on 2 cores:
# 120 episodes on 500 validation images, one finalist, the final re-evaluation at the tile rung
# (bit_exact at 8 bits costs ~100 s per evaluation for it), one epoch of thermal pretraining and
# three of BSQ with one of fine-tune. The budgets are the same for every method of a network.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/thermal_quant_comparison
SEEDS="1 2 3"
NETWORKS="lenet5 resnet20"
LANES=2
BASE_ONLY=0
EXTRA=()
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then OUT=$1; shift; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS=$2; shift 2 ;;
    --networks) NETWORKS=$2; shift 2 ;;
    --lanes) LANES=$2; shift 2 ;;
    --base-only) BASE_ONLY=1; shift ;;
    --set) EXTRA+=(--set "$2"); shift 2 ;;
    *) echo "unknown option $1 (allowed: OUT, --seeds, --networks, --lanes, --base-only, --set)"; exit 2 ;;
  esac
done
make --no-print-directory build >/dev/null
B=build/cimkit
S=configs/search

net_options() {  # the network's settings, the same for every method
  case "$1" in
    lenet5) ;;
    resnet20) echo "--set model.width=0.25 --set search.episodes=120 --set search.validation_limit=500
                    --set search.finalists=1 --set search.final_fidelity=tile --set eval.fidelity=tile
                    --set pretrain.epochs=1" ;;
    *) echo "thermal_quant_comparison.sh: no settings for network '$1' (known: lenet5, resnet20)" >&2; exit 2 ;;
  esac
}
bsq_options() {  # BSQ's training length per network (configs/search/bsq.yaml: 6 epochs, every 2, 2 to fine-tune)
  case "$1" in
    resnet20) echo "--set pretrain.epochs=3 --set pretrain.requantize_every=1 --set pretrain.finetune_epochs=1" ;;
  esac
}

job() {  # job DIR command...: skipped when DIR holds its result; a stopped search resumes
  local dir=$1; shift
  if [ -f "$dir/stats.json" ]; then return 0; fi
  mkdir -p "$(dirname "$dir")"
  local resume=()
  [ -f "$dir/checkpoint.pt" ] && [ "$2" = search ] && resume=(--resume)
  if ! "$@" "${resume[@]}" > "$dir.log" 2>&1; then
    echo "FAILED: $dir (log $dir.log)"; tail -20 "$dir.log"; return 1
  fi
  echo "  done $dir ($(( $(date +%s) - start )) s)"
  touch "$OUT/.ran"
}

# Each phase's wall time, summed over the runs that did work in it (a resumed comparison adds its
# part), kept in $OUT/seconds.env for the results page.
BASE_S=0; METHODS_S=0
mkdir -p "$OUT"
[ -f "$OUT/seconds.env" ] && . "$OUT/seconds.env"
rm -f "$OUT/.ran"  # "a job ran in this phase", left by an interrupted run
start=$(date +%s)
echo "phase 1: base models"
for net in $NETWORKS; do
  for seed in $SEEDS; do
    d="$OUT/$net/seed$seed"
    # shellcheck disable=SC2046
    job "$d/base" $B run $S/thermal_quant.yaml --out "$d/base" --overwrite --set seed=$seed --set model.name=$net \
      --set threads=2 $(net_options $net) "${EXTRA[@]}"
  done
done
if [ -f "$OUT/.ran" ]; then BASE_S=$(( BASE_S + $(date +%s) - start )); rm -f "$OUT/.ran"; fi
echo "BASE_S=$BASE_S; METHODS_S=$METHODS_S" > "$OUT/seconds.env"
echo "base models: $BASE_S s"
[ $BASE_ONLY -eq 0 ] || exit 0

start=$(date +%s)
echo "phase 2: methods on $LANES lanes"
jobs_file=$(mktemp)
for net in $(echo $NETWORKS | tr ' ' '\n' | tac); do  # the slower network first
  for seed in $SEEDS; do
    d="$OUT/$net/seed$seed"
    common="--set seed=$seed --set model.name=$net --set threads=1 $(net_options $net | tr '\n' ' ')"
    common+=" --set train.pretrained=$d/base/model.pt --set train.epochs=0"
    for e in "${EXTRA[@]}"; do common+=" $e"; done
    echo "$d/thermal_pretrain $B search $S/thermal_quant.yaml --out $d/thermal_pretrain $common --set pretrain.enabled=true" >> "$jobs_file"
    echo "$d/thermal $B search $S/thermal_quant.yaml --out $d/thermal $common" >> "$jobs_file"
    echo "$d/haq $B search $S/haq.yaml --out $d/haq $common" >> "$jobs_file"
    echo "$d/bsq $B run $S/bsq.yaml --out $d/bsq --overwrite $common $(bsq_options $net)" >> "$jobs_file"
  done
done
failed=0
while read -r line; do
  while [ "$(jobs -rp | wc -l)" -ge "$LANES" ]; do wait -n || failed=1; done
  # shellcheck disable=SC2086
  job $line &
done < "$jobs_file"
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
rm -f "$jobs_file"
if [ -f "$OUT/.ran" ]; then METHODS_S=$(( METHODS_S + $(date +%s) - start )); rm -f "$OUT/.ran"; fi
echo "BASE_S=$BASE_S; METHODS_S=$METHODS_S" > "$OUT/seconds.env"
[ $failed -eq 0 ] || { echo "some jobs failed (logs beside their folders); rerun the same command to retry them"; exit 1; }
echo "base models: $BASE_S s; methods: $METHODS_S s"
python3 scripts/thermal_quant_results.py "$OUT" docs/results --networks "$NETWORKS" --seeds "$SEEDS" \
  --base-seconds $BASE_S --seconds $METHODS_S --lanes $LANES --cimkit $B
