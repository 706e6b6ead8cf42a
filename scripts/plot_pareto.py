#!/usr/bin/python3
"""Plot the candidates of `cimtlm search` (pareto.csv): accuracy against simulated energy per
inference, latency as colour, the Pareto front (accuracy, energy, latency) ringed, the chosen model
starred and the single-bit-width models labelled.

Usage: /usr/bin/python3 scripts/plot_pareto.py PARETO.csv OUT.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["cost_ok"] == "1"]
    if not rows:
        print(f"{sys.argv[1]}: no candidate with a simulated cost", file=sys.stderr)
        return 1
    energy = [float(r["energy_pj"]) / 1e6 for r in rows]
    accuracy = [100.0 * float(r["accuracy"]) for r in rows]
    latency = [float(r["latency_cycles"]) / 1e3 for r in rows]

    fig, ax = plt.subplots(figsize=(7.5, 5))
    points = ax.scatter(energy, accuracy, c=latency, cmap="viridis", s=40, zorder=3)
    fig.colorbar(points, ax=ax, label="latency per inference (kcycles)")
    front = sorted((e, a) for e, a, r in zip(energy, accuracy, rows) if r["pareto"] == "1")
    if front:
        ax.scatter(*zip(*front), s=140, facecolors="none", edgecolors="tab:red", linewidths=1.3,
                   label="Pareto front (accuracy, energy, latency)", zorder=6)
    for e, a, r in zip(energy, accuracy, rows):
        if r["origin"].startswith("all "):
            ax.annotate(r["origin"], (e, a), textcoords="offset points", xytext=(6, -12), fontsize=8)
        if r["chosen"] == "1":
            ax.scatter([e], [a], marker="*", s=260, color="tab:orange", edgecolors="black", zorder=5,
                       label=f"chosen (#{r['id']})")
    ax.set_xlabel("simulated energy per inference (uJ)")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title("cimtlm search: mixed-precision candidates")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
