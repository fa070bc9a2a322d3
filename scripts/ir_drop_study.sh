#!/usr/bin/env bash
# IR drop on cimkit (issue 15 §2): writes docs/results/ir_drop.md with scripts/ir_drop_results.py.
#
#   scripts/ir_drop_study.sh [OUT] [--sizes "32 64 128 256 512"] [--wires "1 2.82"]
#                            [--circuit-sizes "32 64 128 256"] [--lanes 1] [--set KEY=VALUE]...
#
# Environment: CIMKIT and SWEEP may name copies of build/cimkit and cimkit_ir_drop_sweep.
#
#   1. column-current error against array size, wire resistance and conductance range, random
#      and Fashion-MNIST inputs (cimkit_ir_drop_sweep);
#   2. one trained lenet5 (configs/quickstart.yaml: 3 epochs of 8-bit QAT, seed 1);
#   3. that model on the quickstart chip (every cell non-ideality on) with square arrays of each
#      size, read without wires, and with each wire resistance per segment in `fast` and in
#      `circuit` (circuit only at --circuit-sizes: a 512x512 array costs minutes to solve), on
#      1000 test images at the bit_exact rung over 3 device instances, with the cost model on
#      (arrays, area) and the thermal model off. Driver and sense resistances are 0: the
#      wires alone.
# Each job is skipped when its folder holds stats.json, so the same command continues after an
# interruption. Jobs run on --lanes processes of 1 thread each (keep lanes <= cores).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/ir_drop
SIZES="32 64 128 256 512"
WIRES="1 2.82"
CIRCUIT_SIZES="32 64 128 256"
LANES=1
EXTRA=()
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then OUT=$1; shift; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --wires) WIRES=$2; shift 2 ;;
    --circuit-sizes) CIRCUIT_SIZES=$2; shift 2 ;;
    --lanes) LANES=$2; shift 2 ;;
    --set) EXTRA+=(--set "$2"); shift 2 ;;
    *) echo "unknown option $1 (allowed: OUT, --sizes, --wires, --circuit-sizes, --lanes, --set)"; exit 2 ;;
  esac
done
# CIMKIT / SWEEP name other binaries (a copy, to keep building while this runs); else `make build`.
if [ -z "${CIMKIT:-}" ]; then make --no-print-directory build >/dev/null; fi
B=${CIMKIT:-build/cimkit}
SWEEP=${SWEEP:-build/bench/cimkit_ir_drop_sweep}
mkdir -p "$OUT"
start=$(date +%s)

if [ ! -f "$OUT/sweep/column_error.csv" ]; then
  echo "column-current sweep"
  $SWEEP --out "$OUT/sweep" > "$OUT/sweep.log"
fi

if [ ! -f "$OUT/base/model.pt" ]; then
  echo "training the base model"
  $B run configs/quickstart.yaml --out "$OUT/base" --overwrite --set threads=$(( LANES > 1 ? 1 : 2 )) \
    --set cost.enabled=false --set thermal.enabled=false --set train.progress=none "${EXTRA[@]}" > "$OUT/base.log" 2>&1
fi

jobs_file=$OUT/jobs.txt
: > "$jobs_file"
common="--set threads=1 --set train.epochs=0 --set train.pretrained=$OUT/base/model.pt --set data.test_limit=1000"
common+=" --set thermal.enabled=false --set eval.sqnr=false --set train.progress=none"  # one line per job
for n in $SIZES; do
  geo="--set chip.crossbar.rows=$n --set chip.crossbar.cols=$n --set chip.crossbar.path=conductance"
  echo "$OUT/acc/n${n}_none $B run configs/quickstart.yaml --out $OUT/acc/n${n}_none --overwrite $common $geo" >> "$jobs_file"
  for r in $WIRES; do
    wires="--set chip.crossbar.r_wire_row_ohm=$r --set chip.crossbar.r_wire_col_ohm=$r"
    modes="fast"
    case " $CIRCUIT_SIZES " in *" $n "*) modes="fast circuit" ;; esac
    for m in $modes; do
      echo "$OUT/acc/n${n}_${m}_r${r} $B run configs/quickstart.yaml --out $OUT/acc/n${n}_${m}_r${r} --overwrite $common $geo $wires --set chip.crossbar.ir_drop=$m" >> "$jobs_file"
    done
  done
done

run_job() {  # DIR command...
  local dir=$1; shift
  [ -f "$dir/stats.json" ] && return 0
  mkdir -p "$(dirname "$dir")"
  local t0=$(date +%s)
  if ! "$@" "${EXTRA[@]}" > "$dir.log" 2>&1; then echo "FAILED: $dir (log $dir.log)"; tail -5 "$dir.log"; return 1; fi
  echo "$(( $(date +%s) - t0 ))" > "$dir.seconds"
  echo "  done $dir ($(( $(date +%s) - t0 )) s)"
}
failed=0
while read -r line; do
  # shellcheck disable=SC2086
  run_job $line &
  while [ "$(jobs -rp | wc -l)" -ge "$LANES" ]; do wait -n || failed=1; done
done < "$jobs_file"
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
[ $failed -eq 0 ] || { echo "some jobs failed; rerun the same command to retry them"; exit 1; }
echo "all jobs done in $(( $(date +%s) - start )) s"
python3 scripts/ir_drop_results.py "$OUT" docs/results/ir_drop.md
