#!/usr/bin/env python3
"""docs/results/thermal_quant.md (paper 000 Table II, Fig. 5a, 6, 7, 8e on cimkit) from the run
folders of scripts/thermal_quant_comparison.sh.
Usage: thermal_quant_results.py OUT DOCS_RESULTS --networks "lenet5" --seeds "1 2 3" [--seconds S]"""
import argparse
import csv
import json
import os
import statistics

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("docs")
ap.add_argument("--networks", default="lenet5")
ap.add_argument("--seeds", default="1 2 3")
ap.add_argument("--seconds", type=float, default=None)
args = ap.parse_args()
networks, seeds = args.networks.split(), args.seeds.split()


def stats(*parts):
    with open(os.path.join(args.out, *parts, "stats.json")) as f:
        return json.load(f)


def record(net, seed, method):
    """The method's deployed model as one flat record (bit-exact, test set, with heat)."""
    if method == "fixed8":
        return stats(net, f"seed{seed}", "thermal")["fixed_8bit_bit_exact"]
    if method == "bsq":
        s = stats(net, f"seed{seed}", "bsq")
        t = s["cost"]["totals"]
        with open(os.path.join(args.out, net, f"seed{seed}", "bsq", "layers.csv")) as f:
            layers = list(csv.DictReader(f))
        return {"refined_weight_bits": " ".join(l["weight_bits"] for l in layers),
                "refined_act_bits": " ".join(l["act_bits"] for l in layers), "acc_pct": 100 * s["accuracy"]["analog_mean"],
                "acc_heat_pct": 100 * s["accuracy"]["analog_with_heat_mean"], "energy_j": t["energy_j"],
                "tops_per_w": t["tops_per_w"], "crossbars": s["chip_eval"]["n_arrays"], "peak_k": s["thermal"]["peak_k"]}
    s = stats(net, f"seed{seed}", method)
    return s["finalists"][0]["bit_exact"]


def ms(xs, fmt="{:.2f}"):
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return (fmt + " ± " + fmt).format(statistics.mean(xs), sd)


methods = [("fixed8", "fixed 8-bit"), ("haq", "HAQ"), ("bsq", "BSQ"), ("thermal", "thermal-aware search"),
           ("thermal_pretrain", "thermal-aware search + pretraining")]
lines = []
w = lines.append
for net in networks:
    w(f"### {net}")
    w("")
    w("| method | weight bits (seed " + seeds[0] + ") | act. bits | crossbars | energy (µJ) | GOPs/W | accuracy at ambient (%) "
      "| accuracy with heat (%) | peak (K) |")
    w("|---|---|---|---|---|---|---|---|---|")
    for key, label in methods:
        rs = [record(net, s, key) for s in seeds]
        w(f"| {label} | {rs[0]['refined_weight_bits']} | {rs[0].get('refined_act_bits', '')} | "
          f"{ms([r['crossbars'] for r in rs], '{:.0f}')} | {ms([1e6 * r['energy_j'] for r in rs], '{:.3f}')} | "
          f"{ms([1e3 * r['tops_per_w'] for r in rs], '{:.0f}')} | {ms([r['acc_pct'] for r in rs])} | "
          f"{ms([r['acc_heat_pct'] for r in rs])} | {ms([r['peak_k'] for r in rs])} |")
    w("")
    w("| search | episodes | moving average settles at episode | wall time (s) |")
    w("|---|---|---|---|")
    for key, label in methods[3:] + [methods[1]]:
        ss = [stats(net, f"seed{s}", key) for s in seeds]
        w(f"| {label} | {ss[0]['episodes']} | {ms([s['plateau']['episode'] for s in ss], '{:.0f}')} | "
          f"{ms([s['elapsed_s'] for s in ss], '{:.0f}')} |")
    w("")
w(f"Mean ± standard deviation over seeds {', '.join(seeds)}; bit-exact on the test set with the chip's own heat; "
  "one device instance per evaluation.")
if args.seconds is not None:
    w("")
    w(f"The whole comparison took {args.seconds:.0f} s on this machine.")
generated = "\n".join(lines) + "\n"
page = os.path.join(args.docs, "thermal_quant.md")
text = open(page).read() if os.path.exists(page) else \
    "# Paper 000's comparison on cimkit\n\n<!-- generated -->\n<!-- end generated -->\n"
head, rest = text.split("<!-- generated -->")
tail = rest.split("<!-- end generated -->")[1]
with open(page, "w") as f:
    f.write(head + "<!-- generated -->\n" + generated + "<!-- end generated -->" + tail)
print("wrote", page)
