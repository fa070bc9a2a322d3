#!/usr/bin/env python3
"""docs/results/thermal_pretrain.md from the run folders of scripts/thermal_pretrain_ablation.sh.
Usage: thermal_pretrain_results.py OUT DOCS_RESULTS SEED..."""
import json
import os
import statistics
import sys

out, docs, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
variants = [("baseline", "trained model (no pretraining)"), ("control", "control: 2 more epochs, α = β = 0"),
            ("group_lasso", "group lasso (α = 1e-5)"),
            ("skewed_l2", "skewed L2 (β = 0.0015)"), ("both", "both (eq. 5)")]


def load(seed, name):
    with open(os.path.join(out, f"seed{seed}", name, "stats.json")) as f:
        return json.load(f)


def spread(xs, fmt="{:.2f}"):
    m = statistics.mean(xs)
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return (fmt + " ± " + fmt).format(m, sd)


rows = []
for name, label in variants:
    acc, hot, dig, sparsity, sumw, ones, peak = [], [], [], [], [], [], []
    for seed in seeds:
        s = load(seed, name)
        a = s["accuracy"]
        dig.append(100 * a["digital"])
        acc.append(100 * a["analog_mean"])
        hot.append(100 * a["analog_with_heat_mean"])
        peak.append(s["thermal"]["peak_k"])
        pre = s.get("pretrain") or load(seed, "both")["pretrain"]
        stats = s["pretrain"]["after"] if "pretrain" in s else pre["before"]
        sparsity.append(100 * stats["bit_sparsity"])
        sumw.append(stats["sum_abs_w"])
        ones.append(stats["ones"])
    rows.append((label, dig, acc, hot, sparsity, sumw, ones, peak))

lines = ["| model | digital (%) | chip at 358 K (%) | chip with its heat (%) | bit sparsity (%) | Σ\\|w\\| | '1' bits | peak (K) |",
         "|---|---|---|---|---|---|---|---|"]
for label, dig, acc, hot, sparsity, sumw, ones, peak in rows:
    lines.append(f"| {label} | {spread(dig)} | {spread(acc)} | {spread(hot)} | {spread(sparsity)} | "
                 f"{spread(sumw, '{:.0f}')} | {spread(ones, '{:.0f}')} | {spread(peak)} |")
generated = "\n".join(lines) + "\n\n" + f"Mean ± standard deviation over seeds {', '.join(seeds)} " \
    "(each seed trains its own base model; one device instance per evaluation; 1,000 test images).\n"
page = os.path.join(docs, "thermal_pretrain.md")
text = open(page).read() if os.path.exists(page) else "# Thermal-aware pretraining\n\n<!-- generated -->\n<!-- end generated -->\n"
head, rest = text.split("<!-- generated -->")
tail = rest.split("<!-- end generated -->")[1]
with open(page, "w") as f:
    f.write(head + "<!-- generated -->\n" + generated + "<!-- end generated -->" + tail)
print("wrote", page)
