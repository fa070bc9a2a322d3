#!/usr/bin/env bash
# Paper 000's thermal-aware precision search on cimkit, and its benchmark (issue 13 §5, §7):
# writes docs/results/search.md and its plots from
#   1. the default search (configs/search/thermal_quant.yaml: DDPG, 300 episodes at the `tile`
#      rung; the base model trained once into OUT/ddpg/model.pt and reused by every run below);
#   2. uniform random search with the same budget and seed (the baseline a learning agent must beat);
#   3. throughput: 12 episodes (4 of warm-up) at each rung, bit_exact / tile / weight, in episodes per
#      minute, taken in this one run;
#   4. scale-out: random search, 40 episodes, one process with 2 threads against two processes of
#      1 thread on the loopback address (c10d / Gloo), and one process with 1 thread, whose log the
#      two processes must reproduce exactly.
#
#   scripts/search_thermal_quant.sh [OUT]      (about 20 minutes on 2 cores)
# A stopped run continues: the main searches resume from their checkpoints, the rest is redone.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/search_thermal_quant_bench}
CFG=configs/search/thermal_quant.yaml
B=build/cimkit
make --no-print-directory build >/dev/null
mkdir -p "$OUT"

search() {  # search DIR [options...]: a new or resumed search in DIR
  local dir=$1; shift
  local resume=()
  [ -f "$dir/checkpoint.pt" ] && resume=(--resume)
  $B search "$CFG" --out "$dir" "${resume[@]}" "$@" > "$dir.log" 2>&1 || { tail -20 "$dir.log"; exit 1; }
  tail -n 9 "$dir.log"
}
fresh() {  # fresh DIR: an empty run folder holding the base model
  rm -rf "$1"; mkdir -p "$1"; cp "$OUT/ddpg/model.pt" "$1/model.pt"
}

mkdir -p "$OUT/ddpg"
echo "== 1. DDPG search (the default config)"
search "$OUT/ddpg"
echo "== 2. random search, same budget"
[ -f "$OUT/random/checkpoint.pt" ] || fresh "$OUT/random"
search "$OUT/random" --set search.strategy.impl=random
echo "== 3. episodes per minute at each rung"
for rung in bit_exact tile weight; do
  fresh "$OUT/rung_$rung"
  search "$OUT/rung_$rung" --set search.fidelity=$rung --set search.episodes=12 \
    --set search.strategy.warmup_episodes=4 --set search.finalists=0
done
echo "== 4. two processes against one"
fresh "$OUT/one_process"
search "$OUT/one_process" --set search.strategy.impl=random --set search.episodes=40 --set search.finalists=0 \
  --set threads=2
fresh "$OUT/one_process_1t"
search "$OUT/one_process_1t" --set search.strategy.impl=random --set search.episodes=40 --set search.finalists=0 \
  --set threads=1
fresh "$OUT/two_processes"
PORT=$((29500 + RANDOM % 1000))
$B search "$CFG" --out "$OUT/two_processes" --set search.strategy.impl=random --set search.episodes=40 \
  --set search.finalists=0 --set threads=1 --world-size 2 --rank 1 --master-port $PORT > "$OUT/two_processes.rank1.log" 2>&1 &
search "$OUT/two_processes" --set search.strategy.impl=random --set search.episodes=40 --set search.finalists=0 \
  --set threads=1 --world-size 2 --rank 0 --master-port $PORT
wait
python3 scripts/search_results.py "$OUT" docs/results
