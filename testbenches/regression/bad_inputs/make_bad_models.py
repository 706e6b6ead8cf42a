#!/usr/bin/env python3
"""Writes the malformed ONNX models and tensor files of the bad-input corpus (issue 16).

Run from anywhere with Debian's python3 (numpy, onnx); the files are committed, so this only
documents how each was made and re-creates them:  /usr/bin/python3 make_bad_models.py
Every model starts from `tiny_qdq()`, a valid 3-op QDQ network cimtlm runs bit-exactly, and
breaks one thing.
"""
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")
DATA = os.path.join(HERE, "data")


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def tiny_qdq(input_shape=(1, 1, 4, 4), conv_strides=(1, 1), act_scale=0.02):
    """x float[1,1,4,4] -> Q/DQ -> Conv 3x3 (2 channels) -> Relu -> Q/DQ -> Flatten -> Gemm(4)
    -> Q/DQ -> y float[1,4]."""
    rng = np.random.default_rng(1)
    inits = [
        init("x_scale", np.float32(0.02)), init("x_zp", np.uint8(0)),
        init("w1_q", rng.integers(-8, 8, (2, 1, 3, 3), dtype=np.int8)),
        init("w1_scale", np.full(2, 0.01, np.float32)), init("w1_zp", np.zeros(2, np.int8)),
        init("b1_q", np.array([3, -2], np.int32)),
        init("b1_scale", np.full(2, 0.0002, np.float32)), init("b1_zp", np.zeros(2, np.int32)),
        init("a1_scale", np.float32(act_scale)), init("a1_zp", np.uint8(0)),
        init("w2_q", rng.integers(-8, 8, (4, 32), dtype=np.int8)),
        init("w2_scale", np.full(4, 0.01, np.float32)), init("w2_zp", np.zeros(4, np.int8)),
        init("b2_q", np.array([1, 2, 3, 4], np.int32)),
        init("b2_scale", np.full(4, 0.0002, np.float32)), init("b2_zp", np.zeros(4, np.int32)),
        init("f_scale", np.float32(0.02)), init("f_zp", np.uint8(0)),
        init("y_scale", np.float32(0.05)), init("y_zp", np.uint8(128)),
    ]
    dq = lambda q, s, z, out, axis=None: helper.make_node(
        "DequantizeLinear", [q, s, z], [out], **({"axis": axis} if axis is not None else {}))
    nodes = [
        dq("w1_q", "w1_scale", "w1_zp", "w1", 0), dq("b1_q", "b1_scale", "b1_zp", "b1", 0),
        dq("w2_q", "w2_scale", "w2_zp", "w2", 0), dq("b2_q", "b2_scale", "b2_zp", "b2", 0),
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"]),
        dq("xq", "x_scale", "x_zp", "xd"),
        helper.make_node("Conv", ["xd", "w1", "b1"], ["c1"], name="conv1", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=list(conv_strides)),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("QuantizeLinear", ["r1", "a1_scale", "a1_zp"], ["r1q"]),
        dq("r1q", "a1_scale", "a1_zp", "r1d"),
        helper.make_node("Flatten", ["r1d"], ["f"], name="flatten", axis=1),
        helper.make_node("QuantizeLinear", ["f", "f_scale", "f_zp"], ["fq"]),
        dq("fq", "f_scale", "f_zp", "fd"),
        helper.make_node("Gemm", ["fd", "w2", "b2"], ["g"], name="fc", transB=1),
        helper.make_node("QuantizeLinear", ["g", "y_scale", "y_zp"], ["yq"]),
        dq("yq", "y_scale", "y_zp", "y"),
    ]
    graph = helper.make_graph(
        nodes, "tiny_qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def find_init(model, name):
    return next(t for t in model.graph.initializer if t.name == name)


def save(model, name):
    # No onnx.checker: these models are wrong on purpose.
    with open(os.path.join(MODELS, name), "wb") as out:
        out.write(model.SerializeToString())


def npy(name, header, payload=b"", version=1):
    """A .npy file with a hand-written header dict (and `payload` bytes of data)."""
    text = header.encode("latin1")
    pad = (64 - (10 + len(text) + 1) % 64) % 64
    text += b" " * pad + b"\n"
    if version == 1:
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text))
    else:
        head = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(text))
    with open(os.path.join(DATA, name), "wb") as out:
        out.write(head + text + payload)


def pb(name, dims, data_type=TensorProto.FLOAT, raw=b""):
    tensor = TensorProto()
    tensor.name = "x"
    tensor.data_type = data_type
    tensor.dims.extend(dims)
    tensor.raw_data = raw
    with open(os.path.join(DATA, name), "wb") as out:
        out.write(tensor.SerializeToString())


def main():
    os.makedirs(MODELS, exist_ok=True)
    os.makedirs(DATA, exist_ok=True)
    save(tiny_qdq(), "tiny_qdq.onnx")  # the valid base (a control case: exit 0)

    save(tiny_qdq(input_shape=(1, 1, 4, 1 << 40)), "input_dim_2e40.onnx")
    save(tiny_qdq(input_shape=(1, 1, 4, 0)), "input_dim_0.onnx")
    model = tiny_qdq()
    model.graph.input[0].type.tensor_type.shape.dim[3].dim_param = "width"
    save(model, "input_dim_symbolic.onnx")
    model = tiny_qdq()
    model.graph.input[0].type.tensor_type.shape.dim[3].dim_value = -1
    save(model, "input_dim_negative.onnx")

    model = tiny_qdq()
    find_init(model, "w2_q").dims[:] = [1 << 40, 32]  # dims disagree with 128 bytes of data
    save(model, "initializer_dim_2e40.onnx")
    model = tiny_qdq()
    find_init(model, "w2_q").dims[:] = [1 << 20, 1 << 20]
    save(model, "initializer_dims_vs_data.onnx")
    model = tiny_qdq()
    find_init(model, "w2_q").dims[:] = [1 << 32, 1 << 32, 1 << 32]  # product overflows int64
    save(model, "initializer_dims_overflow.onnx")
    model = tiny_qdq()
    find_init(model, "w2_q").dims[:] = [4, -32]
    save(model, "initializer_dim_negative.onnx")

    save(tiny_qdq(conv_strides=(0, 0)), "conv_stride_0.onnx")
    save(tiny_qdq(conv_strides=(-1, 1)), "conv_stride_negative.onnx")
    model = tiny_qdq()
    conv = next(n for n in model.graph.node if n.name == "conv1")
    for attribute in conv.attribute:
        if attribute.name == "kernel_shape":
            attribute.ints[:] = [0, 3]
    save(model, "conv_kernel_0.onnx")
    model = tiny_qdq()
    conv = next(n for n in model.graph.node if n.name == "conv1")
    conv.attribute.append(helper.make_attribute("dilations", [0, 1]))
    save(model, "conv_dilation_0.onnx")
    model = tiny_qdq()
    conv = next(n for n in model.graph.node if n.name == "conv1")
    conv.attribute.append(helper.make_attribute("group", 0))
    save(model, "conv_group_0.onnx")

    save(tiny_qdq(act_scale=0.0), "scale_zero.onnx")
    save(tiny_qdq(act_scale=float("nan")), "scale_nan.onnx")
    save(tiny_qdq(act_scale=float("inf")), "scale_inf.onnx")
    save(tiny_qdq(act_scale=-0.02), "scale_negative.onnx")

    model = tiny_qdq()
    del model.graph.output[:]
    save(model, "no_outputs.onnx")
    model = tiny_qdq()
    model.graph.output[0].name = "nowhere"
    save(model, "output_not_produced.onnx")
    model = tiny_qdq()
    model.graph.node[6].input[0] = "missing_value"
    save(model, "dangling_input.onnx")
    model = tiny_qdq()
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", 99))
    save(model, "opset_99.onnx")
    model = tiny_qdq()
    model.graph.node[6].op_type = "ConvFancy"
    save(model, "unknown_op.onnx")
    model = tiny_qdq()
    find_init(model, "w2_q").raw_data = find_init(model, "w2_q").raw_data[:100]
    save(model, "initializer_truncated.onnx")
    with open(os.path.join(MODELS, "tiny_qdq.onnx"), "rb") as src:
        whole = src.read()
    with open(os.path.join(MODELS, "truncated.onnx"), "wb") as out:
        out.write(whole[: len(whole) // 2])
    with open(os.path.join(MODELS, "empty.onnx"), "wb") as out:
        pass
    with open(os.path.join(MODELS, "text.onnx"), "w") as out:
        out.write("this is not a protobuf\n" * 4)

    # Tensor files for --input x=FILE (the tiny model's input is float32 [1,1,4,4]).
    good = np.linspace(0, 1, 16, dtype=np.float32).reshape(1, 1, 4, 4)
    np.save(os.path.join(DATA, "good_input.npy"), good)
    npy("huge_dims.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }")
    npy("dims_overflow.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }")
    npy("stoll_overflow.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (123456789012345678901234567890,), }")
    npy("negative_dim.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 16), }")
    npy("bad_shape_text.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }")
    npy("short_data.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 4, 4), }", b"\0" * 12)
    npy("big_endian.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 1, 4, 4), }", b"\0" * 64)
    npy("fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1, 4, 4), }", b"\0" * 64)
    npy("object_dtype.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (1, 1, 4, 4), }", b"\0" * 64)
    npy("no_shape.npy", "{'descr': '<f4', 'fortran_order': False, }", b"\0" * 64)
    npy("header_too_long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 4, 4), }")
    with open(os.path.join(DATA, "header_too_long.npy"), "r+b") as out:  # claims a 4 GiB header
        out.seek(6)
        out.write(b"\x02\x00\xff\xff\xff\xff")
    npy("wrong_shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 16), }", b"\0" * 64)
    npy("wrong_dtype.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 4, 4), }", b"\0" * 16)
    with open(os.path.join(DATA, "bad_magic.npy"), "wb") as out:
        out.write(b"NUMPY but not really" * 4)
    pb("huge_dims.pb", [1 << 20, 1 << 20])
    pb("dims_overflow.pb", [1 << 32, 1 << 32, 1 << 32])
    pb("dims_vs_data.pb", [1000, 1000], raw=b"\0" * 64)
    pb("negative_dim.pb", [-1, 16], raw=b"\0" * 64)
    pb("string_type.pb", [1, 1, 4, 4], data_type=TensorProto.STRING)
    with open(os.path.join(DATA, "garbage.pb"), "wb") as out:
        out.write(b"\xff" * 32)


if __name__ == "__main__":
    main()
