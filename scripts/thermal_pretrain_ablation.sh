#!/usr/bin/env bash
# Paper 000 Table I on cimkit (issue 14 §1): the thermal-aware pretraining's two regularisers, alone
# and together, against the trained model, each deployed at fixed 8 bits on the hot chip of
# configs/search/thermal_quant.yaml and evaluated bit-exactly with heat. Per seed the base model is
# trained once (the `baseline` run) and the pretrained variants start from it; `control` runs the
# same two epochs through the bit representation with α = β = 0, to separate the regularisers from
# the extra training.
# Writes docs/results/thermal_pretrain.md (via scripts/thermal_pretrain_results.py).
#
#   scripts/thermal_pretrain_ablation.sh [OUT] [SEEDS...]     (about 10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/thermal_pretrain_ablation}
shift || true
SEEDS=("$@")
[ ${#SEEDS[@]} -gt 0 ] || SEEDS=(1 2 3)
CFG=configs/search/thermal_quant.yaml
make --no-print-directory build >/dev/null
for seed in "${SEEDS[@]}"; do
  mkdir -p "$OUT/seed$seed"
  base="$OUT/seed$seed/baseline"
  if [ ! -f "$base/stats.json" ]; then
    build/cimkit run "$CFG" --out "$base" --overwrite --set seed=$seed > "$base.log" 2>&1 || { tail "$base.log"; exit 1; }
  fi
  for variant in "control:0:0" "group_lasso:0.00001:0" "skewed_l2:0:0.0015" "both:0.00001:0.0015"; do
    IFS=: read -r name alpha beta <<< "$variant"
    dir="$OUT/seed$seed/$name"
    [ -f "$dir/stats.json" ] && continue
    build/cimkit run "$CFG" --out "$dir" --overwrite --set seed=$seed --set train.pretrained="$base/model.pt" \
      --set train.epochs=0 --set pretrain.enabled=true --set pretrain.alpha=$alpha --set pretrain.beta=$beta \
      > "$dir.log" 2>&1 || { tail "$dir.log"; exit 1; }
  done
  echo "seed $seed done"
done
python3 scripts/thermal_pretrain_results.py "$OUT" docs/results "${SEEDS[@]}"
