#!/usr/bin/env python3
"""docs/results/thermal_quant.md (paper 000 Table II, Fig. 5a, 6, 7, 8e on cimkit) from the run
folders of scripts/thermal_quant_comparison.sh. The page's text outside the generated block is
kept; the block between the markers is rewritten.
Usage: thermal_quant_results.py OUT DOCS_RESULTS --networks "lenet5 resnet20" --seeds "1 2 3"
       [--seconds S] [--base-seconds S] [--lanes N] [--cimkit build/cimkit]
With --cimkit, the plots (docs/results/img/thermal_quant_<net>_*.png) are drawn by `cimkit plot`."""
import argparse
import csv
import json
import os
import statistics

from cimkit_plot import cimkit_plot

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("docs")
ap.add_argument("--networks", default="lenet5")
ap.add_argument("--seeds", default="1 2 3")
ap.add_argument("--seconds", type=float, default=None, help="the method phase's wall time")
ap.add_argument("--base-seconds", type=float, default=None, help="the base models' training time")
ap.add_argument("--lanes", type=int, default=None)
ap.add_argument("--cimkit", default=None, help="the cimkit binary, to draw the plots")
args = ap.parse_args()
networks, seeds = args.networks.split(), args.seeds.split()
METHODS = [("fixed8", "fixed 8-bit"), ("haq", "HAQ"), ("bsq", "BSQ"), ("thermal", "thermal-aware search"),
           ("thermal_pretrain", "thermal-aware search + pretraining")]
SEARCHES = [("thermal", "thermal-aware search"), ("thermal_pretrain", "thermal-aware search + pretraining"),
            ("haq", "HAQ")]


def stats(*parts):
    with open(os.path.join(args.out, *parts, "stats.json")) as f:
        return json.load(f)


def record(net, seed, method):
    """The method's deployed model as one flat record (test set, final rung, with heat)."""
    if method == "fixed8":
        return stats(net, f"seed{seed}", "thermal")["fixed_8bit_bit_exact"]
    if method == "bsq":
        s = stats(net, f"seed{seed}", "bsq")
        t = s["cost"]["totals"]
        with open(os.path.join(args.out, net, f"seed{seed}", "bsq", "layers.csv")) as f:
            layers = list(csv.DictReader(f))
        r = {"refined_weight_bits": " ".join(l["weight_bits"] for l in layers),
             "refined_act_bits": " ".join(l["act_bits"] for l in layers), "acc_pct": 100 * s["accuracy"]["analog_mean"],
             "acc_heat_pct": 100 * s["accuracy"]["analog_with_heat_mean"], "energy_j": t["energy_j"],
             "tops_per_w": t["tops_per_w"], "crossbars": s["chip_eval"]["n_arrays"], "peak_k": s["thermal"]["peak_k"]}
        for k in ("min", "p25", "median", "p75", "max"):
            if "arrays" in s["thermal"]:
                r[f"array_t_{k}_k"] = s["thermal"]["arrays"][f"{k}_k"]
        return r
    return stats(net, f"seed{seed}", method)["finalists"][0]["bit_exact"]


def ambient(net, seed):
    s = stats(net, f"seed{seed}", "bsq")
    return s["thermal"].get("ambient_k")


def ms(xs, fmt="{:.2f}"):
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return fmt.format(statistics.mean(xs)) + " ± " + fmt.replace("+", "").format(sd)


def moving(xs, window=20):
    out, acc = [], 0.0
    for i, x in enumerate(xs):
        acc += x
        if i >= window:
            acc -= xs[i - window]
        out.append(acc / min(i + 1, window))
    return out


def plot(spec, png):
    cimkit_plot(args.cimkit, spec, png)


def draw(net, layer_names):
    img = os.path.join(args.docs, "img")
    os.makedirs(img, exist_ok=True)
    names = []
    # Fig. 5a: convergence. Each run's reward mapped to [0, 1] over its own range (the rewards'
    # forms differ), the moving average over 20 episodes, the mean over seeds.
    conv, accs = [], []
    for i, (key, label) in enumerate(SEARCHES):
        curves, acc_curves = [], []
        for s in seeds:
            cands = stats(net, f"seed{s}", key)["candidates"]
            r = [c["reward"] for c in cands]
            lo, hi = min(r), max(r)
            curves.append(moving([(x - lo) / (hi - lo) if hi > lo else 0.0 for x in r]))
            acc_curves.append(moving([c["acc_heat_pct"] for c in cands]))
        n = min(len(c) for c in curves)
        xs = list(range(n))
        conv.append({"name": label, "x": xs, "y": [statistics.mean(c[e] for c in curves) for e in xs], "color": i})
        accs.append({"name": label, "x": xs, "y": [statistics.mean(c[e] for c in acc_curves) for e in xs], "color": i})
    f = f"thermal_quant_{net}_convergence.png"
    plot({"panels": [
        {"title": f"{net}: reward (scaled to its run's range), moving average of 20", "x_label": "episode",
         "y_label": "scaled reward", "width": 800, "height": 450, "y_min": 0, "y_max": 1, "series": conv},
        {"title": f"{net}: accuracy with heat (validation), moving average of 20", "x_label": "episode",
         "y_label": "accuracy with heat (%)", "width": 800, "height": 450, "series": accs}]}, os.path.join(img, f))
    names.append((f, f"{net}: search convergence (paper 000 Fig. 5a), mean over seeds {', '.join(seeds)}"))
    # Fig. 7: bits per layer per method (first seed).
    panels = []
    for field, what in (("refined_weight_bits", "weight"), ("refined_act_bits", "activation")):
        series = []
        for i, (key, label) in enumerate(METHODS):
            bits = [float(b) for b in record(net, seeds[0], key)[field].split()]
            series.append({"name": label, "x": list(range(len(bits))), "y": bits, "color": i,
                           "style": "line"})
        panels.append({"title": f"{net}: {what} bits per layer (seed {seeds[0]})",
                       "x_label": "layer (" + " ".join(f"{i}={n}" for i, n in enumerate(layer_names)) + ")"
                       if len(layer_names) <= 8 else "layer (0 = first analog layer)",
                       "y_label": "bits", "width": 900, "height": 450, "y_min": 0, "y_max": 9, "series": series})
    f = f"thermal_quant_{net}_bits.png"
    plot({"panels": panels}, os.path.join(img, f))
    names.append((f, f"{net}: bits per layer per method (paper 000 Fig. 7), seed {seeds[0]}"))
    # Fig. 8e: the arrays' temperature distribution per method (quantiles averaged over seeds).
    series, lo, hi = [], 1e9, -1e9
    for m, (key, label) in enumerate(METHODS):
        rs = [record(net, s, key) for s in seeds]
        if "array_t_p25_k" not in rs[0]:
            continue
        q = {k: statistics.mean(r[f"array_t_{k}_k"] for r in rs) for k in ("min", "p25", "median", "p75", "max")}
        x, h = float(m), 0.3
        lo, hi = min(lo, q["min"]), max(hi, q["max"])
        series.append({"name": label, "color": m,
                       "x": [x - h, x + h, x + h, x - h, x - h, None, x - h, x + h, None, x, x, None, x, x, None,
                             x - h / 2, x + h / 2, None, x - h / 2, x + h / 2],
                       "y": [q["p25"], q["p25"], q["p75"], q["p75"], q["p25"], None, q["median"], q["median"], None,
                             q["p75"], q["max"], None, q["p25"], q["min"], None, q["max"], q["max"], None, q["min"],
                             q["min"]]})
    if series:
        pad = max(0.05 * (hi - lo), 0.05)
        f = f"thermal_quant_{net}_temperatures.png"
        plot({"title": f"{net}: array temperatures (box 25-75 %, median, min-max; mean over seeds)",
              "x_label": "method (legend order)",
              "y_label": "array temperature (K)", "width": 1000, "height": 500, "x_min": -0.75,
              "x_max": len(METHODS) - 0.25, "y_min": lo - pad, "y_max": hi + pad, "series": series},
             os.path.join(img, f))
        names.append((f, f"{net}: the arrays' temperature distribution per method (paper 000 Fig. 8e)"))
    return names


lines = []
w = lines.append
for net in networks:
    w(f"### {net}")
    w("")
    w("| method | weight bits (seed " + seeds[0] + ") | act. bits | crossbars | energy (µJ) | GOPs/W | accuracy at ambient (%) "
      "| accuracy with heat (%) | peak (K) |")
    w("|---|---|---|---|---|---|---|---|---|")
    recs = {key: [record(net, s, key) for s in seeds] for key, _ in METHODS}
    for key, label in METHODS:
        rs = recs[key]
        w(f"| {label} | {rs[0]['refined_weight_bits']} | {rs[0].get('refined_act_bits', '')} | "
          f"{ms([r['crossbars'] for r in rs], '{:.0f}')} | {ms([1e6 * r['energy_j'] for r in rs], '{:.3f}')} | "
          f"{ms([1e3 * r['tops_per_w'] for r in rs], '{:.0f}')} | {ms([r['acc_pct'] for r in rs])} | "
          f"{ms([r['acc_heat_pct'] for r in rs])} | {ms([r['peak_k'] for r in rs])} |")
    w("")
    # Against fixed 8-bit, per seed then mean ± sd: what paper 000 claims.
    amb = [ambient(net, s) for s in seeds]
    w("| against fixed 8-bit | accuracy with heat (pt) | energy efficiency (×) | crossbars (×) | peak (K) "
      "| peak, % of absolute | peak rise above ambient, % |")
    w("|---|---|---|---|---|---|---|")
    base = recs["fixed8"]
    for key, label in METHODS[1:]:
        rs = recs[key]
        d_acc = [r["acc_heat_pct"] - b["acc_heat_pct"] for r, b in zip(rs, base)]
        eff = [r["tops_per_w"] / b["tops_per_w"] for r, b in zip(rs, base)]
        xb = [r["crossbars"] / b["crossbars"] for r, b in zip(rs, base)]
        dk = [r["peak_k"] - b["peak_k"] for r, b in zip(rs, base)]
        pct = [100 * (r["peak_k"] - b["peak_k"]) / b["peak_k"] for r, b in zip(rs, base)]
        rise = ([f"{ms([100 * (r['peak_k'] - a) / (b['peak_k'] - a) - 100 for r, b, a in zip(rs, base, amb)], '{:+.1f}')}"]
                if all(a is not None for a in amb) else ["–"])
        w(f"| {label} | {ms(d_acc, '{:+.2f}')} | {ms(eff)} | {ms(xb)} | {ms(dk, '{:+.2f}')} | {ms(pct, '{:+.2f}')} | "
          f"{rise[0]} |")
    w("")
    w("| search | episodes | moving average settles at episode | best found at episode | wall time (s) |")
    w("|---|---|---|---|---|")
    for key, label in SEARCHES:
        ss = [stats(net, f"seed{s}", key) for s in seeds]
        best = [s["finalists"][0]["episode"] if s.get("finalists") and "episode" in s["finalists"][0] else None for s in ss]
        best_txt = ms(best, "{:.0f}") if all(b is not None for b in best) else "–"
        w(f"| {label} | {ss[0]['episodes']} | {ms([s['plateau']['episode'] for s in ss], '{:.0f}')} | {best_txt} | "
          f"{ms([s['elapsed_s'] for s in ss], '{:.0f}')} |")
    w("")
    rung = stats(net, f"seed{seeds[0]}", "thermal").get("final_fidelity", "bit_exact")
    w(f"Mean ± standard deviation over seeds {', '.join(seeds)}; the deployed models on the test set at the "
      f"`{rung}` rung with the chip's own heat; one device instance per evaluation.")
    w("")
    if args.cimkit:
        with open(os.path.join(args.out, net, f"seed{seeds[0]}", "bsq", "layers.csv")) as f:
            layer_names = [l["layer"] for l in csv.DictReader(f)]
        for png, caption in draw(net, layer_names):
            w(f"![{caption}](img/{png})")
            w("")
if args.seconds is not None:
    lanes = f" on {args.lanes} processes of 1 thread" if args.lanes else ""
    base = f" after {args.base_seconds:.0f} s of base-model training" if args.base_seconds is not None else ""
    w(f"The methods took {args.seconds:.0f} s{lanes}{base} on this machine (the whole comparison took "
      f"{args.seconds + (args.base_seconds or 0):.0f} s).")
generated = "\n".join(lines) + "\n"
page = os.path.join(args.docs, "thermal_quant.md")
text = open(page).read() if os.path.exists(page) else \
    "# Paper 000's comparison on cimkit\n\n<!-- generated -->\n<!-- end generated -->\n"
head, rest = text.split("<!-- generated -->")
tail = rest.split("<!-- end generated -->")[1]
with open(page, "w") as f:
    f.write(head + "<!-- generated -->\n" + generated + "<!-- end generated -->" + tail)
print("wrote", page)
