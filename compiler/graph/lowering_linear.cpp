#include <cmath>
#include <cstring>

#include "compiler/graph/kernel_sets.h"
#include "compiler/graph/lowering_internal.h"
#include "compiler/graph/quantized_math.h"

namespace cimtlm::graph::lowering_detail {

void Lowering::copy_conv_attributes(const Node& from, Node& to) {
  for (const char* name : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}) {
    auto found = from.attributes.find(name);
    if (found != from.attributes.end()) to.attributes[name] = found->second;
  }
}

void Lowering::lower_qlinear(const Node& node) {
  const bool conv = is_onnx(node, "QLinearConv") || is_onnx(node, "ConvInteger");
  const bool integer_output = is_onnx(node, "ConvInteger") || is_onnx(node, "MatMulInteger");
  Node fused = make(conv ? "QConv" : "QGemm", node.name.empty() ? node.outputs[0] : node.name, {},
                    node.outputs);
  if (conv) copy_conv_attributes(node, fused);
  if (integer_output) {
    fused.inputs = {node.inputs[0], node.inputs[1]};
    fused.attributes["x_zero_point"] =
        Attribute::of_int(scalar_int_or_zero(node, 2, "x_zero_point"));
    fused.attributes["w_zero_points"] = Attribute::of_ints(ints_or_zero(node, 3, "w_zero_point"));
    fused.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(DataType::Int32));
  } else {
    fused.inputs = {node.inputs[0], node.inputs[3]};
    if (conv && node.has_input(8)) fused.inputs.push_back(node.inputs[8]);
    fused.attributes["x_scale"] = Attribute::of_float(scalar(node, 1, "x_scale"));
    fused.attributes["x_zero_point"] =
        Attribute::of_int(scalar_int_or_zero(node, 2, "x_zero_point"));
    fused.attributes["w_scales"] =
        Attribute::of_floats(constant(node, 4, "w_scale").to_float_vector());
    fused.attributes["w_zero_points"] = Attribute::of_ints(ints_or_zero(node, 5, "w_zero_point"));
    fused.attributes["y_scale"] = Attribute::of_float(scalar(node, 6, "y_scale"));
    const Tensor& y_zp = constant(node, 7, "y_zero_point");
    fused.attributes["y_zero_point"] = Attribute::of_int(y_zp.as_int(0));
    fused.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(y_zp.type()));
  }
  emit(std::move(fused));
}

// onnxruntime's com.microsoft ops: one cimtlm op each (kernels_com_microsoft.cpp).
void Lowering::lower_com_microsoft(const Node& node) {
  std::vector<const Tensor*> constants;
  for (const auto& input : node.inputs)
    constants.push_back(input.empty() ? nullptr : source_.initializer(input));
  CimtlmEquivalent equivalent;
  try {
    equivalent = com_microsoft_as_cimtlm(node, constants);
  } catch (const ModelError& error) {
    throw ModelError(std::string("cannot run on the CIM platform: ") + error.what());
  }
  Node fused = std::move(equivalent.node);
  fused.name = node_name(node.name.empty() ? node.outputs[0] : node.name);
  for (size_t index : equivalent.data_inputs) fused.inputs.push_back(node.inputs[index]);
  if (equivalent.transpose_b) {
    const Tensor* b = source_.initializer(fused.inputs[1]);
    if (!b || b->rank() != 2) cannot_run(node, "transB needs a constant matrix B");
    fused.inputs[1] = transposed_initializer(fused.inputs[1], *b);
  }
  emit(std::move(fused));
}

// A new initializer holding `matrix` transposed ([N, K] -> [K, N]); returns its name.
std::string Lowering::transposed_initializer(const std::string& base, const Tensor& matrix) {
  const int64_t rows = matrix.dim(0), cols = matrix.dim(1);
  const size_t element = byte_size(matrix.type());
  Tensor transposed(matrix.type(), {cols, rows});
  const auto* from = static_cast<const uint8_t*>(matrix.raw());
  auto* to = static_cast<uint8_t*>(transposed.raw());
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t col = 0; col < cols; ++col) {
      std::memcpy(to + (col * rows + row) * element, from + (row * cols + col) * element, element);
    }
  }
  const std::string name = fresh(base + "_transposed");
  new_initializers_[name] = std::move(transposed);
  return name;
}

// Conv / Gemm / MatMul [-> Relu | Clip] with dequantized operands.
bool Lowering::try_linear(const Node& last, const QuantParams& y, const std::string& out) {
  const Node* linear = &last;
  const Node* act = nullptr;
  if ((is_onnx(last, "Relu") || is_onnx(last, "Clip")) && consumer_count(last.inputs[0]) == 1) {
    const Node* before = producer(last.inputs[0]);
    if (before &&
        (is_onnx(*before, "Conv") || is_onnx(*before, "Gemm") || is_onnx(*before, "MatMul"))) {
      linear = before;
      act = &last;
    }
  }
  const bool conv = is_onnx(*linear, "Conv");
  if (!conv && !is_onnx(*linear, "Gemm") && !is_onnx(*linear, "MatMul")) return false;
  const Node& node = *linear;
  auto w = dequantized(node.inputs[1]);
  // Float weights (or a float input): a general float island, computed as onnxruntime does.
  if (!w || !dequantized(node.inputs[0]) ||
      (node.has_input(2) && !dequantized(node.inputs[2]) && !source_.initializer(node.inputs[2]))) {
    return false;
  }
  const QuantParams x = activation(node, node.inputs[0], "input");
  if (!is_eight_bit(w->type)) {
    cannot_run(node, "weight '" + node.inputs[1] + "' is not an 8-bit DequantizeLinear output");
  }
  const Tensor* w_constant = source_.initializer(w->value);
  std::string weight = w->value;
  int64_t channels = 0;
  int64_t channel_axis = 0;
  bool trans_b = false;
  if (conv) {
    if (!w_constant) cannot_run(node, "convolution weights must be constant");
    channels = w_constant->dim(0);
  } else if (is_onnx(node, "Gemm")) {
    if (node.get_int("transA", 0) != 0) cannot_run(node, "Gemm with transA=1 is not supported");
    if (node.get_float("alpha", 1.0f) != 1.0f)
      cannot_run(node, "Gemm alpha other than 1 is not supported");
    if (node.has_input(2) && node.get_float("beta", 1.0f) != 1.0f) {
      cannot_run(node, "Gemm beta other than 1 is not supported");
    }
    if (!w_constant || w_constant->rank() != 2)
      cannot_run(node, "Gemm weights must be a constant matrix");
    trans_b = node.get_int("transB", 0) != 0;
    channels = trans_b ? w_constant->dim(0) : w_constant->dim(1);
    channel_axis = trans_b ? 0 : 1;
  } else {
    if (w_constant) {
      if (w_constant->rank() != 2) cannot_run(node, "MatMul weights must be a matrix");
      channels = w_constant->dim(1);
      channel_axis = 1;
    } else {
      channels = 1;
    }
  }
  if (!w->per_tensor()) {
    int64_t axis = w->axis;
    if (w_constant && axis < 0) axis += w_constant->rank();
    if (axis != channel_axis || static_cast<int64_t>(w->scales.size()) != channels) {
      cannot_run(node, "weights are quantized along axis " + std::to_string(w->axis) +
                           ", not the output-channel axis");
    }
  }
  if (trans_b) weight = transposed_initializer(w->value, *w_constant);  // QGemm reads B as [K, N]

  Node fused =
      make(conv ? "QConv" : "QGemm", node.name.empty() ? out : node.name, {x.value, weight}, {out});
  if (conv) copy_conv_attributes(node, fused);
  if (node.has_input(2)) fused.inputs.push_back(bias(node, x, *w, channels));
  fused.attributes["x_scale"] = Attribute::of_float(x.scale());
  fused.attributes["x_zero_point"] = Attribute::of_int(x.zero_point());
  fused.attributes["w_scales"] = Attribute::of_floats(w->scales);
  fused.attributes["w_zero_points"] =
      Attribute::of_ints(std::vector<int64_t>(w->zero_points.begin(), w->zero_points.end()));
  set_output_quant(fused, y);
  if (act) {
    int32_t clamp_min = 0, clamp_max = 0;
    activation_clamp(*act, y, clamp_min, clamp_max);
    fused.attributes["clamp_min"] = Attribute::of_int(clamp_min);
    fused.attributes["clamp_max"] = Attribute::of_int(clamp_max);
  }
  emit(std::move(fused));
  return true;
}

// The int32 bias of a Conv/Gemm island: a DequantizeLinear of int32 constants whose scale is
// x_scale * w_scale (onnxruntime uses the integers as they are), or float constants rounded to
// that scale.
std::string Lowering::bias(const Node& node, const QuantParams& x, const QuantParams& w,
                           int64_t channels) {
  const std::string& value = node.inputs[2];
  auto product_scale = [&](int64_t c) { return x.scale() * w.scales[w.per_tensor() ? 0 : c]; };
  if (auto b = dequantized(value)) {
    const Tensor* integers = source_.initializer(b->value);
    const bool scales_fit = b->per_tensor() || static_cast<int64_t>(b->scales.size()) == channels;
    if (!integers || b->type != DataType::Int32 || integers->elements() != channels ||
        !scales_fit) {
      cannot_run(node, "bias '" + value + "' must be " + std::to_string(channels) +
                           " int32 constants behind a DequantizeLinear");
    }
    for (int64_t c = 0; c < channels; ++c) {
      const float expected = product_scale(c);
      const float scale = b->scales[b->per_tensor() ? 0 : c];
      const int32_t zero_point = b->zero_points[b->per_tensor() ? 0 : c];
      if (zero_point != 0 || std::fabs(scale - expected) > 1e-6f * expected) {
        cannot_run(node, "bias scale " + std::to_string(scale) + " (zero point " +
                             std::to_string(zero_point) +
                             ") is not x_scale * w_scale = " + std::to_string(expected));
      }
    }
    return b->value;
  }
  const Tensor* floats = source_.initializer(value);
  if (!floats || floats->type() != DataType::Float || floats->elements() != channels) {
    cannot_run(node, "bias '" + value + "' must be " + std::to_string(channels) + " constants");
  }
  Tensor integers(DataType::Int32, {channels});
  for (int64_t c = 0; c < channels; ++c) {
    const double rounded =
        std::nearbyint(static_cast<double>(floats->data<float>()[c]) / product_scale(c));
    if (std::fabs(rounded) > 2147483647.0) cannot_run(node, "bias does not fit int32 at its scale");
    integers.data<int32_t>()[c] = static_cast<int32_t>(rounded);
  }
  const std::string name = fresh(value + "_int32");
  new_initializers_[name] = std::move(integers);
  return name;
}

}  // namespace cimtlm::graph::lowering_detail
