#!/usr/bin/env python3
"""Writes docs/results/search.md (and its images) from the run folders of
scripts/search_thermal_quant.sh. Usage: search_results.py OUT DOCS_RESULTS"""
import csv
import json
import os
import shutil
import sys

out, docs = sys.argv[1], sys.argv[2]
img = os.path.join(docs, "img")
os.makedirs(img, exist_ok=True)


def stats(name):
    with open(os.path.join(out, name, "stats.json")) as f:
        return json.load(f)


def rows(name):
    with open(os.path.join(out, name, "candidates.csv")) as f:
        return list(csv.DictReader(f))


ddpg, rnd = stats("ddpg"), stats("random")
ref = ddpg["fixed_8bit_bit_exact"]


def model_row(name, r):
    return (f"| {name} | {r['refined_weight_bits']} | {r['refined_act_bits']} | {r['acc_pct']:.2f} | "
            f"{r['acc_heat_pct']:.2f} | {r['energy_j'] * 1e6:.3f} | {r['tops_per_w'] * 1e3:.1f} | {r['crossbars']} | "
            f"{r['peak_k']:.2f} | {r['array_t_median_k']:.2f} | {r['array_t_max_k']:.2f} | {r['reward']:+.4f} |")


lines = []
w = lines.append
w("## Result against fixed 8-bit (bit-exact, 1000 test images)")
w("")
w("| model | weight bits | act. bits | acc. at ambient (%) | acc. with heat (%) | energy (µJ) | GOPs/W | crossbars "
  "| peak (K) | median array (K) | hottest array (K) | reward |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|")
w(model_row("fixed 8-bit", ref))
for k, f in enumerate(ddpg["finalists"]):
    w(model_row(f"DDPG #{k + 1} (ep {f['episode']})", f["bit_exact"]))
for k, f in enumerate(rnd["finalists"]):
    w(model_row(f"random #{k + 1} (ep {f['episode']})", f["bit_exact"]))
w("")
best = ddpg["finalists"][0]["bit_exact"] if ddpg["finalists"] else None
if best:
    w(f"DDPG's best by reward against fixed 8-bit: accuracy with heat {best['acc_heat_pct'] - ref['acc_heat_pct']:+.2f} pt, "
      f"energy ×{best['energy_j'] / ref['energy_j']:.3f}, GOPs/W ×{best['tops_per_w'] / ref['tops_per_w']:.3f}, "
      f"crossbars {best['crossbars']} vs {ref['crossbars']}, peak {best['peak_k'] - ref['peak_k']:+.2f} K "
      f"({100 * (best['peak_k'] - ref['peak_k']) / ref['peak_k']:+.2f} %), hottest array "
      f"{best['array_t_max_k'] - ref['array_t_max_k']:+.2f} K, rise of the hottest array over the ambient "
      f"{best['array_t_max_k'] - 358.15:.2f} K against {ref['array_t_max_k'] - 358.15:.2f} K.")
    w("")
w("## Convergence")
w("")
w("| strategy | episodes | wall time (s) | episodes/min | best reward (episode) | moving average settles at episode |")
w("|---|---|---|---|---|---|")
for name, s in (("ddpg", ddpg), ("random", rnd)):
    r = s["candidates"][s["best_episode"]]
    w(f"| {name} | {s['episodes']} | {s['elapsed_s']:.0f} | {60 * s['episodes'] / s['elapsed_s']:.1f} | "
      f"{r['reward']:+.4f} ({s['best_episode']}) | {s['plateau']['episode']} |")
w("")
w(f"The plateau: the first episode from which the moving average of the reward over "
  f"{ddpg['plateau']['window']} episodes stays within {100 * ddpg['plateau']['tolerance']:.0f} % of its range "
  f"of its final value (`search/plateau.hpp`).")
w("")
w("## Throughput per rung (12 episodes each, 4 of warm-up; one run)")
w("")
w("| rung | s/episode | episodes/min | × bit_exact |")
w("|---|---|---|---|")
per = {}
for rung in ("bit_exact", "tile", "weight"):
    s = stats(f"rung_{rung}")
    per[rung] = s["elapsed_s"] / s["episodes"]
for rung in ("bit_exact", "tile", "weight"):
    w(f"| {rung} | {per[rung]:.2f} | {60 / per[rung]:.1f} | {per['bit_exact'] / per[rung]:.1f} |")
w("")
one, one1, two = stats("one_process"), stats("one_process_1t"), stats("two_processes")


def log(name):
    return [dict((k, v) for k, v in r.items() if k != "eval_s") for r in rows(name)]


same = log("one_process_1t") == log("two_processes")
dev = max(abs(float(a["reward"]) - float(b["reward"])) for a, b in zip(rows("one_process"), rows("two_processes")))
w("## Two processes against one (random search, 40 episodes)")
w("")
w("| run | wall time (s) | episodes/min |")
w("|---|---|---|")
w(f"| 1 process × 2 threads | {one['elapsed_s']:.1f} | {60 * one['episodes'] / one['elapsed_s']:.1f} |")
w(f"| 1 process × 1 thread | {one1['elapsed_s']:.1f} | {60 * one1['episodes'] / one1['elapsed_s']:.1f} |")
w(f"| 2 processes × 1 thread (c10d Gloo, loopback) | {two['elapsed_s']:.1f} | {60 * two['episodes'] / two['elapsed_s']:.1f} |")
w("")
w(f"Two processes against one with 2 threads: {one['elapsed_s'] / two['elapsed_s']:.2f}× the episodes per minute; "
  f"against one with 1 thread: {one1['elapsed_s'] / two['elapsed_s']:.2f}×. The two processes' log is "
  f"{'identical to' if same else 'NOT identical to'} the one-thread process's apart from the evaluation times; "
  f"against the two-thread process the rewards differ by at most {dev:.1e} (floating-point sums in another "
  f"thread count).")
w("")
for name in ("search_progress", "bits_per_layer", "bits_vs_accuracy", "temperature_boxes"):
    shutil.copy(os.path.join(out, "ddpg", "plots", name + ".png"), os.path.join(img, "search_" + name + ".png"))
w("![reward and accuracy per episode](img/search_search_progress.png)")
w("")
w("![bits per layer](img/search_bits_per_layer.png)")
w("")
w("![mean bits against accuracy](img/search_bits_vs_accuracy.png)")
w("")
w("![temperature distribution](img/search_temperature_boxes.png)")

generated = "\n".join(lines) + "\n"
page = os.path.join(docs, "search.md")
head = open(page).read().split("<!-- generated -->")[0] if os.path.exists(page) else "# Search\n\n"
tail = ""
if os.path.exists(page) and "<!-- end generated -->" in open(page).read():
    tail = open(page).read().split("<!-- end generated -->")[1]
with open(page, "w") as f:
    f.write(head + "<!-- generated -->\n" + generated + "<!-- end generated -->" + tail)
print("wrote", page)
