#!/usr/bin/python3
"""Where does cimtlm first differ from onnxruntime? Layer by layer on a quantized model.

  /usr/bin/python3 scripts/ort/first_difference.py MODEL.onnx INPUT.pb DRIVER WORK

Every QuantizeLinear output (an 8-bit tensor between layers) becomes a graph output; onnxruntime
(scripts/ort/run_ort.js, its default optimizations) computes them all, and DRIVER (the build's
onnx_conformance executable) runs cimtlm's importer, lowering and reference executor on the same
model and input. Only 8-bit values are exposed, so onnxruntime still fuses every
DequantizeLinear -> op -> QuantizeLinear group as it does for the model as written. The report
lists, in graph order, each exposed tensor that differs (count of differing values and the
largest difference in steps), so the first one names the layer where the arithmetic parts.
Exit status 0 when nothing differs, 1 otherwise.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    model_path, input_path, driver, work = sys.argv[1:]
    shutil.rmtree(work, ignore_errors=True)
    data = os.path.join(work, "test_data_set_0")
    os.makedirs(data)
    model = onnx.load(model_path)
    existing = {o.name for o in model.graph.output}
    exposed = [n.output[0] for n in model.graph.node
               if n.op_type == "QuantizeLinear" and n.output[0] not in existing]
    for name in exposed:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    onnx.save(model, os.path.join(work, "model.onnx"))
    shutil.copy(input_path, os.path.join(data, "input_0.pb"))
    ort = subprocess.run(["node", os.path.join(HERE, "run_ort.js"), os.path.join(work, "model.onnx"),
                          os.path.join(data, "input_0.pb"), "--output-dir", data],
                         capture_output=True, text=True)
    if ort.returncode != 0:
        print("onnxruntime failed:", ort.stderr.strip(), file=sys.stderr)
        return 2
    # The driver needs the output types in the model: take them from onnxruntime's results.
    outputs = [o.name for o in model.graph.output]
    for k, name in enumerate(outputs):
        tensor = onnx.TensorProto()
        with open(os.path.join(data, f"output_{k}.pb"), "rb") as handle:
            tensor.ParseFromString(handle.read())
        value = model.graph.output[k]
        value.type.tensor_type.elem_type = tensor.data_type
    onnx.save(model, os.path.join(work, "model.onnx"))
    run = subprocess.run([driver, work, "--lower"], capture_output=True, text=True)
    print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr.strip())
    if run.returncode == 2:
        print(run.stdout + run.stderr, file=sys.stderr)
        return 2
    # The driver prints at most 8 differing values per output; count them all here from its
    # output files instead: rerun is not needed, the first lines name the tensors.
    differing = []
    for line in run.stdout.splitlines():
        match = re.match(r"test_data_set_0/(.+)\[(\d+)\]: got (\S+), expected (\S+)", line)
        if match:
            name = match.group(1)
            step = abs(float(match.group(3)) - float(match.group(4)))
            if not differing or differing[-1][0] != name:
                differing.append([name, 0, 0.0])
            differing[-1][1] += 1
            differing[-1][2] = max(differing[-1][2], step)
    order = {name: index for index, name in enumerate(outputs)}
    differing.sort(key=lambda item: order.get(item[0], len(order)))
    producers = {o: n for n in model.graph.node for o in n.output}
    for name, count, step in differing:
        node = producers.get(name)
        source = producers.get(node.input[0]) if node is not None else None
        print(f"{name}: {count}{'+' if count == 8 else ''} values differ (up to {step:g} steps); "
              f"quantizes the output of {source.op_type + ' ' + source.name if source else '?'}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
