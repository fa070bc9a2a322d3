#!/usr/bin/env bash
# Paper 000's comparison on cimkit (issue 14 §4): fixed 8-bit, HAQ, BSQ and the thermal-aware search
# with and without the thermal-aware pretraining, on the same hot chip (configs/search/
# thermal_quant.yaml), the same budgets and seeds. Per network and seed the base model is trained
# once (by the `thermal` search) and every other method starts from it. Writes
# docs/results/thermal_quant.md with scripts/thermal_quant_results.py.
#
#   scripts/thermal_quant_comparison.sh [OUT] [--seeds "1 2 3"] [--networks "lenet5"] [--set KEY=VALUE]...
# Extra --set options go to every run (e.g. --set search.episodes=20 for a quick check).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/thermal_quant_comparison
SEEDS="1 2 3"
NETWORKS="lenet5"
EXTRA=()
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then OUT=$1; shift; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS=$2; shift 2 ;;
    --networks) NETWORKS=$2; shift 2 ;;
    --set) EXTRA+=(--set "$2"); shift 2 ;;
    *) echo "unknown option $1 (allowed: OUT, --seeds, --networks, --set)"; exit 2 ;;
  esac
done
make --no-print-directory build >/dev/null
B=build/cimkit
S=configs/search
start=$(date +%s)
run() {  # run DIR LOGNAME command...: skipped when DIR holds its result
  local dir=$1; shift
  if [ -f "$dir/stats.json" ]; then return; fi
  mkdir -p "$(dirname "$dir")"
  local resume=()
  [ -f "$dir/checkpoint.pt" ] && [ "$2" = search ] && resume=(--resume)
  "$@" "${resume[@]}" > "$dir.log" 2>&1 || { tail -20 "$dir.log"; exit 1; }
}
for net in $NETWORKS; do
  for seed in $SEEDS; do
    d="$OUT/$net/seed$seed"
    common=(--set seed=$seed --set model.name=$net "${EXTRA[@]}")
    run "$d/thermal" $B search $S/thermal_quant.yaml --out "$d/thermal" "${common[@]}"
    base="$d/thermal/model.pt"
    from_base=(--set train.pretrained="$base" --set train.epochs=0)
    run "$d/thermal_pretrain" $B search $S/thermal_quant.yaml --out "$d/thermal_pretrain" "${common[@]}" \
      "${from_base[@]}" --set pretrain.enabled=true
    run "$d/haq" $B search $S/haq.yaml --out "$d/haq" "${common[@]}" "${from_base[@]}"
    run "$d/bsq" $B run $S/bsq.yaml --out "$d/bsq" --overwrite "${common[@]}" "${from_base[@]}"
    echo "$net seed $seed done ($(( $(date +%s) - start )) s)"
  done
done
echo "comparison: $(( $(date +%s) - start )) s"
python3 scripts/thermal_quant_results.py "$OUT" docs/results --seconds $(( $(date +%s) - start )) --networks "$NETWORKS" \
  --seeds "$SEEDS"
