#!/usr/bin/python3
"""Plot the CIM macro's energy and latency versus input sparsity.

Reads the CSV written by run_sparsity_sweep (models/cim/cim_sweep.h) -- `cimtlm cim-sweep
CONFIG.yaml --csv FILE` -- and writes a PNG with three panels: energy per vector, latency per
vector, and the energy by part of the sparsity-aware macro. With --config, the sweep of that
platform's macro runs first (build/cimtlm cim-sweep), so one command produces both files:

  /usr/bin/python3 scripts/plot_cim_sweep.py --config configs/platforms/default.yaml \
      --csv traces/cim_sweep.csv --png traces/cim_sweep.png
"""
import argparse
import csv
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MODES = {  # mode -> (label, colour)
    "unaware": ("sparsity-unaware", "0.45"),
    "blocks": ("aware, block packing", "tab:blue"),
    "rows": ("aware, row packing", "tab:orange"),
}
PATTERNS = {"random": "-", "clustered": "--"}
PARTS = [("array_pj", "array"), ("adc_pj", "ADC"), ("digital_pj", "shift-add"),
         ("detection_pj", "detection"), ("compensation_pj", "compensation"), ("leakage_pj", "leakage")]


def read_points(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: no sweep points")
    for row in rows:
        for key, value in row.items():
            if key not in ("pattern", "mode"):
                row[key] = float(value)
    return rows


def series(points, pattern, mode, key):
    chosen = sorted((p for p in points if p["pattern"] == pattern and p["mode"] == mode),
                    key=lambda p: p["sparsity"])
    return [p["sparsity"] for p in chosen], [p[key] for p in chosen]


def plot(points, png):
    threshold = points[0]["sparsity_threshold"]
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for axis, key, title in ((axes[0], "energy_pj_per_vector", "energy per input vector [pJ]"),
                             (axes[1], "latency_cycles_per_vector", "latency per input vector [cycles]")):
        for mode, (label, colour) in MODES.items():
            for pattern, style in PATTERNS.items():
                x, y = series(points, pattern, mode, key)
                if x:
                    axis.plot(x, y, style, color=colour, marker=".", label=f"{label}, {pattern} zeros")
        axis.axvline(threshold, color="k", linewidth=0.8, linestyle=":")
        axis.set_xlabel("input sparsity (fraction of inputs at the zero point)")
        axis.set_title(title)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left")

    x, _ = series(points, "random", "blocks", "energy_pj_per_vector")
    parts = [series(points, "random", "blocks", key)[1] for key, _ in PARTS]
    axes[2].stackplot(x, parts, labels=[label for _, label in PARTS], alpha=0.85)
    axes[2].axvline(threshold, color="k", linewidth=0.8, linestyle=":")
    axes[2].set_title("energy by part, aware (block packing), random zeros [pJ]")
    axes[2].set_xlabel("input sparsity")
    axes[2].legend(fontsize=7, loc="upper right")
    axes[2].grid(alpha=0.3)
    figure.suptitle(f"CIM macro sparsity sweep (threshold {threshold:g}, dotted)")
    figure.tight_layout()
    figure.savefig(png, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True, help="sweep CSV to read (written first with --run)")
    parser.add_argument("--png", required=True, help="plot to write")
    parser.add_argument("--config", help="platform file whose macro is swept first (cimtlm cim-sweep)")
    parser.add_argument("--cimtlm", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "build", "cimtlm"), help="the cimtlm executable")
    args = parser.parse_args()
    try:
        if args.config:
            os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
            subprocess.run([args.cimtlm, "cim-sweep", args.config, "--csv", args.csv], check=True,
                           stdout=subprocess.DEVNULL)
        points = read_points(args.csv)
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        plot(points, args.png)
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as error:
        print(f"plot_cim_sweep: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
