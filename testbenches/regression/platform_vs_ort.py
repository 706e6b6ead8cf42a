#!/usr/bin/python3
"""The simulated platform against an independent runtime: every model is run by onnxruntime
(scripts/ort, npm onnxruntime-node) and by `cimtlm run --network MODEL --input FILE...
--output-dir DIR` on a platform; the output tensors must be identical bit for bit.

  platform_vs_ort.py CIMTLM PLATFORM.yaml ORT_DIR WORK MODEL_OR_DIR...

A directory stands for every */model.onnx below it, with test_data_set_0/input_*.pb as inputs
(the layout of ONNX's test data); a bare model gets seeded random inputs written by this script.
Integer outputs must be identical; float outputs (a Softmax or DequantizeLinear at the end) within
1e-5 relative, as ONNX's conformance tests compare floats (onnxruntime's float exponential is its
own polynomial). Exit status 0 when every model matches, 1 otherwise (the differing models are
listed).
"""
import glob
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def inputs_for(model_path, work):
    """Input files of a model: its test data, or seeded random ones."""
    folder = os.path.dirname(model_path)
    files = sorted(glob.glob(os.path.join(folder, "test_data_set_0", "input_*.pb")),
                   key=lambda p: int(os.path.basename(p)[6:-3]))  # input_10 after input_9
    if files:
        return files
    model = onnx.load(model_path)
    initializers = {t.name for t in model.graph.initializer}
    rng = np.random.default_rng(1)
    files = []
    for k, value in enumerate(i for i in model.graph.input if i.name not in initializers):
        dtype = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[value.type.tensor_type.elem_type]
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in value.type.tensor_type.shape.dim]
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            data = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
        else:
            data = rng.uniform(-1, 1, size=shape).astype(dtype)
        path = os.path.join(work, f"input_{k}.pb")
        tensor = numpy_helper.from_array(data, value.name)
        with open(path, "wb") as handle:
            handle.write(tensor.SerializeToString())
        files.append(path)
    return files


def outputs_in(folder):
    arrays = []
    for path in sorted(glob.glob(os.path.join(folder, "output_*.pb")),
                       key=lambda p: int(os.path.basename(p)[7:-3])):
        tensor = onnx.TensorProto()
        with open(path, "rb") as handle:
            tensor.ParseFromString(handle.read())
        arrays.append(numpy_helper.to_array(tensor))
    return arrays


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    cimtlm, platform, ort_dir, work = sys.argv[1:5]
    models = []
    for item in sys.argv[5:]:
        if os.path.isdir(item):
            models += sorted(glob.glob(os.path.join(item, "*", "model.onnx")))
        else:
            models.append(item)
    if not models:
        print("no models", file=sys.stderr)
        return 2
    failed = []
    for index, model in enumerate(models):
        name = os.path.basename(os.path.dirname(model)) if model.endswith("model.onnx") else os.path.basename(model)
        case = os.path.join(work, f"{index:03d}_{name}")
        os.makedirs(case, exist_ok=True)
        inputs = inputs_for(model, case)
        ort_out, sim_out = os.path.join(case, "ort"), os.path.join(case, "cimtlm")
        ort = subprocess.run(["node", os.path.join(ort_dir, "run_ort.js"), model, *inputs,
                              "--output-dir", ort_out], capture_output=True, text=True)
        if ort.returncode != 0:
            print(f"{name}: onnxruntime failed: {ort.stderr.strip()}")
            failed.append(name)
            continue
        command = [cimtlm, "run", platform, "--network", model, "--quiet", "--output-dir", sim_out,
                   "--stats", os.path.join(case, "stats.json"), "--set", "workload.inferences=1"]
        for path in inputs:
            command += ["--input", path]
        sim = subprocess.run(command, capture_output=True, text=True)
        if sim.returncode != 0:
            print(f"{name}: cimtlm run exited {sim.returncode}: {sim.stderr.strip()}")
            failed.append(name)
            continue
        expected, produced = outputs_in(ort_out), outputs_in(sim_out)

        def matches(a, b):
            if a.dtype != b.dtype or a.shape != b.shape:
                return False
            if np.issubdtype(a.dtype, np.floating):
                return bool(np.all(np.abs(a - b) <= 1e-5 * np.maximum(np.abs(a), 1e-6)))
            return a.tobytes() == b.tobytes()

        same = len(expected) == len(produced) and all(matches(a, b) for a, b in zip(expected, produced))
        if not same:
            differing = sum(int(np.count_nonzero(a != b)) for a, b in zip(expected, produced)
                            if a.shape == b.shape)
            print(f"{name}: the platform's outputs differ from onnxruntime's ({differing} values)")
            failed.append(name)
        else:
            print(f"{name}: matches onnxruntime")
    print(f"{len(models) - len(failed)} of {len(models)} models match onnxruntime")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
