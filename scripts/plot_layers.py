#!/usr/bin/python3
"""Time and energy per layer from a cimtlm stats file, stacked by component.

  /usr/bin/python3 scripts/plot_layers.py STATS.json -o layers.png [--network NAME] [--top N]

Reads `layers.<network>.<layer>` (cycles, energy_pj.{cim,memory,arith,noc}) as `cimtlm run
--stats` writes them, keeps the N layers that take most time (default 25), in execution order,
and draws two panels: cycles per layer, and energy per layer stacked by component.
"""
import argparse
import json
import sys

COMPONENTS = ("cim", "memory", "arith", "noc")
COLOURS = {"cim": "#4c72b0", "memory": "#dd8452", "arith": "#55a868", "noc": "#c44e52"}


def load_layers(path, network):
    with open(path, encoding="utf-8") as handle:
        stats = json.load(handle)
    layers = stats.get("layers")
    if not isinstance(layers, dict) or not layers:
        sys.exit(f"{path}: no 'layers' in the stats (written by cimtlm run --stats)")
    if network is None:
        if len(layers) > 1:
            sys.exit(f"{path}: several networks ({', '.join(layers)}); choose one with --network")
        network = next(iter(layers))
    if network not in layers:
        sys.exit(f"{path}: no network '{network}' (networks: {', '.join(layers)})")
    return network, sorted(layers[network].items(), key=lambda item: item[1].get("position", 0))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stats")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--network")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    network, layers = load_layers(args.stats, args.network)
    keep = {name for name, _ in sorted(layers, key=lambda item: -item[1]["cycles"])[: args.top]}
    layers = [(name, entry) for name, entry in layers if name in keep]

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name, _ in layers]
    positions = range(len(layers))
    figure, (time_axis, energy_axis) = plt.subplots(
        2, 1, figsize=(max(6.0, 0.38 * len(layers) + 2), 6.5), sharex=True)
    time_axis.bar(positions, [entry["cycles"] for _, entry in layers], color="#8172b3")
    time_axis.set_ylabel("cycles")
    time_axis.set_title(f"{network}: time and energy per layer ({len(layers)} layers that take most time)")
    bottom = [0.0] * len(layers)
    for component in COMPONENTS:
        values = [entry["energy_pj"][component] / 1e3 for _, entry in layers]
        energy_axis.bar(positions, values, bottom=bottom, label=component, color=COLOURS[component])
        bottom = [b + v for b, v in zip(bottom, values)]
    energy_axis.set_ylabel("energy (nJ)")
    energy_axis.legend(ncol=4, fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0),
                       frameon=False)
    energy_axis.set_xticks(list(positions))
    energy_axis.set_xticklabels(names, rotation=60, ha="right", fontsize="small")
    figure.tight_layout()
    figure.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
