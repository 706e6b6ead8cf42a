#!/usr/bin/python3
"""Latency-load curves of cimtlm's NoC against the BookSim2 reference.

Reads the reference CSV (packet_flits,offered,avg_latency_cycles,accepted_flits_per_node_cycle)
and one `cimtlm noc --csv` file per packet size (rate,avg_latency_cycles,
accepted_flits_per_node_cycle), and writes a PNG with one latency-vs-offered-load curve per packet
size: cimtlm as lines, BookSim as markers.

Example:
  /usr/bin/python3 scripts/plot_noc.py \
      --reference testbenches/unit/noc/booksim_4x4_mesh_uniform.csv \
      --ours 1=models/noc/validation/cimtlm_4x4_mesh_uniform_1flit.csv \
      --ours 2=models/noc/validation/cimtlm_4x4_mesh_uniform_2flit.csv \
      --ours 4=models/noc/validation/cimtlm_4x4_mesh_uniform_4flit.csv \
      --output models/noc/noc_latency_4x4.png
"""

import argparse
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_reference(path):
    curves = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            flits = int(row["packet_flits"])
            curves.setdefault(flits, []).append(
                (float(row["offered"]), float(row["avg_latency_cycles"])))
    return curves


def read_ours(path):
    points = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            points.append((float(row["rate"]), float(row["avg_latency_cycles"])))
    return points


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="BookSim reference CSV")
    parser.add_argument("--ours", action="append", default=[], metavar="FLITS=CSV",
                        help="cimtlm noc CSV for one packet size (repeatable)")
    parser.add_argument("--output", required=True, help="PNG to write")
    parser.add_argument("--title", default="4x4 mesh, XY, 2 VCs x 4 flits, uniform random traffic")
    parser.add_argument("--max-latency", type=float, default=80.0,
                        help="latency axis limit (saturated points go off the top)")
    args = parser.parse_args()

    reference = read_reference(args.reference)
    ours = {}
    for item in args.ours:
        flits, _, path = item.partition("=")
        if not path:
            parser.error("--ours takes FLITS=CSV")
        ours[int(flits)] = read_ours(path)

    colors = {1: "tab:blue", 2: "tab:orange", 4: "tab:green"}
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for flits in sorted(set(reference) | set(ours)):
        color = colors.get(flits)
        if flits in ours:
            rates, latencies = zip(*ours[flits])
            axes.plot(rates, latencies, "-", color=color, label=f"cimtlm, {flits}-flit packets")
        if flits in reference:
            rates, latencies = zip(*reference[flits])
            axes.plot(rates, latencies, "o", color=color, markerfacecolor="none",
                      label=f"BookSim2, {flits}-flit packets")
    axes.set_xlabel("offered load (flits/node/cycle)")
    axes.set_ylabel("average packet latency (cycles)")
    axes.set_ylim(0, args.max_latency)
    axes.set_xlim(0, None)
    axes.grid(True, alpha=0.3)
    axes.set_title(args.title)
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
