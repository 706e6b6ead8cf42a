#!/usr/bin/python3
"""Reproduce the digits results table of compiler/quant/README.md.

Runs `cimtlm quantize` under each policy and `cimtlm search` on the digits CNN
(configs/networks/digits_cnn.onnx, made by scripts/train_digits.py) on a platform, and prints a
Markdown table of validation accuracy and simulated energy / latency / CIM tiles per inference.
Every quantized model is simulated with `cimtlm run` (bit-exact with the reference executor).

Usage: /usr/bin/python3 scripts/quant_digits_results.py [--cimtlm build/cimtlm]
           [--platform configs/platforms/default.yaml] [--out-dir traces/quant_digits]
           [--plot compiler/quant/doc/digits_pareto.png]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command):
    print("$ " + " ".join(command), file=sys.stderr)
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        print(result.stdout, file=sys.stderr)
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}")
    return result.stdout


def bits_text(bits_by_layer):
    return "/".join(str(b) for b in bits_by_layer)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    parser.add_argument("--platform", default="configs/platforms/default.yaml")
    parser.add_argument("--out-dir", default="traces/quant_digits")
    parser.add_argument("--plot", default="compiler/quant/doc/digits_pareto.png")
    args = parser.parse_args()

    model = "configs/networks/digits_cnn.onnx"
    calib = "configs/networks/digits_data/calib.npy"
    val = "configs/networks/digits_data/val_inputs.npy"
    if not os.path.exists(os.path.join(ROOT, model)):
        run(["/usr/bin/python3", "scripts/train_digits.py"])
    out = args.out_dir
    os.makedirs(os.path.join(ROOT, out), exist_ok=True)
    db = os.path.join(out, "stats.sqlite")

    rows = []
    float_accuracy = None
    for policy in ["int8", "auto", "int4", "mixed", "int2"]:
        output = os.path.join(out, f"digits_{policy}.onnx")
        run([args.cimtlm, "quantize", model, "--calib", calib, "--val", val, "--platform", args.platform,
             "--db", db, "--policy", policy, "-o", output])
        with open(os.path.join(ROOT, out, f"digits_{policy}.report.json")) as handle:
            report = json.load(handle)
        float_accuracy = report["validation"]["float_accuracy"]
        simulation = report["simulation"]
        if not simulation.get("bit_exact"):
            raise SystemExit(f"{policy}: simulated outputs differ from the reference executor")
        rows.append((f"`quantize --policy {policy}`", bits_text([layer["weight_bits"] for layer in report["layers"]]),
                     report["validation"]["quantized_accuracy"], simulation["energy_pj_per_inference"],
                     simulation["cycles_per_inference"], simulation["tiles"]))

    search_dir = os.path.join(out, "search")
    run([args.cimtlm, "search", model, "--calib", calib, "--val", val, "--platform", args.platform, "--db", db,
         "--target", "energy", "--min-accuracy", "int8-1", "--out-dir", search_dir])
    with open(os.path.join(ROOT, search_dir, "search_report.json")) as handle:
        search = json.load(handle)
    chosen = search["candidates"][search["chosen"]]
    layers = [layer["layer"] for layer in search["chosen_quantization"]["layers"]]
    rows.append((f"`search --target energy --min-accuracy int8-1` (#{chosen['id']} of {len(search['candidates'])})",
                 bits_text([chosen["bits"][name] for name in layers]), chosen["accuracy"], chosen["energy_pj"],
                 chosen["latency_cycles"], chosen["tiles"]))
    if args.plot and os.path.exists(os.path.join(ROOT, search_dir, "pareto.png")):
        os.makedirs(os.path.dirname(os.path.join(ROOT, args.plot)), exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, search_dir, "pareto.png"), os.path.join(ROOT, args.plot))

    int8_energy = rows[0][3]
    print(f"Digits CNN, {len(layers)} CIM layers ({', '.join(layers)}); platform {args.platform}; accuracy on "
          f"{search['validation']['samples']} validation images; energy, cycles and tiles per inference simulated by "
          f"`cimtlm run` (bit-exact with the reference executor).\n")
    print("| model | weight bits per layer | accuracy | energy (uJ) | vs int8 | cycles | CIM tiles |")
    print("|---|---|---|---|---|---|---|")
    print(f"| float (PyTorch export) | 32 | {100 * float_accuracy:.2f} % | - | - | - | - |")
    for name, bits, accuracy, energy, cycles, tiles in rows:
        print(f"| {name} | {bits} | {100 * accuracy:.2f} % | {energy / 1e6:.3f} | {100 * energy / int8_energy:.0f} % | "
              f"{cycles:.0f} | {tiles} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
