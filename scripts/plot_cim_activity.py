#!/usr/bin/python3
"""Plot the CIM macro's energy per input bit-plane versus input-bit activity next to NeuroSim.

Runs `cimtlm cim-activity CONFIG.yaml --csv FILE` (models/cim/cim_activity.h) unless --no-run,
then writes a PNG with the total and ADC energy of cimtlm (lines) and of DNN+NeuroSim V1.4
(points, ../shared/reference/cim/README.md) for the same 256x256 22 nm SRAM sub-array:

  /usr/bin/python3 scripts/plot_cim_activity.py --config configs/platforms/neurosim_22nm.yaml \
      --csv models/cim/doc/cim_activity.csv --png models/cim/doc/cim_activity.png
"""
import argparse
import csv
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# DNN+NeuroSim V1.4, one sub-array operation: activity, total pJ, ADC pJ.
NEUROSIM = [(0.0, 29.97, 21.65), (0.507, 67.67, 58.13), (1.0, 97.79, 87.06)]


def read_points(path):
    with open(path, newline="") as handle:
        rows = [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]
    if not rows:
        raise ValueError(f"{path}: no points")
    return sorted(rows, key=lambda row: row["measured_activity"])


def plot(points, png, title):
    figure, axis = plt.subplots(figsize=(7, 4.6))
    x = [p["measured_activity"] for p in points]
    axis.plot(x, [p["total_pj"] for p in points], "-", color="tab:blue", marker=".", label="cimtlm total")
    axis.plot(x, [p["adc_pj"] for p in points], "--", color="tab:blue", marker=".", label="cimtlm ADC")
    axis.plot(x, [p["array_pj"] + p["digital_pj"] for p in points], ":", color="tab:blue",
              label="cimtlm array + shift-add")
    axis.plot([a for a, _, _ in NEUROSIM], [t for _, t, _ in NEUROSIM], "o", color="tab:red",
              label="NeuroSim V1.4 total")
    axis.plot([a for a, _, _ in NEUROSIM], [d for _, _, d in NEUROSIM], "s", color="tab:red",
              fillstyle="none", label="NeuroSim V1.4 ADC")
    axis.set_xlabel("input-bit activity (fraction of input bits that are 1)")
    axis.set_ylabel("energy per input bit-plane [pJ]")
    axis.set_title(title)
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(png, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/platforms/neurosim_22nm.yaml")
    parser.add_argument("--cimtlm", default="build/cimtlm")
    parser.add_argument("--csv", required=True)
    parser.add_argument("--png", required=True)
    parser.add_argument("--no-run", action="store_true", help="plot an existing CSV")
    args = parser.parse_args()
    if not args.no_run:
        activities = ",".join(f"{i / 20:g}" for i in range(21)) + ",0.507"
        command = [args.cimtlm, "cim-activity", args.config, "--activities", activities, "--csv", args.csv]
        result = subprocess.run(command, capture_output=True, text=True)
        sys.stdout.write(result.stdout)
        if result.returncode != 0:
            sys.stderr.write(result.stderr)
            return result.returncode
    plot(read_points(args.csv), args.png,
         f"256x256 SRAM sub-array, 22 nm, 5-bit MLSA ({os.path.basename(args.config)})")
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
