#!/usr/bin/python3
"""Retention versus temperature of the default memory technologies: table (CSV) and plot (PNG).

The curves come from the simulator itself (the technology presets of platforms/schema.yaml and
the retention laws of models/memory), so the plot always matches the model; the published
figures of models/memory/retention_published.csv are drawn over them (lower bounds as upward
triangles, measured values as dots, specification steps as squares, hollow where the paper does
not state the temperature):

    scripts/plot_retention.py                      # runs `cimtlm retention --csv`, writes PNG
    scripts/plot_retention.py --csv table.csv      # plots an existing CSV
    scripts/plot_retention.py --out docs/retention.png --table-out retention.csv

Without --csv it runs build/cimtlm (`cimtlm retention --csv FILE`).
"""
import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CANDIDATES = [
    os.path.join(ROOT, "build", "cimtlm"),
    os.path.join(ROOT, "build", "platforms", "cimtlm"),
]


PUBLISHED = os.path.join(ROOT, "models", "memory", "retention_published.csv")


def produce_csv(binary, path):
    subprocess.run([binary, "retention", "--from", "0", "--to", "125", "--step", "1", "--csv",
                    path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read_published(path):
    with open(path, newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))


def read_table(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        sys.exit(f"{path}: empty retention table")
    technologies = [key[:-2] for key in rows[0] if key.endswith("_s")]
    temperatures = [float(row["temperature_c"]) for row in rows]
    retention = {tech: [float(row[tech + "_s"]) for row in rows] for tech in technologies}
    return temperatures, retention


def human(seconds):
    if math.isinf(seconds):
        return "static"
    for limit, unit, scale in ((1e-3, "us", 1e-6), (1, "ms", 1e-3), (120, "s", 1),
                               (7200, "min", 60), (2 * 86400, "h", 3600),
                               (2 * 365.25 * 86400, "days", 86400)):
        if seconds < limit:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / (365.25 * 86400):.3g} years"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", help="existing CSV from `cimtlm retention --csv`")
    parser.add_argument("--cimtlm", help="binary that understands `retention --csv FILE`")
    parser.add_argument("--out", default=os.path.join(ROOT, "models", "memory", "retention.png"))
    parser.add_argument("--table-out", help="also keep the CSV here")
    parser.add_argument("--published", default=PUBLISHED,
                        help="published points to draw over the curves (CSV)")
    args = parser.parse_args()

    csv_path = args.csv
    if csv_path is None:
        binary = args.cimtlm or next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)
        if binary is None:
            sys.exit("no cimtlm binary found: build first or pass --csv / --cimtlm")
        csv_path = args.table_out or os.path.join(tempfile.mkdtemp(), "retention.csv")
        produce_csv(binary, csv_path)

    temperatures, retention = read_table(csv_path)
    print("T [C] " + "".join(f"{tech:>14}" for tech in retention))
    for index, celsius in enumerate(temperatures):
        if celsius % 5:
            continue  # the table every 5 C (the curves use every point)
        print(f"{celsius:5.0f} " + "".join(f"{human(values[index]):>14}"
                                            for values in retention.values()))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    references = [(1e-3, "1 ms"), (1, "1 s"), (3600, "1 h"), (86400, "1 day"),
                  (365.25 * 86400, "1 year")]
    for seconds, label in references:
        axis.axhline(seconds, color="0.85", linewidth=0.8, zorder=0)
        axis.text(temperatures[-1], seconds * 1.15, label, color="0.5", fontsize=8, ha="right")
    colours = {}
    styles = ["-", (0, (5, 3)), "-", "-", "-"]  # NOSRAM and DOSRAM share the law: dash one
    for index, (tech, values) in enumerate(retention.items()):
        if all(math.isinf(v) for v in values):
            continue  # static cells: no retention limit while powered
        (line,) = axis.semilogy(temperatures, values, linewidth=1.5, label=f"{tech} (model)",
                                linestyle=styles[index % len(styles)])
        colours[tech] = line.get_color()
    markers = {"min": "^", "value": "o", "spec": "s"}
    for point in read_published(args.published) if args.published else []:
        tech = point["technology"]
        colour = colours.get(tech, "0.3")
        assumed = point["temperature_assumed"] == "1"
        axis.plot(float(point["temperature_c"]), float(point["retention_s"]),
                  markers[point["bound"]], markersize=7, markeredgecolor=colour,
                  markerfacecolor="none" if assumed else colour, linestyle="none", zorder=3)
    for bound, label in (("min", "published lower bound"), ("value", "published value (other 2T0C)"),
                         ("spec", "JEDEC specification")):
        axis.plot([], [], markers[bound], color="0.3", linestyle="none", label=label)
    axis.plot([], [], "^", markerfacecolor="none", markeredgecolor="0.3", linestyle="none",
              label="temperature not stated (assumed)")
    axis.axvline(85, color="0.6", linestyle="--", linewidth=0.8)
    axis.set_xlabel("die temperature [°C]")
    axis.set_ylabel("data retention [s]")
    axis.set_title("Retention vs temperature: the presets' laws and the published figures\n"
                   "SRAM: static while powered, lost when gated")
    axis.legend(loc="lower left", fontsize=7)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    figure.savefig(args.out, dpi=120)
    print(f"plot written to {args.out}")


if __name__ == "__main__":
    main()
