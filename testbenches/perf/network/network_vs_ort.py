#!/usr/bin/python3
"""Speed of a whole-network simulation against onnxruntime on one CPU core.

For every model: onnxruntime's median time per inference (scripts/ort/run_ort.js --time, one
thread, default optimizations, warm session) and cimtlm's host time per simulated inference after
the first (`cimtlm run` with 1 and with 1+N inferences: the difference of their simulation host
times divided by N, median of --repeats interleaved pairs, N raised for small networks, i.e. the SystemC simulation with full timing, energy, stats and the bit-exact
check, tracing off), and their ratio.

Inputs: the model's test_data_set_0/input_*.pb, else <model stem>_input*.npy beside it (the stem
without .q/.onnx), else a seeded random input made from the model's input types and shapes.

  network_vs_ort.py [--cimtlm build/cimtlm] [--platform configs/platforms/default.yaml]
                    [--inferences 4] [--set key=value]... [--label NAME] [--target 3]
                    [--allow-mismatch] [--ratio-lines] MODEL.onnx...
"""
import argparse
import glob
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

MIN_DIFFERENCE_S = 0.3  # host seconds between the long and the short run
MAX_INFERENCES = 400
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def model_stem(model):
    """configs/networks/mobile_se_cnn.q.onnx -> configs/networks/mobile_se_cnn"""
    stem = model[:-len(".onnx")] if model.endswith(".onnx") else model
    return stem[:-len(".q")] if stem.endswith(".q") else stem


def random_inputs(model, work):
    """Seeded random inputs for every graph input that is not an initializer (batch 1)."""
    import numpy as np
    import onnx
    from onnx import helper, mapping
    graph = onnx.load(model, load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}
    rng = np.random.default_rng(1)
    paths = []
    for index, value in enumerate(graph.input):
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        # onnx 1.12 (Debian 12) maps types with mapping.TENSOR_TYPE_TO_NP_TYPE.
        to_np = getattr(helper, "tensor_dtype_to_np_dtype", None)
        dtype = to_np(tensor.elem_type) if to_np else mapping.TENSOR_TYPE_TO_NP_TYPE[tensor.elem_type]
        shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in tensor.shape.dim]
        if np.issubdtype(dtype, np.floating):
            data = rng.standard_normal(shape).astype(dtype)
        else:
            info = np.iinfo(dtype)
            data = rng.integers(max(info.min, 0), min(info.max, 16), size=shape, dtype=dtype)
        path = os.path.join(work, f"random_{os.path.basename(model_stem(model))}_{index}.npy")
        np.save(path, data)
        paths.append((value.name, path))
    return paths


def inputs_for(model, work):
    folder = os.path.dirname(model)
    pbs = sorted(glob.glob(os.path.join(folder, "test_data_set_0", "input_*.pb")))
    if pbs and model.endswith("model.onnx"):
        return [(None, path) for path in pbs]
    npys = sorted(glob.glob(model_stem(model) + "_input*.npy"))
    if npys:
        return [(None, path) for path in npys]
    return random_inputs(model, work)


def simulate(args, model, inputs, inferences, work):
    stats = os.path.join(work, "stats.json")
    command = [args.cimtlm, "run", args.platform, "--network", model, "--quiet", "--stats", stats,
               "--inferences", str(inferences)]
    for name, path in inputs:
        command += ["--input", f"{name}={path}" if name else path]
    for setting in args.set:
        command += ["--set", setting]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in ((0, 1) if args.allow_mismatch else (0,)):
        sys.stderr.write(done.stderr)
        raise SystemExit(f"network_vs_ort: cimtlm failed on {model}")
    with open(stats) as handle:
        return json.load(handle)


def wall_s(stats):
    host = stats.get("host", {})
    return host["wall_s"] if "wall_s" in host else stats["sim"]["wall_s"]


def per_inference_us(args, model, inputs, work):
    """Host microseconds per simulated inference after the first, and the stats of the longer run.
    One run's simulation time wobbles by milliseconds (page faults, the scheduler), as much as a
    small network's inference: the number of inferences is raised until the difference of the
    two runs is at least MIN_DIFFERENCE_S, and the median of `repeats` interleaved pairs is kept."""
    inferences = args.inferences
    one = simulate(args, model, inputs, 1, work)
    many = simulate(args, model, inputs, 1 + inferences, work)
    difference = wall_s(many) - wall_s(one)
    if difference < MIN_DIFFERENCE_S:
        per_inference = max(difference, 1e-4) / inferences
        inferences = min(MAX_INFERENCES, max(inferences, math.ceil(MIN_DIFFERENCE_S / per_inference)))
        one = simulate(args, model, inputs, 1, work)
        many = simulate(args, model, inputs, 1 + inferences, work)
        difference = wall_s(many) - wall_s(one)
    differences = [difference]
    for _ in range(args.repeats - 1):
        one = simulate(args, model, inputs, 1, work)
        many = simulate(args, model, inputs, 1 + inferences, work)
        differences.append(wall_s(many) - wall_s(one))
    return max(statistics.median(differences), 1e-9) * 1e6 / inferences, many


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cimtlm", default=os.path.join(ROOT, "build", "cimtlm"))
    parser.add_argument("--platform", default=os.path.join(ROOT, "configs", "platforms", "default.yaml"))
    parser.add_argument("--inferences", type=int, default=4,
                        help="inferences after the first (raised for small networks, see per_inference_us)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved run pairs (median)")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--label", default="", help="suffix of the RATIO names")
    parser.add_argument("--target", type=float, default=3.0)
    parser.add_argument("--allow-mismatch", action="store_true",
                        help="a lossy platform's outputs differ from the reference: exit 1 is expected")
    parser.add_argument("--ratio-lines", action="store_true", help="print RATIO lines for scripts/bench.sh")
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    if not args.ratio_lines:
        print(f"{'model':32} {'ort us/inf':>11} {'cimtlm us/inf':>14} {'ratio':>7}  simulated cycles/inf")
    worst = 0.0
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            inputs = inputs_for(model, work)
            command = ["node", os.path.join(ROOT, "scripts", "ort", "run_ort.js"), model]
            for name, path in inputs:
                command += ["--input", f"{name}={path}"] if name else [path]
            command += ["--output-dir", os.path.join(work, "ort"), "--time", "200"]
            ort = subprocess.run(command, capture_output=True, text=True, check=True)
            ort_us = json.loads(ort.stdout.strip().splitlines()[-1])["ort_us_per_inference"]
            sim_us, many = per_inference_us(args, model, inputs, work)
            ratio = sim_us / ort_us
            worst = max(worst, ratio)
            name = os.path.basename(os.path.dirname(model)) if model.endswith("model.onnx") else \
                os.path.basename(model_stem(model))
            if args.ratio_lines:
                print(f"RATIO per_inference_vs_ort.{name}{args.label} {ratio:.2f} {args.target:g}", flush=True)
            else:
                print(f"{name:32} {ort_us:11.1f} {sim_us:14.1f} {ratio:7.2f}  "
                      f"{many['sim']['cycles_per_inference']:.0f}", flush=True)
    if not args.ratio_lines:
        print(f"worst ratio {worst:.2f} (target <= {args.target:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
