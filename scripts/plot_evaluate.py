#!/usr/bin/python3
"""Plot top-1 accuracy through the simulated platform versus each swept error source.

Reads the accuracy.csv written by `cimtlm evaluate PLATFORM.yaml --network NET.onnx --data DATA
--default-sweeps` and draws one panel per swept key (ADC bits, sparsity threshold, retention, ...)
with the float and ideal-integer accuracies as horizontal lines:

  /usr/bin/python3 scripts/plot_evaluate.py traces/evaluate/accuracy.csv traces/evaluate/accuracy.png
"""
import csv
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

UNITS = {"ps": 1e-12, "ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0,
         "day": 86400.0, "days": 86400.0}


def number(text):
    match = re.fullmatch(r"\s*([-+0-9.eE]+)\s*([a-z]*)\s*", text)
    if not match:
        raise ValueError(f"not a number: {text!r}")
    value = float(match.group(1))
    return value * UNITS.get(match.group(2), 1.0), match.group(2) in UNITS


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    with open(sys.argv[1], newline="") as handle:
        rows = list(csv.DictReader(handle))
    sweeps = [name for name in dict.fromkeys(row["sweep"] for row in rows) if name != "base"]
    if not sweeps:
        print("no sweeps in", sys.argv[1])
        return 1
    float_accuracy = 100 * float(rows[0]["float_accuracy"])
    integer_accuracy = 100 * float(rows[0]["integer_accuracy"])
    figure, axes = plt.subplots(1, len(sweeps), figsize=(5.2 * len(sweeps), 4.2), squeeze=False)
    for axis, sweep in zip(axes[0], sweeps):
        points = []
        timed = False
        for row in rows:
            if row["sweep"] == sweep:
                value, is_time = number(row["value"])
                timed = timed or is_time
                points.append((value, 100 * float(row["accuracy"]), 100 * float(row["bit_exact_fraction"])))
        points.sort()
        x = [p[0] for p in points]
        axis.plot(x, [p[1] for p in points], "-o", color="tab:blue", label="through the platform")
        axis.plot(x, [p[2] for p in points], ":", color="tab:gray", marker=".",
                  label="outputs bit-exact to integer model [%]")
        axis.axhline(float_accuracy, color="tab:green", linestyle="--", label="float model")
        axis.axhline(integer_accuracy, color="tab:red", linestyle="-.", label="ideal integer model")
        if timed:
            axis.set_xscale("log")
        fixed = next((row.get("fixed", "") for row in rows if row["sweep"] == sweep), "")
        label = sweep.replace("core.", "") + (" [s]" if timed else "")
        if fixed:
            label += "\n(with " + ",\n".join(item.replace("core.", "") for item in fixed.split(";")) + ")"
        axis.set_xlabel(label, fontsize=9)
        axis.set_ylabel("top-1 accuracy [%]")
        axis.set_ylim(0, 102)
        axis.grid(alpha=0.3)
    axes[0][0].legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(sys.argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
