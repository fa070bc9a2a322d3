#!/usr/bin/env python3
"""Tables and plots of scripts/ir_drop_study.sh's runs, for docs/results/ir_drop.md.

    scripts/ir_drop_results.py OUT PAGE [--cimkit build/cimkit]

Reads OUT/sweep/column_error.csv (cimkit_ir_drop_sweep) and OUT/acc/<job>/stats.json with
OUT/acc/<job>.seconds (cimkit run), and writes the generated part of PAGE between the markers
<!-- generated:begin --> and <!-- generated:end --> (the rest of the page, the discussion, is
kept), and the plots docs/results/img/ir_drop_*.png (drawn by `cimkit plot`)."""
import argparse
import csv
import glob
import json
import math
import os
import re
import statistics
import sys

from cimkit_plot import cimkit_plot

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("page")
ap.add_argument("--cimkit", default="build/cimkit")
args = ap.parse_args()
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"
SIZE_AXIS = "log2 of the array size (5: 32 x 32 ... 9: 512 x 512)"


def fail(msg):
    sys.exit(f"ir_drop_results.py: {msg}")


def plot(spec, png):
    cimkit_plot(args.cimkit, spec, png)


def column_error(lines, img):
    path = os.path.join(args.out, "sweep", "column_error.csv")
    if not os.path.exists(path):
        fail(f"{path} is missing (run scripts/ir_drop_study.sh)")
    rows = list(csv.DictReader(open(path)))
    sizes = sorted({int(r["size"]) for r in rows})
    wires = sorted({float(r["r_wire_ohm"]) for r in rows})
    ranges = sorted({r["range"] for r in rows})
    lines += ["## Column-current error", "",
              "Relative error ‖I − I_ideal‖ / ‖I_ideal‖ of the column currents over 16 input vectors (one "
              "1-bit input slice at 1 V on the active rows), 1-bit cells, 30 % of them LRS, wires only "
              "(driver and sense 0 Ω). `fast vs circuit` is the error of the closed form against the solved "
              "network. Times: `circuit` solves the network for the 16 vectors; `fast` builds the whole "
              "effective matrix (every input) and multiplies.", ""]
    lines.append("| size | wire (Ω) | cells (LRS–HRS) | inputs | circuit error (%) | fast error (%) | fast vs circuit (%) | circuit (s) | fast (s) |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lines.append(f"| {r['size']} | {float(r['r_wire_ohm']):g} | {r['range']} | {r['inputs']} | "
                     f"{100 * float(r['err_circuit']):.2f} | {100 * float(r['err_fast']):.2f} | "
                     f"{100 * float(r['fast_vs_circuit']):.3f} | {float(r['circuit_s']):.3f} | {float(r['fast_s']):.4f} |")
    worst = max(rows, key=lambda r: float(r["fast_vs_circuit"]))
    lines += ["", f"Largest error of `fast` against `circuit`: {100 * float(worst['fast_vs_circuit']):.2f} % "
              f"({worst['size']}×{worst['size']}, {float(worst['r_wire_ohm']):g} Ω, {worst['range']}, {worst['inputs']} inputs, "
              f"where the drop itself is {100 * float(worst['err_circuit']):.1f} %).", ""]
    series = []
    for rng in ranges:
        for w in wires:
            pts = [r for r in rows if r["range"] == rng and float(r["r_wire_ohm"]) == w and r["inputs"] == "random"]
            pts.sort(key=lambda r: int(r["size"]))
            series.append({"name": f"{rng}, {w:g} ohm", "x": [math.log2(int(r["size"])) for r in pts],
                           "y": [100 * float(r["err_circuit"]) for r in pts]})
    plot({"title": "Column-current error (circuit, random inputs)", "x_label": SIZE_AXIS,
          "y_label": "error (%)", "width": 720, "height": 420, "series": series}, os.path.join(img, "ir_drop_column_error.png"))
    lines += ["![column error](img/ir_drop_column_error.png)", ""]
    return sizes


def job_stats():
    jobs = {}
    for f in sorted(glob.glob(os.path.join(args.out, "acc", "*", "stats.json"))):
        name = os.path.basename(os.path.dirname(f))
        m = re.fullmatch(r"n(\d+)_(none|fast|circuit)(?:_r([0-9.]+))?", name)
        if not m:
            continue
        s = json.load(open(f))
        sec_file = os.path.dirname(f) + ".seconds"
        acc = s["accuracy"]
        jobs[name] = {
            "size": int(m.group(1)), "mode": m.group(2), "wire": float(m.group(3)) if m.group(3) else 0.0,
            "mean": 100 * acc["analog_mean"], "std": 100 * acc["analog_std"],
            "seeds": [100 * a for a in acc["analog_per_device_seed"]], "digital": 100 * acc["digital"],
            "eval_s": s["chip_eval"]["analog_seconds"], "arrays": s["chip_eval"]["n_arrays"],
            # The PEs' and tiles' area (arrays, converters, buffers): what partitioning changes; the
            # chip-level interconnect (a fixed HyperTransport block) is left out.
            "area_mm2": sum(v["area_m2"] for k, v in s["cost"]["components"].items() if not k.startswith("chip.")) * 1e6
                        if s.get("cost") else None,
            "wall_s": float(open(sec_file).read()) if os.path.exists(sec_file) else None,
        }
    if not jobs:
        fail(f"no runs under {args.out}/acc (run scripts/ir_drop_study.sh)")
    return jobs


def accuracy(lines, img):
    jobs = job_stats()
    sizes = sorted({j["size"] for j in jobs.values()})
    wires = sorted({j["wire"] for j in jobs.values() if j["mode"] != "none"})
    digital = statistics.mean(j["digital"] for j in jobs.values())
    lines += ["## lenet5 on the chip against array size and wire resistance", "",
              f"One trained lenet5 (digital accuracy {digital:.2f} % on these 1,000 test images), the quickstart "
              "chip's cells, square arrays of each size; bit_exact, 3 device instances (mean ± sd). "
              "`eval (s)` is the analog evaluation's time (3 instances × 1,000 images, 1 thread), which "
              "includes solving the wires once per programmed array.", ""]
    lines.append("| size | arrays | PE + tile area (mm²) | wire (Ω) | none (%) | fast (%) | circuit (%) | eval none (s) | eval fast (s) | eval circuit (s) |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        none = jobs.get(f"n{n}_none")
        for w in wires:
            f, c = jobs.get(f"n{n}_fast_r{w:g}"), jobs.get(f"n{n}_circuit_r{w:g}")
            ref = none or f or c
            cell = lambda j: f"{j['mean']:.2f} ± {j['std']:.2f}" if j else "—"
            sec = lambda j: f"{j['eval_s']:.0f}" if j else "—"
            area = f"{ref['area_mm2']:.2f}" if ref and ref["area_mm2"] is not None else "—"
            lines.append(f"| {n} | {ref['arrays'] if ref else '—'} | {area} | {w:g} | {cell(none)} | {cell(f)} | {cell(c)} | "
                         f"{sec(none)} | {sec(f)} | {sec(c)} |")
    lines.append("")
    series = [{"name": "no wires", "x": [], "y": []}]
    for n in sizes:
        if f"n{n}_none" in jobs:
            series[0]["x"].append(math.log2(n))
            series[0]["y"].append(jobs[f"n{n}_none"]["mean"])
    for mode in ("circuit", "fast"):
        for w in wires:
            pts = [(n, jobs[f"n{n}_{mode}_r{w:g}"]["mean"]) for n in sizes if f"n{n}_{mode}_r{w:g}" in jobs]
            if pts:
                series.append({"name": f"{mode}, {w:g} ohm", "x": [math.log2(p[0]) for p in pts], "y": [p[1] for p in pts],
                               "style": "line" if mode == "circuit" else "dots"})
    plot({"title": "lenet5 on the chip", "x_label": SIZE_AXIS, "y_label": "accuracy (%)",
          "width": 720, "height": 420, "series": series}, os.path.join(img, "ir_drop_accuracy.png"))
    lines += ["![accuracy](img/ir_drop_accuracy.png)", ""]
    # Accuracy against area: the partitioning trade-off. Per wire resistance, each size's
    # `circuit` run (its `fast` run where circuit was not run), and the arrays without wires.
    def area_series(name, pick):
        pts = sorted((j["area_mm2"], j["mean"]) for n in sizes if (j := pick(n)) and j["area_mm2"] is not None)
        return {"name": name, "x": [p[0] for p in pts], "y": [p[1] for p in pts]} if pts else None
    tr = [area_series("no wires", lambda n: jobs.get(f"n{n}_none"))]
    for w in wires:
        tr.append(area_series(f"{w:g} ohm (circuit, else fast)",
                              lambda n, w=w: jobs.get(f"n{n}_circuit_r{w:g}") or jobs.get(f"n{n}_fast_r{w:g}")))
    tr = [t for t in tr if t]
    if tr:
        plot({"title": "Accuracy against area (smaller partitions)", "x_label": "PE and tile area (mm^2)",
              "y_label": "accuracy (%)", "width": 720, "height": 420, "series": tr}, os.path.join(img, "ir_drop_area.png"))
        lines += ["![accuracy against area](img/ir_drop_area.png)", ""]
    walls = [j["wall_s"] for j in jobs.values() if j["wall_s"]]
    if walls:
        lines += [f"{len(jobs)} runs, {sum(walls) / 60:.0f} min of wall time in all (1 thread each).", ""]


def main():
    img = os.path.join(os.path.dirname(args.page) or ".", "img")
    os.makedirs(img, exist_ok=True)
    lines = [BEGIN, "", f"_Generated by `scripts/ir_drop_results.py {args.out} {args.page}`._", ""]
    column_error(lines, img)
    accuracy(lines, img)
    lines.append(END)
    text = open(args.page).read() if os.path.exists(args.page) else f"# IR drop\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        fail(f"{args.page} has no {BEGIN} ... {END} block to replace")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    open(args.page, "w").write(head + "\n".join(lines) + tail)
    print(f"wrote {args.page}")


main()
