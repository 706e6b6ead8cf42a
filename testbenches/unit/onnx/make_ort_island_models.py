#!/usr/bin/python3
"""Writes small QDQ / QLinear ONNX models with float islands, in the layout of ONNX's node tests:

    OUT/<case>/model.onnx
    OUT/<case>/test_data_set_0/input_<k>.pb     (seeded random 8-bit inputs)

run_ort_islands.cmake runs each through onnxruntime (scripts/ort/run_ort.js) to add the expected
output_<k>.pb, then through cimtlm's importer, lower_quantized and reference executor, which must
reproduce onnxruntime's integers exactly.

Usage: /usr/bin/python3 make_ort_island_models.py OUT
"""
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper as nh
import onnx.shape_inference
from onnx import TensorProto, helper

F32 = np.float32
ONNX_TYPE = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}


class Case:
    def __init__(self, dtype):
        self.dtype = dtype
        self.nodes, self.inits, self.inputs, self.feeds = [], [], [], []
        self.count = 0

    def name(self, base):
        self.count += 1
        return f"{base}{self.count}"

    def scale(self, value):
        n = self.name("scale")
        self.inits.append(nh.from_array(np.array(value, F32), n))
        return n

    def zero_point(self, value, dtype=None):
        n = self.name("zp")
        self.inits.append(nh.from_array(np.array(value, dtype or self.dtype), n))
        return n

    def const(self, array, base="const"):
        n = self.name(base)
        self.inits.append(nh.from_array(np.asarray(array), n))
        return n

    def input(self, shape, rng, all_codes=False, name=None):
        n = name or self.name("x")
        info = np.iinfo(self.dtype)
        if all_codes:
            data = np.resize(np.arange(info.min, info.max + 1), shape).astype(self.dtype)
        else:
            data = rng.integers(info.min, info.max + 1, size=shape).astype(self.dtype)
        self.inputs.append(helper.make_tensor_value_info(n, ONNX_TYPE[self.dtype], shape))
        self.feeds.append(data)
        return n

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower() + "_")
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def dq(self, x, scale, zp, dtype=None):
        return self.node("DequantizeLinear", [x, self.scale(scale), self.zero_point(zp, dtype)])

    def q(self, f, scale, zp):
        return self.node("QuantizeLinear", [f, self.scale(scale), self.zero_point(zp)])

    def save(self, directory, output):
        graph = helper.make_graph(self.nodes, os.path.basename(directory), self.inputs,
                                  [helper.make_tensor_value_info(output, ONNX_TYPE[self.dtype], None)],
                                  self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        onnx.checker.check_model(model)
        os.makedirs(os.path.join(directory, "test_data_set_0"), exist_ok=True)
        onnx.save(model, os.path.join(directory, "model.onnx"))
        for k, (info, data) in enumerate(zip(self.inputs, self.feeds)):
            tensor = nh.from_array(data, info.name)
            with open(os.path.join(directory, "test_data_set_0", f"input_{k}.pb"), "wb") as f:
                f.write(tensor.SerializeToString())


def zps(dtype):
    """Zero points (input a, input b, output) that are not the type's minimum."""
    return (128, 100, 120) if dtype == np.uint8 else (3, -20, 7)


def type_min(dtype):
    return int(np.iinfo(dtype).min)


def binary_case(dtype, rng, op, b_shape, act=None, y_zp=None):
    c = Case(dtype)
    za, zb, zy = zps(dtype)
    zy = zy if y_zp is None else y_zp
    a = c.dq(c.input([1, 8, 12, 12], rng), 0.05, za)
    b = c.dq(c.input(b_shape, rng), 0.03, zb)
    f = c.node(op, [a, b])
    if act == "Relu":
        f = c.node("Relu", [f])
    elif act == "Clip":
        f = c.node("Clip", [f, c.const(np.array(-1.0, F32)), c.const(np.array(2.5, F32))])
    return c, c.q(f, 0.07, zy)


def unary_case(dtype, rng, build, x_scale=0.05, y_scale=0.02, shape=(1, 8, 16, 16), all_codes=True):
    c = Case(dtype)
    zx, _, zy = zps(dtype)
    x = c.dq(c.input(list(shape), rng, all_codes=all_codes), x_scale, zx)
    return c, c.q(build(c, x), y_scale, zy)


def conv_case(dtype, rng, act=None, y_zp=None):
    c = Case(dtype)
    zx, _, zy = zps(dtype)
    zy = zy if y_zp is None else y_zp
    x_scale = 0.02
    w = rng.integers(-127, 128, size=[6, 4, 3, 3]).astype(np.int8)
    w_scales = rng.uniform(0.002, 0.01, size=6).astype(F32)
    bias = rng.integers(-3000, 3000, size=6).astype(np.int32)
    x = c.dq(c.input([1, 4, 11, 11], rng), x_scale, zx)
    wf = c.node("DequantizeLinear", [c.const(w, "w"), c.const(w_scales), c.const(np.zeros(6, np.int8))], axis=0)
    bf = c.node("DequantizeLinear", [c.const(bias, "b"), c.const((F32(x_scale) * w_scales).astype(F32)),
                                     c.const(np.zeros(6, np.int32))], axis=0)
    f = c.node("Conv", [x, wf, bf], pads=[1, 1, 1, 1], strides=[2, 2])
    if act:
        f = c.node(act, [f])
    return c, c.q(f, 0.05, zy)


def gemm_case(dtype, rng):
    c = Case(dtype)
    zx, _, zy = zps(dtype)
    x_scale, w_scale = 0.02, 0.004
    w = rng.integers(-127, 128, size=[10, 32]).astype(np.int8)  # [N, K], transB
    bias = rng.integers(-800, 800, size=10).astype(np.int32)
    x = c.dq(c.input([3, 32], rng), x_scale, zx)
    wf = c.node("DequantizeLinear", [c.const(w, "w"), c.scale(w_scale), c.zero_point(0, np.int8)])
    bf = c.node("DequantizeLinear", [c.const(bias, "b"), c.scale(F32(x_scale) * F32(w_scale)),
                                     c.zero_point(0, np.int32)])
    return c, c.q(c.node("Gemm", [x, wf, bf], transB=1), 0.05, zy)


def matmul_case(dtype, rng):
    c = Case(dtype)
    zx, _, zy = zps(dtype)
    w = rng.integers(-127, 128, size=[24, 9]).astype(np.int8)
    x = c.dq(c.input([2, 5, 24], rng), 0.03, zx)
    wf = c.node("DequantizeLinear", [c.const(w, "w"), c.scale(0.006), c.zero_point(0, np.int8)])
    return c, c.q(c.node("MatMul", [x, wf]), 0.06, zy)


def network_case(dtype, rng):
    """conv -> relu (fused) -> residual add -> hard-swish -> GAP -> gemm -> softmax."""
    c = Case(dtype)
    zmin = type_min(dtype)
    zx, _, zy = zps(dtype)
    x = c.input([1, 4, 10, 10], rng)
    w = rng.integers(-127, 128, size=[4, 4, 3, 3]).astype(np.int8)
    xf = c.dq(x, 0.04, zx)
    wf = c.node("DequantizeLinear", [c.const(w, "w"), c.scale(0.005), c.zero_point(0, np.int8)])
    conv = c.q(c.node("Relu", [c.node("Conv", [xf, wf], pads=[1, 1, 1, 1])]), 0.03, zmin)
    added = c.q(c.node("Add", [c.dq(conv, 0.03, zmin), c.dq(x, 0.04, zx)]), 0.05, zy)
    af = c.dq(added, 0.05, zy)
    swish = c.q(c.node("Mul", [af, c.node("HardSigmoid", [af], alpha=1.0 / 6.0)]), 0.04, zy)
    pooled = c.q(c.node("GlobalAveragePool", [c.dq(swish, 0.04, zy)]), 0.02, zy)
    flat = c.q(c.node("Flatten", [c.dq(pooled, 0.02, zy)]), 0.02, zy)
    wg = rng.integers(-127, 128, size=[4, 6]).astype(np.int8)
    wgf = c.node("DequantizeLinear", [c.const(wg, "wg"), c.scale(0.01), c.zero_point(0, np.int8)])
    logits = c.q(c.node("Gemm", [c.dq(flat, 0.02, zy), wgf]), 0.01, zy)
    probs = c.q(c.node("Softmax", [c.dq(logits, 0.01, zy)], axis=-1), 1.0 / 256.0, zmin)
    return c, probs


def qlinear_case(dtype, rng):
    """QLinearConv -> MaxPool -> Reshape -> QLinearMatMul (uint8 activations, int8 weights)."""
    c = Case(dtype)
    zx, _, zy = zps(dtype)
    x = c.input([1, 3, 8, 8], rng)
    w = rng.integers(-127, 128, size=[5, 3, 3, 3]).astype(np.int8)
    conv = c.node("QLinearConv", [x, c.scale(0.03), c.zero_point(zx), c.const(w, "w"),
                                  c.const(rng.uniform(0.003, 0.009, size=5).astype(F32)),
                                  c.const(np.zeros(5, np.int8)), c.scale(0.04), c.zero_point(zy),
                                  c.const(rng.integers(-500, 500, size=5).astype(np.int32), "b")],
                  pads=[1, 1, 1, 1])
    pooled = c.node("MaxPool", [conv], kernel_shape=[2, 2], strides=[2, 2])
    flat = c.node("Reshape", [pooled, c.const(np.array([1, 80], np.int64), "shape")])
    wm = rng.integers(-127, 128, size=[80, 7]).astype(np.int8)
    out = c.node("QLinearMatMul", [flat, c.scale(0.04), c.zero_point(zy), c.const(wm, "wm"),
                                   c.scale(0.002), c.zero_point(0, np.int8), c.scale(0.05),
                                   c.zero_point(zy)])
    return c, out


def cases(dtype, rng):
    t = np.dtype(dtype).name
    zx, _, zy = zps(dtype)
    zmin = type_min(dtype)
    made = {}
    for op in ("Add", "Mul"):
        for b_shape, tag in (([1, 8, 12, 12], "same"), ([1, 8, 1, 1], "channel"), ([1], "scalar")):
            made[f"{op.lower()}_{tag}_{t}"] = binary_case(dtype, rng, op, b_shape)
        made[f"{op.lower()}_relu_fused_{t}"] = binary_case(dtype, rng, op, [1, 8, 12, 12], "Relu", zmin)
        made[f"{op.lower()}_relu_island_{t}"] = binary_case(dtype, rng, op, [1, 8, 12, 12], "Relu")
        made[f"{op.lower()}_clip_island_{t}"] = binary_case(dtype, rng, op, [1, 8, 12, 12], "Clip")
    pools = {
        "pad1": dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        "pad1_include": dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1),
        "stride2": dict(kernel_shape=[2, 2], strides=[2, 2]),
        "ceil": dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        "ceil_include": dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                             count_include_pad=1),
        "whole": dict(kernel_shape=[16, 16]),
    }
    for tag, attrs in pools.items():
        made[f"averagepool_{tag}_{t}"] = unary_case(
            dtype, rng, lambda c, x, a=attrs: c.node("AveragePool", [x], **a), 0.05, 0.045,
            all_codes=False)
    made[f"globalaveragepool_{t}"] = unary_case(
        dtype, rng, lambda c, x: c.node("GlobalAveragePool", [x]), 0.05, 0.045,
        shape=(2, 64, 7, 7), all_codes=False)
    made[f"sigmoid_{t}"] = unary_case(dtype, rng, lambda c, x: c.node("Sigmoid", [x]), 0.05, 1 / 255)
    made[f"hardsigmoid_{t}"] = unary_case(dtype, rng, lambda c, x: c.node("HardSigmoid", [x]), 0.05, 1 / 255)
    made[f"hardswish_{t}"] = unary_case(
        dtype, rng, lambda c, x: c.node("Mul", [x, c.node("HardSigmoid", [x], alpha=1.0 / 6.0)]))
    made[f"silu_{t}"] = unary_case(dtype, rng, lambda c, x: c.node("Mul", [x, c.node("Sigmoid", [x])]))
    made[f"relu_{t}"] = unary_case(dtype, rng, lambda c, x: c.node("Relu", [x]))
    made[f"clip_{t}"] = unary_case(
        dtype, rng, lambda c, x: c.node("Clip", [x, c.const(np.array(-0.5, F32)), c.const(np.array(1.5, F32))]))
    for axis in (-1, 1):
        made[f"softmax_axis{axis}_{t}"] = unary_case(
            dtype, rng, lambda c, x, a=axis: c.node("Softmax", [x], axis=a), 0.1, 1 / 256,
            shape=(2, 10, 6), all_codes=False)
    made[f"maxpool_requantize_{t}"] = unary_case(
        dtype, rng, lambda c, x: c.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2]), 0.05, 0.07)
    made[f"transpose_requantize_{t}"] = unary_case(
        dtype, rng, lambda c, x: c.node("Transpose", [x], perm=[0, 2, 3, 1]), 0.05, 0.03)
    made[f"requantize_{t}"] = unary_case(dtype, rng, lambda c, x: x, 0.05, 0.031)

    c = Case(dtype)
    a = c.dq(c.input([1, 4, 6, 6], rng), 0.05, zx)
    b = c.dq(c.input([1, 3, 6, 6], rng), 0.03, zy)
    made[f"concat_{t}"] = (c, c.q(c.node("Concat", [a, b], axis=1), 0.07, zy))

    if dtype == np.uint8:
        # onnxruntime 1.22 on x86-64 fuses these only for uint8 activations (int8 activations
        # keep a float Conv/MatMul between DequantizeLinear and QuantizeLinear).
        made[f"conv_{t}"] = conv_case(dtype, rng)
        made[f"conv_relu_fused_{t}"] = conv_case(dtype, rng, "Relu", zmin)
        made[f"gemm_{t}"] = gemm_case(dtype, rng)
        made[f"matmul_{t}"] = matmul_case(dtype, rng)
        made[f"network_{t}"] = network_case(dtype, rng)
        made[f"qlinear_{t}"] = qlinear_case(dtype, rng)
    return made


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    rng = np.random.default_rng(20240611)
    names = []
    for dtype in (np.uint8, np.int8):
        for name, (case, output) in cases(dtype, rng).items():
            case.save(os.path.join(out, name), output)
            names.append(name)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"{len(names)} cases in {out}")


if __name__ == "__main__":
    main()
