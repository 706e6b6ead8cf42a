#!/usr/bin/python3
"""Regenerates two result tables of README.md from fresh runs of the simulator.

    /usr/bin/python3 scripts/readme_runs.py [--cimtlm build/cimtlm]          # rewrite the blocks
    /usr/bin/python3 scripts/readme_runs.py --check [--cimtlm build/cimtlm]  # exit 1 if stale

Blocks (between `<!-- readme-runs:NAME -->` and `<!-- /readme-runs -->`):
  pruning  structured pruning: `cimtlm run configs/platforms/default.yaml --network
           configs/networks/mlp_wide.yaml` against `mlp_wide_pruned70.yaml`
           (Mapping.StructuredPruningSavesTilesAndEnergy runs the same pair)
  spill    residual_cnn.onnx on testbenches/regression/configs/small_activation_memory.yaml with
           a 1 MiB LPDDR4 level, then with the activation memory the first run reports as needed,
           rounded up to a row of banks (Spill.* run the same pair)
"""
import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile

from doc_blocks import grouped, replace_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
SPILL_CONFIG = "testbenches/regression/configs/small_activation_memory.yaml"
RESIDUAL = ["--network", "configs/networks/residual_cnn.onnx", "--input",
            "configs/networks/residual_cnn_input.npy"]
DRAM = ["--set", "core.memory.levels.dram.technology=dram", "--set",
        "core.memory.levels.dram.capacity=1 MiB"]
ROW_OF_BANKS = 8 * 256  # the default banks x row bytes: a level's capacity is a multiple of it


def kib(value):
    text = f"{value / 1024:.2f}".rstrip("0").rstrip(".")
    return f"{text} KiB"


def bit_exact(stats):
    return "bit-exact" if stats["outputs"]["match_reference"] else "MISMATCH"


def run(binary, scratch, name, arguments):
    stats = os.path.join(scratch, name + ".stats.json")
    subprocess.run([binary, "run", *arguments, "--quiet", "--stats", stats], cwd=ROOT, check=True)
    with open(stats) as f:
        return json.load(f)


def pruning(binary, scratch):
    lines = ["| network | tiles (dense mapping) | CIM energy | energy per inference |"
             " cycles per inference | outputs |",
             "|---|---|---|---|---|---|"]
    for network in ("mlp_wide", "mlp_wide_pruned70"):
        stats = run(binary, scratch, network, ["configs/platforms/default.yaml", "--network",
                                               f"configs/networks/{network}.yaml"])
        lines.append(
            f"| {network} | {stats['map']['tiles']} ({stats['map']['tiles_dense']}) |"
            f" {stats['energy_pj']['cim'] * 1e-3:.1f} nJ |"
            f" {stats['energy_pj']['per_inference'] * 1e-6:.2f} µJ |"
            f" {grouped(stats['sim.cycles_per_inference'])} | {bit_exact(stats)} |")
    return lines


def spill(binary, scratch):
    spilled = run(binary, scratch, "spill_dram", [SPILL_CONFIG, *RESIDUAL, *DRAM])
    info = spilled["spill"]
    needed = info["activation_memory_needed_bytes"]
    capacity = (needed + ROW_OF_BANKS - 1) // ROW_OF_BANKS * ROW_OF_BANKS
    fits = run(binary, scratch, "spill_none",
               [SPILL_CONFIG, *RESIDUAL, *DRAM, "--set",
                f"core.memory.levels.activations.capacity={capacity} B"])
    rest = fits["spill"]
    return [
        "| activation memory | spilled | off-chip traffic (read / written) | cycles | energy |"
        " outputs |",
        "|---|---|---|---|---|---|",
        f"| 4 KiB + 1 MiB DRAM | {kib(info['activation_bytes'])} in {info['activation_buffers']}"
        f" buffers | {info['bytes_read'] / 1024:.0f} KiB / {info['bytes_written'] / 1024:.0f} KiB,"
        f" {info['energy_pj'] * 1e-6:.1f} µJ | {grouped(spilled['sim.cycles'])} |"
        f" {spilled['energy_pj']['total'] * 1e-6:.1f} µJ | {bit_exact(spilled)} |",
        f"| {kib(capacity)} (the reported need, {kib(needed)}, rounded up to a row of banks) |"
        f" {'nothing' if rest['activation_bytes'] == 0 else kib(rest['activation_bytes'])} |"
        f" {rest['bytes_read'] / 1024:.0f} / {rest['bytes_written'] / 1024:.0f} |"
        f" {grouped(fits['sim.cycles'])} | {fits['energy_pj']['total'] * 1e-6:.1f} µJ |"
        f" {bit_exact(fits)} |",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 and show the difference if a block is stale")
    args = parser.parse_args()
    with open(README) as f:
        text = f.read()
    new = text
    with tempfile.TemporaryDirectory() as scratch:
        for name, block in (("pruning", pruning), ("spill", spill)):
            new = replace_block(new, f"<!-- readme-runs:{name} -->", "<!-- /readme-runs -->",
                                block(args.cimtlm, scratch), "README.md")
    if args.check:
        if new == text:
            return 0
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                   "README.md", "fresh run"))
        return 1
    if new != text:
        with open(README, "w") as f:
            f.write(new)
        print("README.md: updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
