#!/usr/bin/python3
"""Speed of a whole-network simulation against onnxruntime on one CPU core.

For every model: onnxruntime's median time per inference (scripts/ort/run_ort.js --time, one
thread, default optimizations) and cimtlm's host time per simulated inference (`cimtlm run` with
N inferences: sim.wall_s / N, i.e. the SystemC simulation with full timing and bit-exact values),
and their ratio. The project's target: ratio <= 3.

  network_vs_ort.py [--cimtlm build/cimtlm] [--platform configs/platforms/default.yaml]
                    [--inferences 20] MODEL.onnx...
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    parser.add_argument("--platform", default=os.path.join(ROOT, "configs", "platforms", "default.yaml"))
    parser.add_argument("--inferences", type=int, default=20)
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    print(f"{'model':32} {'ort us/inf':>11} {'cimtlm us/inf':>14} {'ratio':>7}  simulated cycles/inf")
    worst = 0.0
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            folder = os.path.dirname(model)
            inputs = sorted(glob.glob(os.path.join(folder, "test_data_set_0", "input_*.pb")))
            if not inputs:
                inputs = sorted(glob.glob(os.path.splitext(model)[0] + "_input*.npy"))
            ort = subprocess.run(["node", os.path.join(ROOT, "scripts", "ort", "run_ort.js"), model, *inputs,
                                  "--output-dir", os.path.join(work, "ort"), "--time", "200"],
                                 capture_output=True, text=True, check=True)
            ort_us = json.loads(ort.stdout.strip().splitlines()[-1])["ort_us_per_inference"]
            stats = os.path.join(work, "stats.json")
            command = [args.cimtlm, "run", args.platform, "--network", model, "--quiet", "--stats", stats,
                       "--inferences", str(args.inferences)]
            for path in inputs:
                command += ["--input", path]
            subprocess.run(command, check=True, capture_output=True)
            with open(stats) as handle:
                data = json.load(handle)
            sim_us = data["sim"]["wall_s"] * 1e6 / args.inferences
            ratio = sim_us / ort_us
            worst = max(worst, ratio)
            name = os.path.basename(folder) if model.endswith("model.onnx") else os.path.basename(model)
            print(f"{name:32} {ort_us:11.1f} {sim_us:14.1f} {ratio:7.2f}  {data['sim']['cycles_per_inference']:.0f}")
    print(f"worst ratio {worst:.2f} (target <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
