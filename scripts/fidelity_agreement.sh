#!/usr/bin/env bash
# The fidelity ladder's agreement with the bit-exact engine (docs/results/fidelity.md):
# trains lenet5 as configs/experiments/fidelity_agreement.yaml says (once; OUT/model.pt is
# reused), draws 20 random per-layer precisions (weights and activations 2..8 bits, ADC 4..8
# bits) and evaluates each at every rung on the same 1000 test images and 2 device seeds, with
# heat. Writes OUT/candidates.csv, summary.json, table.md and agreement.png.
#
#   scripts/fidelity_agreement.sh [OUT] [extra options of cimkit_fidelity_agreement]
# About 10 minutes on 2 cores (the bit-exact rung is most of it). Stopped, it continues from
# OUT/candidates.partial.csv when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/fidelity_agreement}
shift || true
make --no-print-directory build >/dev/null
build/bench/cimkit_fidelity_agreement --config configs/experiments/fidelity_agreement.yaml --out "$OUT" \
  --configs 20 --seeds 2 --images 1000 --sample-seed 7 "$@"
echo "wrote $OUT/table.md, $OUT/candidates.csv, $OUT/summary.json, $OUT/agreement.png"
