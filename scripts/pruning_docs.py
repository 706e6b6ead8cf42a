#!/usr/bin/python3
"""Regenerates the results of docs/pruning.md from a fresh run of the compress loop.

    /usr/bin/python3 scripts/pruning_docs.py [--cimtlm build/cimtlm]

Runs `scripts/compress_loop.py --platform configs/platforms/default.yaml` (default ladder) into a
scratch folder, writes its rounds as the table between `<!-- pruning:begin -->` and
`<!-- pruning:end -->`, the result sentence (its figures from the rounds) between
`<!-- pruning-result:begin -->` and `<!-- pruning-result:end -->`, and copies its plot to
docs/pruning_loop.png.
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

from doc_blocks import grouped, replace_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs", "pruning.md")
PLOT = os.path.join(ROOT, "docs", "pruning_loop.png")


def percent(fraction, digits):
    return f"{fraction * 100:.{digits}f} %"


def table(rounds):
    lines = ["| round | rung | sparsity (all in whole rows/columns) | zero output channels / input"
             " elements | accuracy pruned → re-learned (float) | index: quantized accuracy |"
             " tiles (dense) | energy per inference | cycles per inference | decision |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for k, r in enumerate(rounds):
        target = float(r["target_sparsity"])
        sparsity = float(r["sparsity"])
        accepted = r["accepted"] == "True"
        if k == 0:
            accuracy = percent(float(r["relearned_accuracy"]), 2)
        else:
            accuracy = (percent(float(r["pruned_accuracy"]), 2).replace(" %", "") + " → " +
                        percent(float(r["relearned_accuracy"]), 2))
        last = k == len(rounds) - 1
        decision = "accepted" if accepted else ("**rejected: stop**" if last else "rejected")
        lines.append(
            f"| {r['round']} | {percent(target, 0)}, {r['policy']} |"
            f" {percent(sparsity, 1) if sparsity > 0 else '0 %'} |"
            f" {r['zero_output_channels']} / {r['zero_input_elements']} | {accuracy} |"
            f" {percent(float(r['quantized_accuracy']), 2)} | {r['tiles']} ({r['tiles_dense']}) |"
            f" {float(r['energy_pj_per_inference']) * 1e-6:.3f} µJ |"
            f" {grouped(float(r['cycles_per_inference']))} | {decision} |")
    return lines


def result(rounds):
    dense = rounds[0]
    accepted = [r for r in rounds if r["accepted"] == "True"]
    final = accepted[-1]
    energy = float(final["energy_pj_per_inference"]) / float(dense["energy_pj_per_inference"])
    cycles = float(final["cycles_per_inference"]) / float(dense["cycles_per_inference"])
    text = (f"Result: round {final['round']}, {float(final['sparsity']) * 100:.0f} % of the 38 160"
            f" weights zero, {final['policy'].replace('int', '')}-bit weights,"
            f" {percent(float(final['quantized_accuracy']), 2)} accuracy, {final['tiles']} CIM"
            f" tiles instead of {dense['tiles']}, {energy * 100:.0f} % of the dense int8 model's"
            f" energy and {cycles * 100:.0f} % of its cycles per inference, outputs bit-exact"
            " (`configs/networks/digits_pruned.q.onnx`).")
    return textwrap.wrap(text, 100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "compress_loop.py"),
                        "--platform", "configs/platforms/default.yaml", "--cimtlm", args.cimtlm,
                        "--out-dir", scratch], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(scratch, "rounds.csv")) as f:
            rounds = list(csv.DictReader(f))
        shutil.copyfile(os.path.join(scratch, "compress_loop.png"), PLOT)
    with open(DOCS) as f:
        text = f.read()
    new = replace_block(text, "<!-- pruning:begin -->", "<!-- pruning:end -->", table(rounds),
                        "docs/pruning.md")
    new = replace_block(new, "<!-- pruning-result:begin -->", "<!-- pruning-result:end -->",
                        result(rounds), "docs/pruning.md")
    if new != text:
        with open(DOCS, "w") as f:
            f.write(new)
        print("docs/pruning.md: updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
