// onnxruntime's quantized contrib ops (domain "com.microsoft": the "QOperator" format of its
// quantizer, and what its QDQ fusions produce): QLinearAdd, QLinearMul, QLinearAveragePool,
// QLinearGlobalAveragePool, QLinearSigmoid, QLinearLeakyRelu, QLinearConcat, QLinearSoftmax, QGemm.
// Each is exactly one cimtlm op with its constant scales and zero points as attributes (the cimtlm
// kernels were made to match these ops bit for bit); the reference kernel and the lowering both
// go through com_microsoft_as_cimtlm.
#include <cmath>

#include "compiler/graph/kernel_sets.h"
#include "compiler/graph/quantized_math.h"

namespace cimtlm::graph {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

const Tensor& constant_input(const Node& node, const Inputs& in, size_t index, const char* what) {
  if (index >= in.size() || in[index] == nullptr) {
    throw ModelError(node.describe() + ": " + what + " must be a constant");
  }
  return *in[index];
}
float scale_input(const Node& node, const Inputs& in, size_t index, const char* what) {
  return scalar_float(node, constant_input(node, in, index, what), what);
}
// Zero point input (0 when omitted); `present` tells whether the input exists at all.
int64_t zero_point_input(const Node& node, const Inputs& in, size_t index, const char* what) {
  if (!node.has_input(index)) return 0;
  return scalar_int(node, constant_input(node, in, index, what), what);
}

Node cimtlm_node(const Node& node, const char* op) {
  Node fused;
  fused.name = node.name;
  fused.domain = "cimtlm";
  fused.op_type = op;
  fused.outputs = node.outputs;
  return fused;
}

// x_scale, x_zero_point, y_scale, y_zero_point from inputs 1..4.
void set_unary_quant(const Node& node, const Inputs& in, Node& fused) {
  fused.attributes["x_scale"] = Attribute::of_float(scale_input(node, in, 1, "x_scale"));
  fused.attributes["x_zero_point"] = Attribute::of_int(zero_point_input(node, in, 2, "x_zero_point"));
  fused.attributes["y_scale"] = Attribute::of_float(scale_input(node, in, 3, "y_scale"));
  fused.attributes["y_zero_point"] = Attribute::of_int(zero_point_input(node, in, 4, "y_zero_point"));
}

void reject_channels_last(const Node& node) {
  if (node.get_int("channels_last", 0) != 0) {
    throw ModelError(node.describe() + ": channels_last=1 is not supported");
  }
}

// QLinearSigmoid / QLinearLeakyRelu: onnxruntime's 256-entry table Q(f(DQ(code))), with f
// cimtlm's float Sigmoid kernel (MLAS's logistic) or x >= 0 ? x : alpha * x.
Node activation_lookup(const Node& node, const Inputs& in, bool sigmoid) {
  // The input type decides the code range: int8 when the zero point is int8.
  const DataType type = node.has_input(2) ? constant_input(node, in, 2, "X_zero_point").type()
                                          : (in[0] ? in[0]->type() : DataType::UInt8);
  const float x_scale = scale_input(node, in, 1, "X_scale");
  const auto x_zp = static_cast<int32_t>(zero_point_input(node, in, 2, "X_zero_point"));
  const float y_scale = scale_input(node, in, 3, "Y_scale");
  const auto y_zp = static_cast<int32_t>(zero_point_input(node, in, 4, "Y_zero_point"));
  const float alpha = node.get_float("alpha", 0.01f);
  const auto lo = static_cast<int32_t>(lowest(type));
  const auto hi = static_cast<int32_t>(highest(type));
  Tensor values(DataType::Float, {256});
  for (int32_t code = lo; code <= hi; ++code) values.data<float>()[code - lo] = dequantize(code, x_scale, x_zp);
  if (sigmoid) {
    Node logistic;
    logistic.op_type = "Sigmoid";
    Outputs result(1);
    (*KernelRegistry::instance().find("", "Sigmoid"))(logistic, {&values}, result);
    values = std::move(result[0]);
  } else {
    for (int64_t i = 0; i < 256; ++i) {
      const float v = values.data<float>()[i];
      values.data<float>()[i] = v >= 0.0f ? v : alpha * v;
    }
  }
  std::vector<int64_t> table(256);
  for (size_t i = 0; i < 256; ++i) table[i] = quantize(values.data<float>()[i], y_scale, y_zp, lo, hi);
  Node lookup = cimtlm_node(node, "QLookup");
  lookup.attributes["table"] = Attribute::of_ints(std::move(table));
  lookup.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(type));
  return lookup;
}

void com_microsoft_kernel(const Node& node, const Inputs& in, Outputs& out) {
  const CimtlmEquivalent equivalent = com_microsoft_as_cimtlm(node, in);
  Inputs data;
  Tensor transposed;
  for (size_t index : equivalent.data_inputs) data.push_back(index < in.size() ? in[index] : nullptr);
  if (equivalent.transpose_b) {
    Node transpose;
    transpose.op_type = "Transpose";
    Outputs result(1);
    (*KernelRegistry::instance().find("", "Transpose"))(transpose, {data.at(1)}, result);
    transposed = std::move(result[0]);
    data[1] = &transposed;
  }
  (*KernelRegistry::instance().find("cimtlm", equivalent.node.op_type))(equivalent.node, data, out);
}

}  // namespace

const std::vector<std::string>& com_microsoft_ops() {
  static const std::vector<std::string> ops = {
      "QLinearAdd",     "QLinearMul",       "QLinearAveragePool", "QLinearGlobalAveragePool",
      "QLinearSigmoid", "QLinearLeakyRelu", "QLinearConcat",      "QLinearSoftmax",
      "QGemm"};
  return ops;
}

CimtlmEquivalent com_microsoft_as_cimtlm(const Node& node, const std::vector<const Tensor*>& in) {
  CimtlmEquivalent result;
  const std::string& op = node.op_type;
  if (op == "QLinearAdd" || op == "QLinearMul") {
    // A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point
    result.node = cimtlm_node(node, op == "QLinearAdd" ? "QAdd" : "QMul");
    auto& attributes = result.node.attributes;
    attributes["a_scale"] = Attribute::of_float(scale_input(node, in, 1, "A_scale"));
    attributes["a_zero_point"] = Attribute::of_int(zero_point_input(node, in, 2, "A_zero_point"));
    attributes["b_scale"] = Attribute::of_float(scale_input(node, in, 4, "B_scale"));
    attributes["b_zero_point"] = Attribute::of_int(zero_point_input(node, in, 5, "B_zero_point"));
    attributes["y_scale"] = Attribute::of_float(scale_input(node, in, 6, "C_scale"));
    attributes["y_zero_point"] = Attribute::of_int(zero_point_input(node, in, 7, "C_zero_point"));
    result.data_inputs = {0, 3};
  } else if (op == "QLinearAveragePool" || op == "QLinearGlobalAveragePool") {
    reject_channels_last(node);
    const bool global = op == "QLinearGlobalAveragePool";
    result.node = cimtlm_node(node, global ? "QGlobalAveragePool" : "QAveragePool");
    for (const auto& attribute : node.attributes) {
      if (attribute.first != "channels_last") result.node.attributes.insert(attribute);
    }
    set_unary_quant(node, in, result.node);
    result.data_inputs = {0};
  } else if (op == "QLinearSigmoid" || op == "QLinearLeakyRelu") {
    result.node = activation_lookup(node, in, op == "QLinearSigmoid");
    result.data_inputs = {0};
  } else if (op == "QLinearConcat") {
    // Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) per input.
    if (node.inputs.size() < 5 || (node.inputs.size() - 2) % 3 != 0) {
      throw ModelError(node.describe() + ": inputs must be Y_scale, Y_zero_point and (X, X_scale, "
                                         "X_zero_point) triples");
    }
    result.node = cimtlm_node(node, "QConcat");
    result.node.attributes["axis"] = Attribute::of_int(node.get_int("axis"));
    result.node.attributes["y_scale"] = Attribute::of_float(scale_input(node, in, 0, "Y_scale"));
    result.node.attributes["y_zero_point"] = Attribute::of_int(zero_point_input(node, in, 1, "Y_zero_point"));
    std::vector<float> scales;
    std::vector<int64_t> zero_points;
    for (size_t index = 2; index < node.inputs.size(); index += 3) {
      result.data_inputs.push_back(index);
      scales.push_back(scale_input(node, in, index + 1, "X_scale"));
      zero_points.push_back(zero_point_input(node, in, index + 2, "X_zero_point"));
    }
    result.node.attributes["x_scales"] = Attribute::of_floats(scales);
    result.node.attributes["x_zero_points"] = Attribute::of_ints(zero_points);
  } else if (op == "QLinearSoftmax") {
    // Before opset 13 onnxruntime coerces to 2-D at `axis` (default 1); only the case where that
    // is the last axis alone is the opset-13 softmax cimtlm runs.
    const int64_t opset = node.get_int("opset");
    const int64_t axis = node.get_int("axis", opset < 13 ? 1 : -1);
    if (opset < 13 && axis != -1) {
      throw ModelError(node.describe() + ": QLinearSoftmax of opset " + std::to_string(opset) +
                       " with axis " + std::to_string(axis) + " is not supported (axis -1 is)");
    }
    result.node = cimtlm_node(node, "QSoftmax");
    result.node.attributes["axis"] = Attribute::of_int(axis);
    set_unary_quant(node, in, result.node);
    const DataType type = node.has_input(4) ? constant_input(node, in, 4, "y_zero_point").type()
                                            : DataType::UInt8;
    result.node.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(type));
    result.data_inputs = {0};
  } else if (op == "QGemm") {
    // A, a_scale, a_zero_point, B, B_scale, B_zero_point, C, y_scale, y_zero_point
    if (node.get_float("alpha", 1.0f) != 1.0f || node.get_int("transA", 0) != 0) {
      throw ModelError(node.describe() + ": only alpha=1 and transA=0 are supported");
    }
    if (!node.has_input(7)) {
      throw ModelError(node.describe() + ": QGemm without y_scale (float output) is not supported");
    }
    result.node = cimtlm_node(node, "QGemm");
    auto& attributes = result.node.attributes;
    attributes["x_scale"] = Attribute::of_float(scale_input(node, in, 1, "a_scale"));
    attributes["x_zero_point"] = Attribute::of_int(zero_point_input(node, in, 2, "a_zero_point"));
    attributes["w_scales"] = Attribute::of_floats(constant_input(node, in, 4, "B_scale").to_float_vector());
    attributes["w_zero_points"] = Attribute::of_ints(
        node.has_input(5) ? constant_input(node, in, 5, "B_zero_point").to_int_vector() : std::vector<int64_t>{0});
    attributes["y_scale"] = Attribute::of_float(scale_input(node, in, 7, "y_scale"));
    attributes["y_zero_point"] = Attribute::of_int(zero_point_input(node, in, 8, "y_zero_point"));
    const DataType y_type = node.has_input(8) ? constant_input(node, in, 8, "y_zero_point").type()
                                              : DataType::UInt8;
    attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(y_type));
    result.data_inputs = {0, 3};
    if (node.has_input(6)) result.data_inputs.push_back(6);
    result.transpose_b = node.get_int("transB", 0) != 0;
  } else {
    throw ModelError(node.describe() + ": com.microsoft op '" + op + "' is not supported by cimtlm");
  }
  return result;
}

void register_com_microsoft_kernels(KernelRegistry& registry) {
  for (const auto& op : com_microsoft_ops()) registry.add("com.microsoft", op, com_microsoft_kernel);
}

}  // namespace cimtlm::graph
