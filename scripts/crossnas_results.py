#!/usr/bin/env python3
"""Tables and plots of scripts/crossnas_study.sh's runs, for docs/results/crossnas.md.

    scripts/crossnas_results.py OUT PAGE [--cimkit build/cimkit]

Reads OUT/main (final.json, arch_candidates.csv, chip_candidates.csv, main.log), OUT/wacc_*,
OUT/seed_*, OUT/chipseed_* (arch_candidates.csv / chip_candidates.csv) and OUT/zoo_*/stats.json
(cimkit run), and writes the generated part of PAGE between the markers <!-- generated:begin -->
and <!-- generated:end --> (the rest of the page, the discussion, is kept), and the plots
docs/results/img/crossnas_*.png (drawn by `cimkit plot`)."""
import argparse
import csv
import glob
import json
import math
import os
import re
import statistics
import sys

import yaml

from cimkit_plot import cimkit_plot

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("page")
ap.add_argument("--cimkit", default="build/cimkit")
args = ap.parse_args()
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"
IMG = os.path.join(os.path.dirname(args.page), "img")


def fail(msg):
    sys.exit(f"crossnas_results.py: {msg}")


def rows(path):
    if not os.path.exists(path):
        fail(f"{path} is missing (run scripts/crossnas_study.sh)")
    out = []
    for r in csv.DictReader(open(path)):
        for k, v in list(r.items()):
            try:
                r[k] = float(v)
            except (TypeError, ValueError):
                pass
        out.append(r)
    return out


def best(rs):
    return max(rs, key=lambda r: r["fitness"])


def pareto(rs, acc="accuracy_pct", cost="edp_js"):
    """The points no other point beats on both accuracy (higher) and EDP (lower)."""
    pts = sorted(rs, key=lambda r: (r[cost], -r[acc]))
    front, top = [], -1.0
    for r in pts:
        if r[acc] > top:
            front.append(r)
            top = r[acc]
    return front


def wacc_of(run):
    cfg = open(os.path.join(run, "resolved_config.yaml")).read()
    m = re.search(r"arch_search:.*?w_acc: ([0-9.]+)", cfg, re.S)
    return float(m.group(1)) if m else None


main = os.path.join(args.out, "main")
final = json.load(open(os.path.join(main, "final.json")))
arch_main = rows(os.path.join(main, "arch_candidates.csv"))
chip_main = rows(os.path.join(main, "chip_candidates.csv"))
sec = final["seconds"]
lines = []

# ---- what ran -----------------------------------------------------------------------------
cfg = open(os.path.join(main, "resolved_config.yaml")).read()
lines += ["## The run", "",
          f"`cimkit nas configs/search/crossnas.yaml` (seed 1, 2 threads, this machine's 2 cores) took "
          f"**{sec['seconds_total'] / 60:.1f} min**: supernet {sec['seconds_supernet']:.0f} s, architecture search "
          f"{sec['seconds_arch_search']:.0f} s ({len(arch_main)} architectures), mixed-precision training "
          f"{sec['seconds_quant']:.0f} s, bits-and-chip search {sec['seconds_chip_search']:.0f} s ({len(chip_main)} "
          f"candidates), fine-tune and final evaluation {sec['seconds_final']:.0f} s.", ""]
log = open(os.path.join(args.out, "main.log")).read()
losses = re.findall(r"epoch +(\d+)/(\d+)  loss ([0-9.]+)", log)
if losses:
    lines += ["Supernet training loss per epoch (label smoothing 0.1): " +
              ", ".join(f"{float(l):.3f}" for _, _, l in losses) + ".", ""]

# ---- stage 2: architectures ---------------------------------------------------------------
a = final["arch_search"]
lines += ["## Architecture search (stage 2)", "",
          f"Winner at w_acc = {wacc_of(main):g}: **{final['architecture']}**, {a['accuracy_pct']:.1f} % on 1,000 validation "
          f"images with the supernet's weights (BN recalibrated), EDP {a['edp_js']:.3g} J·s = "
          f"{100 * a['edp_js'] / a['reference_edp_js']:.1f} % of the reference {a['reference_arch']} "
          f"({a['reference_edp_js']:.3g} J·s), fitness {a['fitness']:.2f}.", ""]
# The w_acc sweep on the same supernet.
sweep = [(wacc_of(main), main)]
for d in sorted(glob.glob(os.path.join(args.out, "wacc_*"))):
    if os.path.exists(os.path.join(d, "arch_candidates.csv")):
        sweep.append((wacc_of(d), d))
sweep.sort()
lines += ["### Eq. 4's w_acc", "",
          "The same supernet searched again with other weights of the accuracy (search seed 0). EDP_norm is per "
          "cent of the reference network's EDP, so one point of accuracy is worth w_acc / (1 − w_acc) per cent "
          "of EDP.", "",
          "| w_acc | winner | depth | accuracy (%) | EDP (J·s) | EDP (% of ref.) | fitness | architectures scored |",
          "|---|---|---|---|---|---|---|---|"]
all_arch = {}
for w, d in sweep:
    rs = rows(os.path.join(d, "arch_candidates.csv"))
    for r in rs:
        all_arch[r["arch"]] = r
    b = best(rs)
    lines.append(f"| {w:g} | {b['arch']} | {int(b['depth'])} | {b['accuracy_pct']:.1f} | {b['edp_js']:.3g} | "
                 f"{b['edp_norm']:.1f} | {b['fitness']:.2f} | {len(rs)} |")
# Spread over search seeds at the config's w_acc.
seeds = [(0, main)] + [(int(d.rsplit("_", 1)[1]), d) for d in sorted(glob.glob(os.path.join(args.out, "seed_*")))
                       if os.path.exists(os.path.join(d, "arch_candidates.csv"))]
if len(seeds) > 1:
    lines += ["", f"### Search seeds (w_acc = {wacc_of(main):g})", "",
              "| search seed | winner | accuracy (%) | EDP (% of ref.) | fitness | found in cycle |", "|---|---|---|---|---|---|"]
    fits = []
    for k, d in seeds:
        rs = rows(os.path.join(d, "arch_candidates.csv"))
        for r in rs:
            all_arch[r["arch"]] = r
        b = best(rs)
        fits.append(b["fitness"])
        lines.append(f"| {k} | {b['arch']} | {b['accuracy_pct']:.1f} | {b['edp_norm']:.1f} | {b['fitness']:.2f} | "
                     f"{int(b['cycle'])} |")
    lines += ["", f"Best fitness over the {len(fits)} search seeds: {statistics.mean(fits):.2f} ± "
              f"{statistics.stdev(fits):.2f} (mean ± sd)."]
# The front of everything scored on this supernet.
front = pareto(list(all_arch.values()))
lines += ["", "### The accuracy–EDP front", "",
          f"Every architecture scored on this supernet in any of these searches ({len(all_arch)} distinct): the ones no "
          "other beats on both accuracy and EDP.", "",
          "| architecture | accuracy (%) | EDP (J·s) | energy (µJ) | latency (µs) | area (mm²) |", "|---|---|---|---|---|---|"]
for r in front:
    lines.append(f"| {r['arch']} | {r['accuracy_pct']:.1f} | {r['edp_js']:.3g} | {1e6 * r['energy_j']:.2f} | "
                 f"{1e6 * r['latency_s']:.1f} | {r['area_mm2']:.1f} |")
pts = list(all_arch.values())
series = [{"name": "architectures scored", "x": [math.log10(r["edp_js"]) for r in pts], "y": [r["accuracy_pct"] for r in pts],
           "style": "dots"},
          {"name": "front", "x": [math.log10(r["edp_js"]) for r in front], "y": [r["accuracy_pct"] for r in front]}]
winners = [(w, best(rows(os.path.join(d, "arch_candidates.csv")))) for w, d in sweep]
series.append({"name": "winners over w_acc", "x": [math.log10(b["edp_js"]) for _, b in winners],
               "y": [b["accuracy_pct"] for _, b in winners], "style": "dots"})
cimkit_plot(args.cimkit, {"title": "Architectures on the crossnas chip (inherited weights)",
                          "x_label": "log10 EDP (J s)", "y_label": "validation accuracy (%)", "width": 760, "height": 440,
                          "series": series}, os.path.join(IMG, "crossnas_front.png"))
lines += ["", "![front](img/crossnas_front.png)", ""]
# Search progress: best fitness per cycle.
cyc = sorted({int(r["cycle"]) for r in arch_main})
best_so_far, run = [], -1e300
for c in cyc:
    run = max(run, max(r["fitness"] for r in arch_main if int(r["cycle"]) == c))
    best_so_far.append(run)
cimkit_plot(args.cimkit, {"title": "Architecture search: best fitness so far", "x_label": "cycle", "y_label": "fitness (eq. 4)",
                          "width": 560, "height": 320, "series": [{"name": f"w_acc {wacc_of(main):g}", "x": cyc,
                                                                     "y": best_so_far}]},
            os.path.join(IMG, "crossnas_progress.png"))
lines += ["![progress](img/crossnas_progress.png)", ""]

# ---- stage 4: bits and chip ---------------------------------------------------------------
c = final["chip_search"]
bits = ", ".join(f"w{p['weight_bits']}a{p['act_bits']}" for p in c["precisions"])
lines += ["## Bits and chip (stages 3–4)", "",
          f"Winner: per layer **{bits}**, crossbar **{c['xbar']}×{c['xbar']}**, **{c['adc_bits']}-bit ADC**, "
          f"**{c['dac_bits']}-bit DAC**: {c['accuracy_pct']:.1f} % on 500 validation images read on the chip (tile rung), "
          f"EDP {c['edp_js']:.3g} J·s = {100 * c['edp_js'] / c['reference_edp_js']:.1f} % of the same network at 9 bits on "
          f"the preset chip (256×256, 8-bit ADC, 2-bit DAC; {c['reference_accuracy_pct']:.1f} %).", ""]
# Accuracy and EDP by chip gene, over every candidate.
def by(key):
    vals = sorted({r[key] for r in chip_main})
    out = []
    for v in vals:
        rs = [r for r in chip_main if r[key] == v]
        out.append((v, len(rs), statistics.mean(r["accuracy_pct"] for r in rs), max(r["accuracy_pct"] for r in rs),
                    statistics.mean(r["edp_norm"] for r in rs)))
    return out
for key, label in (("adc_bits", "ADC bits"), ("xbar", "crossbar"), ("dac_bits", "DAC bits")):
    lines += [f"| {label} | candidates | mean accuracy (%) | best accuracy (%) | mean EDP (% of ref.) |", "|---|---|---|---|---|"]
    for v, n, m, mx, e in by(key):
        lines.append(f"| {v:g} | {n} | {m:.1f} | {mx:.1f} | {e:.1f} |")
    lines.append("")
cseeds = [(0, main)] + [(int(d.rsplit("_", 1)[1]), d) for d in sorted(glob.glob(os.path.join(args.out, "chipseed_*")))
                        if os.path.exists(os.path.join(d, "chip_candidates.csv"))]
if len(cseeds) > 1:
    lines += ["Search seeds of the bits-and-chip search (same mixed-precision network):", "",
              "| search seed | winner | accuracy (%) | EDP (% of ref.) | fitness |", "|---|---|---|---|---|"]
    for k, d in cseeds:
        b = best(rows(os.path.join(d, "chip_candidates.csv")))
        lines.append(f"| {k} | {b['choice']} | {b['accuracy_pct']:.1f} | {b['edp_norm']:.1f} | {b['fitness']:.2f} |")
    lines.append("")
cf = pareto(chip_main)
cimkit_plot(args.cimkit, {"title": "Bits and chip candidates (tile rung, validation)", "x_label": "log10 EDP (J s)",
                          "y_label": "accuracy on the chip (%)", "width": 760, "height": 440,
                          "series": [{"name": f"ADC {b:g} bits", "x": [math.log10(r["edp_js"]) for r in chip_main if r["adc_bits"] == b],
                                      "y": [r["accuracy_pct"] for r in chip_main if r["adc_bits"] == b], "style": "dots"}
                                     for b in sorted({r["adc_bits"] for r in chip_main})] +
                                    [{"name": "front", "x": [math.log10(r["edp_js"]) for r in cf], "y": [r["accuracy_pct"] for r in cf]}]},
            os.path.join(IMG, "crossnas_chip.png"))
lines += ["![chip](img/crossnas_chip.png)", ""]

# ---- final and the zoo --------------------------------------------------------------------
f = final["final"]
lines += ["## The winner on the test set, and the zoo on the same chip", "",
          "Test set (10,000 images), one device instance (the crossnas chip's cells are ideal: its losses are "
          "the ADC's and the quantisation's). The zoo networks are trained by `cimkit run` on the same data at "
          "8 bits (LSQ), mapped on the preset chip (256×256, 8-bit ADC, 2-bit DAC), and on the chip the "
          "bits-and-chip search chose, and priced by the same cost model.", "",
          "| network | bits | chip | float (%) | quantised (%) | on the chip (%) | rung | energy (µJ) | latency (µs) | EDP (J·s) | area (mm²) | TOPS/W |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
lines.append(f"| CrossNAS: {f['architecture']} | {bits} | {c['xbar']}, ADC {c['adc_bits']}, DAC {c['dac_bits']} | "
             f"{f['float_pct']:.2f} | {f['digital_pct']:.2f} | {f['analog_pct']:.2f} | {f['fidelity']} | "
             f"{1e6 * f['energy_j']:.2f} | {1e6 * f['latency_s']:.1f} | {f['edp_js']:.3g} | {f['area_mm2']:.1f} | "
             f"{f['tops_per_w']:.2f} |")
for d in sorted(glob.glob(os.path.join(args.out, "zoo_*", "stats.json"))):
    s = json.load(open(d))
    name = os.path.basename(os.path.dirname(d))[4:].replace("_winner", "")
    acc, t = s["accuracy"], s["cost"]["totals"]
    width = s["model"].get("width", 1)
    chip = yaml.safe_load(open(os.path.join(os.path.dirname(d), "resolved_config.yaml")))["chip"]
    xbar, adc, dac = chip["crossbar"]["rows"], chip["adc"]["bits"], chip["dac"]["bits"]
    lines.append(f"| {name}{'' if width == 1 else f' (width {width:g})'} | 8/8 | {xbar}, ADC {adc}, DAC {dac} | {100 * acc['float']:.2f} | "
                 f"{100 * acc['digital']:.2f} | {100 * acc['analog_mean']:.2f} | {acc['analog_fidelity']} | "
                 f"{1e6 * t['energy_j']:.2f} | {1e6 * t['latency_s']:.1f} | {t['edp_js']:.3g} | {1e6 * t['area_m2']:.1f} | "
                 f"{t['tops_per_w']:.2f} |")
lines.append("")

page = open(args.page).read() if os.path.exists(args.page) else f"# CrossNAS on cimkit\n\n{BEGIN}\n{END}\n"
if BEGIN not in page or END not in page:
    fail(f"{args.page} has no {BEGIN} ... {END} markers")
head, rest = page.split(BEGIN, 1)
tail = rest.split(END, 1)[1]
open(args.page, "w").write(head + BEGIN + "\n" + "\n".join(lines) + "\n" + END + tail)
print(f"wrote {args.page}")
