#!/bin/sh
# The README's ablation of `make demo`: the trained quickstart model (runs/quickstart/model.pt,
# from `make demo`) evaluated on the default chip with one effect switched off at a time, so the
# table says which effect costs the accuracy. No training: train.epochs=0 and train.pretrained.
# Usage: scripts/demo_ablation.sh [cimkit binary] [test images]   (defaults: build/cimkit 2000)
# Prints one line per variant: name, digital accuracy, analog mean +- std, per device instance,
# and conv1's SQNR; the run folders go under runs/ablation/.
set -eu
bin=${1:-build/cimkit}
n=${2:-2000}
model=runs/quickstart/model.pt
[ -f "$model" ] || { echo "no $model: run 'make demo' first" >&2; exit 2; }
run() {
  name=$1
  shift
  out=runs/ablation/$name
  "$bin" run configs/quickstart.yaml --out "$out" --overwrite --set train.epochs=0 \
    --set "train.pretrained=$model" --set "data.test_limit=$n" --set cost.enabled=false "$@" >/dev/null 2>&1 ||
    { echo "$name: failed (see $bin run ... --out $out)" >&2; return 1; }
  /usr/bin/python3 - "$name" "$out/stats.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
s = json.load(open(path))
a = s["accuracy"]
conv1 = next(l for l in s["chip_eval"]["layers"] if l["name"] == "conv1")
sq = conv1["sqnr_db"]
sq = f"{sq:.1f}" if isinstance(sq, (int, float)) else str(sq)
seeds = ", ".join(f"{100 * v:.2f}" for v in a["analog_per_device_seed"])
print(f"{name:<22} digital {100 * a['digital']:.2f} %  analog {100 * a['analog_mean']:.2f} +- "
      f"{100 * a['analog_std']:.2f} % ({seeds})  conv1 SQNR {sq} dB")
PY
}
run all_effects
run no_stuck_at --set chip.device.stuck_on_rate=0 --set chip.device.stuck_off_rate=0
run no_read_noise --set chip.device.read_noise_std=0
run no_variation --set chip.device.d2d_std=0 --set chip.device.c2c_std=0
run no_drift --set operating.time_since_program_s=0
run ideal_adc --set 'chip.adc={impl: ideal}'
run ideal_cells --set 'chip.device={impl: ideal}'
