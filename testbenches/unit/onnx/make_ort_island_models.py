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
        self.opset = 13

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
        outputs = output if isinstance(output, list) else [output]
        graph = helper.make_graph(self.nodes, os.path.basename(directory), self.inputs,
                                  [helper.make_tensor_value_info(o, ONNX_TYPE[self.dtype], None)
                                   for o in outputs],
                                  self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        if self.opset <= 17:  # Debian's ONNX 1.12 knows opsets up to 17 (cimtlm's importer
            model = onnx.shape_inference.infer_shapes(model, strict_mode=True)  # checks newer)
            onnx.checker.check_model(model)
        else:
            model.ir_version = 9  # opsets 18..20 need IR 9 (onnxruntime checks)
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

    made.update(lookup_island_cases(dtype, rng))
    made.update(general_island_cases(dtype, rng))
    made.update(activation_matmul_cases(dtype))
    made.update(opset20_cases(dtype))

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


def activation_matmul_cases(dtype):
    """Attention's products of two activations (Q.K^T, then softmax.V), which run on the
    arithmetic unit: as QLinearMatMul and MatMulInteger, and (uint8, which onnxruntime fuses)
    as DequantizeLinear -> MatMul -> QuantizeLinear. A generator of their own keeps the other
    cases' data as they were."""
    rng = np.random.default_rng(20261205)
    t = np.dtype(dtype).name
    zx, zb, zy = zps(dtype)
    made = {}
    c = Case(dtype)
    q, k, v = c.input([2, 4, 6, 8], rng), c.input([2, 4, 8, 6], rng), c.input([2, 4, 6, 8], rng)
    scores = c.node("QLinearMatMul", [q, c.scale(0.05), c.zero_point(zx), k, c.scale(0.04),
                                      c.zero_point(zb), c.scale(0.3), c.zero_point(zy)])
    out = c.node("QLinearMatMul", [scores, c.scale(0.3), c.zero_point(zy), v, c.scale(0.03),
                                   c.zero_point(zx), c.scale(0.5), c.zero_point(zy)])
    made[f"qlinear_matmul_activations_{t}"] = (c, out)
    # The same attention as onnxruntime's quantizer writes it with MatMulInteger: int32 products
    # of two activations, dequantized by Cast and Mul with the product of the scales, the
    # softmax in float between them.
    c = Case(dtype)
    q, k, v = c.input([2, 4, 6, 8], rng), c.input([2, 4, 8, 6], rng), c.input([2, 4, 6, 8], rng)
    scores = c.node("MatMulInteger", [q, k, c.zero_point(zx), c.zero_point(zb)])
    scores = c.node("Cast", [scores], to=TensorProto.FLOAT)
    scores = c.node("Mul", [scores, scalar(c, 0.05 * 0.04 / np.sqrt(8.0))])
    probabilities = c.q(c.node("Softmax", [scores], axis=-1), 1.0 / 255.0,
                        type_min(dtype) if dtype == np.int8 else 0)
    context = c.node("MatMulInteger", [probabilities, v,
                                       c.zero_point(type_min(dtype) if dtype == np.int8 else 0),
                                       c.zero_point(zx)])
    context = c.node("Cast", [context], to=TensorProto.FLOAT)
    context = c.node("Mul", [context, scalar(c, 0.03 / 255.0)])
    made[f"matmul_integer_activations_{t}"] = (c, c.q(context, 0.02, zy))
    if dtype == np.uint8:
        c = Case(dtype)
        a = c.dq(c.input([3, 5, 16], rng), 0.05, zx)
        b = c.dq(c.input([3, 16, 7], rng), 0.04, zb)
        made[f"matmul_activations_{t}"] = (c, c.q(c.node("MatMul", [a, b]), 0.4, zy))
    return made


def opset20_cases(dtype):
    """Definitions newer than ONNX 1.12 that cimtlm reads: Gelu-20 (erf and tanh) as a table
    island and in a general float island, ReduceMean-18 with the axes as an input. A generator
    of their own keeps the other cases' data as they were."""
    rng = np.random.default_rng(20261206)
    t = np.dtype(dtype).name
    zx, zb, zy = zps(dtype)
    c = Case(dtype)
    c.opset = 20
    outputs = []
    for approximate in ("none", "tanh"):
        x = c.dq(c.input([1, 4, 8, 8], rng, all_codes=True), 0.03, zx)
        outputs.append(c.q(c.node("Gelu", [x], approximate=approximate), 0.02, zy))
    a = c.dq(c.input([2, 6, 16], rng), 0.05, zx)
    b = c.dq(c.input([2, 6, 16], rng), 0.04, zb)
    outputs.append(c.q(c.node("Gelu", [c.node("Mul", [a, b])]), 0.03, zy))
    x = c.dq(c.input([2, 6, 16], rng), 0.05, zx)
    mean = c.node("ReduceMean", [x, c.const(np.array([-1], np.int64), "axes")], keepdims=1)
    outputs.append(c.q(c.node("Sub", [x, mean]), 0.04, zy))
    return {f"opset20_islands_{t}": (c, outputs)}


def scalar(c, value):
    return c.const(np.array(value, F32))


def lookup_island_cases(dtype, rng):
    """Element-wise islands of one input, lowered to 256-entry QLookups (they run on the
    platform), and Sub of two activations (QAdd): one model with an output per island, so that
    the platform test runs them in one simulation."""
    t = np.dtype(dtype).name
    za, zb, zy = zps(dtype)
    c = Case(dtype)
    outputs = []

    def positive(x):  # |x| + 0.25: keeps Sqrt, Log and Reciprocal finite
        return c.node("Add", [c.node("Abs", [x]), scalar(c, 0.25)])

    def hard_sigmoid(x):  # MobileNetV3's hard-sigmoid as exporters write it: Clip(x + 3, 0, 6) / 6
        return c.node("Div", [c.node("Clip", [c.node("Add", [x, scalar(c, 3.0)]), scalar(c, 0.0),
                                              scalar(c, 6.0)]), scalar(c, 6.0)])

    builds = [
        lambda x: c.node("Mul", [x, hard_sigmoid(x)]),  # hard-swish x * Clip(x + 3, 0, 6) / 6
        hard_sigmoid,
        # GELU as torch exports it at opset 13..17: x * 0.5 * (1 + erf(x / sqrt(2)))
        lambda x: c.node("Mul", [c.node("Mul", [x, scalar(c, 0.5)]), c.node(
            "Add", [c.node("Erf", [c.node("Div", [x, scalar(c, 1.4142135381698608)])]), scalar(c, 1.0)])]),
        lambda x: c.node("Sub", [scalar(c, 0.75), x]),
        lambda x: c.node("Pow", [x, scalar(c, 2.0)]),
        lambda x: c.node("Pow", [positive(x), scalar(c, 0.5)]),
        lambda x: c.node("Sqrt", [positive(x)]),
        lambda x: c.node("Reciprocal", [positive(x)]),
        lambda x: c.node("Log", [positive(x)]),
        lambda x: c.node("Exp", [c.node("Mul", [x, scalar(c, 0.5)])]),
        lambda x: c.node("Erf", [x]),
        lambda x: c.node("Tanh", [x]),
        lambda x: c.node("LeakyRelu", [x], alpha=0.1),
        lambda x: c.node("PRelu", [x, scalar(c, 0.25)]),
        lambda x: c.node("Max", [c.node("Min", [x, scalar(c, 1.5)]), scalar(c, -0.5)]),
        lambda x: c.node("Neg", [c.node("Abs", [x])]),
        lambda x: c.node("Unsqueeze", [c.node("Squeeze", [x, c.const(np.array([0], np.int64))]),
                                       c.const(np.array([0], np.int64))]),
    ]
    for build in builds:
        x = c.dq(c.input([1, 4, 8, 8], rng, all_codes=True), 0.05, za)
        outputs.append(c.q(build(x), 0.03, zy))
    for b_shape, act in (([1, 8, 12, 12], None), ([1, 8, 1, 1], "Relu")):
        a = c.dq(c.input([1, 8, 12, 12], rng), 0.05, za)
        b = c.dq(c.input(b_shape, rng), 0.03, zb)
        f = c.node("Sub", [a, b])
        outputs.append(c.q(c.node("Relu", [f]) if act else f, 0.07, zy))
    return {f"lookup_islands_{t}": (c, outputs)}


def general_island_cases(dtype, rng):
    """Islands no fused integer op computes, kept as float ops between DQ and Q: one model with
    an output per island."""
    t = np.dtype(dtype).name
    zx, zb, zy = zps(dtype)
    c = Case(dtype)
    c.opset = 17  # LayerNormalization-17
    outputs = []

    def one_input(build, shape, x_scale=0.05, y_scale=0.03):
        x = c.dq(c.input(list(shape), rng), x_scale, zx)
        outputs.append(c.q(build(x), y_scale, zy))

    hidden = 16
    gamma = c.const(rng.uniform(0.5, 1.5, size=hidden).astype(F32))
    beta = c.const(rng.uniform(-0.2, 0.2, size=hidden).astype(F32))
    one_input(lambda x: c.node("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-5),
              (2, 5, hidden), 0.05, 0.02)

    def layernorm_primitive(x):  # what torch exports for nn.LayerNorm below opset 17
        mean = c.node("ReduceMean", [x], axes=[-1])
        centred = c.node("Sub", [x, mean])
        variance = c.node("ReduceMean", [c.node("Pow", [centred, scalar(c, 2.0)])], axes=[-1])
        deviation = c.node("Sqrt", [c.node("Add", [variance, scalar(c, 1e-5)])])
        return c.node("Add", [c.node("Mul", [c.node("Div", [centred, deviation]), gamma]), beta])

    one_input(layernorm_primitive, (2, 5, hidden), 0.05, 0.02)
    for op in ("ReduceMean", "ReduceMax", "ReduceMin"):
        one_input(lambda x, o=op: c.node(o, [x], axes=[-1], keepdims=1), (2, 6, 10))
    # Over the last axis: onnxruntime sums a middle axis in Eigen's tree order (not reproduced)
    one_input(lambda x: c.node("ReduceSum", [x, c.const(np.array([-1], np.int64))], keepdims=0),
              (2, 6, 10), 0.05, 0.1)
    # attention scores: softmax(x / sqrt(d))
    one_input(lambda x: c.node("Softmax", [c.node("Div", [x, scalar(c, 2.0)])], axis=-1),
              (2, 4, 6, 6), 0.1, 1 / 256)
    mask = c.const(rng.integers(0, 2, size=(1, 1, 6, 6)).astype(bool))
    one_input(lambda x: c.node("Where", [mask, x, c.node("Neg", [x])]), (2, 4, 6, 6))
    one_input(lambda x: c.node("Slice", [x, c.const(np.array([1, 0], np.int64)),
                                         c.const(np.array([7, 6], np.int64)),
                                         c.const(np.array([2, 3], np.int64)),
                                         c.const(np.array([2, 3], np.int64))]), (1, 4, 8, 8))
    one_input(lambda x: c.node("Pad", [x, c.const(np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))],
                               mode="reflect"), (1, 4, 8, 8))
    for mode in ("nearest", "linear"):
        one_input(lambda x, m=mode: c.node("Resize", [x, "", c.const(np.array([1, 1, 2, 2], F32))], mode=m),
                  (1, 4, 5, 5))
    one_input(lambda x: c.node("Expand", [x, c.const(np.array([2, 4, 3, 3], np.int64))]), (1, 4, 1, 3))
    # two activations
    a = c.dq(c.input([1, 4, 6, 6], rng), 0.05, zx)
    b = c.dq(c.input([1, 4, 6, 6], rng), 0.03, zb)
    divided = c.node("Div", [a, c.node("Add", [c.node("Abs", [b]), scalar(c, 0.5)])])
    outputs.append(c.q(c.node("Max", [divided, a]), 0.05, zy))
    x = c.dq(c.input([1, 6, 8], rng), 0.05, zx)
    first, second = c.name("split_"), c.name("split_")
    c.nodes.append(helper.make_node("Split", [x, c.const(np.array([2, 4], np.int64))], [first, second], axis=1))
    outputs.append(c.q(c.node("Mul", [c.node("ReduceSum", [first, c.const(np.array([1], np.int64))]),
                                      c.node("ReduceMean", [second], axes=[1])]), 0.05, zy))
    # a float MatMul with float weights left in an island
    x = c.dq(c.input([3, 8], rng), 0.05, zx)
    weights = c.const((rng.integers(-8, 9, size=(8, 5)) / 8.0).astype(F32))
    outputs.append(c.q(c.node("MatMul", [x, weights]), 0.1, zy))
    return {f"float_islands_{t}": (c, outputs)}


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
