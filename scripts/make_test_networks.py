#!/usr/bin/python3
"""Writes the quantized test networks with parallel branches, reproducibly:

  configs/networks/residual_cnn.onnx   a residual CNN (identity and projection shortcuts)
  configs/networks/inception_cnn.onnx  an inception-like CNN (1x1, 3x3, double 3x3 and
                                       pool + 1x1 branches joined by a Concat)

and a sample input for each (<name>_input.npy, float32 1x3x16x16).

The weights are seeded random (He-normal): the networks exist to exercise the toolchain (branch
ordering for peak memory, mapping, bit-exact simulation), where training adds nothing. They are
written in QDQ form, the patterns compiler/graph/lowering.h fuses into cimtlm ops:

  float input -> QuantizeLinear (uint8)
  DQ(x uint8), DQ(w int8, per output channel), DQ(b int32, scale x_scale * w_scale)
      -> Conv [-> Relu] -> Q (uint8)                                    -> QConv
  DQ(a), DQ(b) -> Add -> Relu -> Q                                      -> QAdd
  DQ -> MaxPool -> Q, DQ -> Flatten -> Q (same parameters)              -> the integer op
  DQ... -> Concat -> Q (every branch output shares the Concat's parameters) -> Concat
  DQ -> GlobalAveragePool -> Q                                          -> QGlobalAveragePool
  DQ(x), DQ(w), DQ(b) -> Gemm (transB) -> Q                              -> QGemm
  DQ -> float output

Activation ranges come from running the float network (numpy) on seeded random inputs:
Relu outputs get zero point 0 and scale max / 255 (the Relu then becomes the clamp of the fused
op), other outputs an asymmetric uint8 range that contains 0.

Usage: /usr/bin/python3 scripts/make_test_networks.py [--output-dir configs/networks] [--seed 7]
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SHAPE = (1, 3, 16, 16)
CALIBRATION_SAMPLES = 32


# ---- float reference (numpy) ---------------------------------------------------------------

def conv2d(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    y = np.einsum("nchwij,kchw->nkij", cols, w.astype(np.float64))
    return y + b.reshape(1, k, 1, 1)


def maxpool(x, kernel, stride, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    oh = (h + 2 * pad - kernel) // stride + 1
    ow = (w + 2 * pad - kernel) // stride + 1
    y = np.full((n, c, oh, ow), -np.inf)
    for i in range(kernel):
        for j in range(kernel):
            y = np.maximum(y, xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride])
    return y


def relu(x):
    return np.maximum(x, 0.0)


# ---- network description -------------------------------------------------------------------

class Network:
    """A float network as a list of ops over named tensors, evaluated by numpy and written as QDQ
    ONNX with the activation ranges seen on calibration data."""

    def __init__(self, name, rng):
        self.name = name
        self.rng = rng
        self.ops = []  # (kind, inputs, output, params)
        self.shared_params = {}  # tensor -> tensor whose quantization parameters it uses

    def conv(self, name, x, in_ch, out_ch, kernel, stride=1, pad=None, relu_after=True):
        pad = kernel // 2 if pad is None else pad
        fan_in = in_ch * kernel * kernel
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), (out_ch, in_ch, kernel, kernel))
        b = self.rng.normal(0.0, 0.05, out_ch)
        self.ops.append(("conv", [x], name, dict(w=w, b=b, stride=stride, pad=pad, relu=relu_after)))
        return name

    def add_relu(self, name, a, b):
        self.ops.append(("add_relu", [a, b], name, {}))
        return name

    def maxpool(self, name, x, kernel, stride, pad):
        self.ops.append(("maxpool", [x], name, dict(kernel=kernel, stride=stride, pad=pad)))
        self.shared_params[name] = x
        return name

    def concat(self, name, inputs):
        self.ops.append(("concat", list(inputs), name, {}))
        for x in inputs:
            self.shared_params[x] = name
        return name

    def global_avgpool(self, name, x):
        self.ops.append(("gap", [x], name, {}))
        return name

    def flatten(self, name, x):
        self.ops.append(("flatten", [x], name, {}))
        self.shared_params[name] = x
        return name

    def gemm(self, name, x, in_features, out_features):
        w = self.rng.normal(0.0, np.sqrt(1.0 / in_features), (out_features, in_features))
        b = self.rng.normal(0.0, 0.05, out_features)
        self.ops.append(("gemm", [x], name, dict(w=w, b=b)))
        return name

    def run(self, x):
        values = {"input": x}
        for kind, inputs, output, p in self.ops:
            a = [values[i] for i in inputs]
            if kind == "conv":
                y = conv2d(a[0], p["w"], p["b"], p["stride"], p["pad"])
                values[output] = relu(y) if p["relu"] else y
            elif kind == "add_relu":
                values[output] = relu(a[0] + a[1])
            elif kind == "maxpool":
                values[output] = maxpool(a[0], p["kernel"], p["stride"], p["pad"])
            elif kind == "concat":
                values[output] = np.concatenate(a, axis=1)
            elif kind == "gap":
                values[output] = a[0].mean(axis=(2, 3), keepdims=True)
            elif kind == "flatten":
                values[output] = a[0].reshape(a[0].shape[0], -1)
            elif kind == "gemm":
                values[output] = a[0] @ p["w"].T + p["b"]
        return values

    # ---- quantization parameters --------------------------------------------------------

    def calibrate(self, samples):
        lo, hi = {}, {}
        for x in samples:
            for name, value in self.run(x).items():
                lo[name] = min(lo.get(name, 0.0), float(value.min()))
                hi[name] = max(hi.get(name, 0.0), float(value.max()))
        # Tensors that share parameters take the union of their ranges.
        groups = {}
        for name in lo:
            root = name
            while root in self.shared_params:
                root = self.shared_params[root]
            groups.setdefault(root, []).append(name)
        params = {}
        for root, members in groups.items():
            g_lo = min(lo[m] for m in members)
            g_hi = max(hi[m] for m in members)
            # Ranges contain 0 (exactly representable); Relu outputs start at 0: zero point 0.
            g_lo, g_hi = min(g_lo, 0.0), max(g_hi, 1e-3)
            scale = np.float32((g_hi - g_lo) / 255.0)
            zero_point = int(np.clip(np.round(-g_lo / scale), 0, 255))
            for m in members:
                params[m] = (scale, zero_point)
        return params

    # ---- ONNX ---------------------------------------------------------------------------

    def to_onnx(self, params):
        nodes, inits = [], []

        def const(name, array):
            inits.append(numpy_helper.from_array(array, name))
            return name

        def q(value, out, source=None):
            scale, zp = params[value]
            s = const(out + "_scale", np.array(scale, dtype=np.float32))
            z = const(out + "_zero_point", np.array(zp, dtype=np.uint8))
            nodes.append(helper.make_node("QuantizeLinear", [source or value + "_f", s, z], [out],
                                          name=out + "_Q"))
            return out

        def dq(quantized, value, consumer):
            scale, zp = params[value]
            s = const(f"{consumer}_{value}_dq_scale", np.array(scale, dtype=np.float32))
            z = const(f"{consumer}_{value}_dq_zero_point", np.array(zp, dtype=np.uint8))
            out = f"{consumer}_{value}_dq"
            nodes.append(helper.make_node("DequantizeLinear", [quantized, s, z], [out], name=out))
            return out

        def weights(name, w, b, x_scale):
            w_scale = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(axis=1), 1e-8) / 127.0
            w_scale = w_scale.astype(np.float32)
            shape = (-1,) + (1,) * (w.ndim - 1)
            w_int = np.clip(np.round(w / w_scale.reshape(shape)), -127, 127).astype(np.int8)
            b_scale = (np.float32(x_scale) * w_scale).astype(np.float32)
            b_int = np.round(b / b_scale.astype(np.float64)).astype(np.int32)
            wq = const(name + "_w", w_int)
            ws = const(name + "_w_scale", w_scale)
            wz = const(name + "_w_zero_point", np.zeros(w.shape[0], dtype=np.int8))
            bq = const(name + "_b", b_int)
            bs = const(name + "_b_scale", b_scale)
            bz = const(name + "_b_zero_point", np.zeros(w.shape[0], dtype=np.int32))
            nodes.append(helper.make_node("DequantizeLinear", [wq, ws, wz], [name + "_w_dq"],
                                          name=name + "_w_dq", axis=0))
            nodes.append(helper.make_node("DequantizeLinear", [bq, bs, bz], [name + "_b_dq"],
                                          name=name + "_b_dq", axis=0))
            return name + "_w_dq", name + "_b_dq"

        # The float input is quantized once; every tensor below is uint8 "<name>_q".
        q("input", "input_q", source="input")
        for kind, inputs, output, p in self.ops:
            if kind == "conv":
                x = inputs[0]
                w, b = weights(output, p["w"], p["b"], params[x][0])
                k = p["w"].shape[2]
                conv_out = output + ("_conv" if p["relu"] else "_f")
                nodes.append(helper.make_node(
                    "Conv", [dq(x + "_q", x, output), w, b], [conv_out], name=output,
                    kernel_shape=[k, k], strides=[p["stride"]] * 2, pads=[p["pad"]] * 4))
                if p["relu"]:
                    nodes.append(helper.make_node("Relu", [conv_out], [output + "_f"], name=output + "_relu"))
            elif kind == "add_relu":
                a, b = inputs
                nodes.append(helper.make_node("Add", [dq(a + "_q", a, output), dq(b + "_q", b, output)],
                                              [output + "_sum"], name=output))
                nodes.append(helper.make_node("Relu", [output + "_sum"], [output + "_f"], name=output + "_relu"))
            elif kind == "maxpool":
                nodes.append(helper.make_node(
                    "MaxPool", [dq(inputs[0] + "_q", inputs[0], output)], [output + "_f"], name=output,
                    kernel_shape=[p["kernel"]] * 2, strides=[p["stride"]] * 2, pads=[p["pad"]] * 4))
            elif kind == "concat":
                nodes.append(helper.make_node("Concat", [dq(i + "_q", i, output) for i in inputs],
                                              [output + "_f"], name=output, axis=1))
            elif kind == "gap":
                nodes.append(helper.make_node("GlobalAveragePool", [dq(inputs[0] + "_q", inputs[0], output)],
                                              [output + "_f"], name=output))
            elif kind == "flatten":
                nodes.append(helper.make_node("Flatten", [dq(inputs[0] + "_q", inputs[0], output)],
                                              [output + "_f"], name=output, axis=1))
            elif kind == "gemm":
                x = inputs[0]
                w, b = weights(output, p["w"], p["b"], params[x][0])
                nodes.append(helper.make_node("Gemm", [dq(x + "_q", x, output), w, b], [output + "_f"],
                                              name=output, transB=1))
            q(output, output + "_q")
        last = self.ops[-1][2]
        scale, zp = params[last]
        nodes.append(helper.make_node(
            "DequantizeLinear",
            [last + "_q", const("logits_scale", np.array(scale, dtype=np.float32)),
             const("logits_zero_point", np.array(zp, dtype=np.uint8))],
            ["logits"], name="logits_dq"))
        graph = helper.make_graph(
            nodes, self.name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(INPUT_SHAPE))],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
            initializer=inits)
        model = helper.make_model(graph, producer_name="cimtlm scripts/make_test_networks.py",
                                  opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 7
        onnx.checker.check_model(model)
        return model


def residual_cnn(rng):
    net = Network("residual_cnn", rng)
    stem = net.conv("stem", "input", 3, 16, 3)                       # 16x16x16
    a = net.conv("block1_conv_a", stem, 16, 16, 3)
    b = net.conv("block1_conv_b", a, 16, 16, 3, relu_after=False)
    block1 = net.add_relu("block1_add", stem, b)                      # identity shortcut
    a = net.conv("block2_conv_a", block1, 16, 32, 3, stride=2)      # 8x8x32
    b = net.conv("block2_conv_b", a, 32, 32, 3, relu_after=False)
    shortcut = net.conv("block2_shortcut", block1, 16, 32, 1, stride=2, pad=0, relu_after=False)
    block2 = net.add_relu("block2_add", b, shortcut)                 # projection shortcut
    pooled = net.global_avgpool("pool", block2)
    flat = net.flatten("flatten", pooled)
    net.gemm("classifier", flat, 32, 10)
    return net


def inception_cnn(rng):
    net = Network("inception_cnn", rng)
    stem = net.conv("stem", "input", 3, 16, 3, stride=2)             # 8x8x16
    b1 = net.conv("branch1x1", stem, 16, 8, 1)
    b2 = net.conv("branch3x3_reduce", stem, 16, 24, 1)
    b2 = net.conv("branch3x3", b2, 24, 8, 3)
    b3 = net.conv("branch5x5_reduce", stem, 16, 16, 1)
    b3 = net.conv("branch5x5_a", b3, 16, 32, 3)                      # double 3x3 = 5x5 field
    b3 = net.conv("branch5x5_b", b3, 32, 8, 3)
    b4 = net.maxpool("branch_pool", stem, 3, 1, 1)
    b4 = net.conv("branch_pool_proj", b4, 16, 8, 1)
    mixed = net.concat("mixed", [b1, b2, b3, b4])                    # 8x8x32
    pooled = net.global_avgpool("pool", mixed)
    flat = net.flatten("flatten", pooled)
    net.gemm("classifier", flat, 32, 10)
    return net


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default=os.path.join(os.path.dirname(__file__), "..", "configs", "networks"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.makedirs(args.output_dir, exist_ok=True)
    for index, build in enumerate([residual_cnn, inception_cnn]):
        rng = np.random.default_rng(args.seed + index)
        net = build(rng)
        samples = [rng.uniform(-1.0, 1.0, INPUT_SHAPE) for _ in range(CALIBRATION_SAMPLES)]
        model = net.to_onnx(net.calibrate(samples))
        path = os.path.join(args.output_dir, net.name + ".onnx")
        onnx.save(model, path)
        sample = rng.uniform(-1.0, 1.0, INPUT_SHAPE).astype(np.float32)
        np.save(os.path.join(args.output_dir, net.name + "_input.npy"), sample)
        print(f"{path}: {len(model.graph.node)} nodes, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
