#include "compiler/graph/lowering_internal.h"
#include "compiler/graph/quantized_math.h"

namespace cimtlm::graph::lowering_detail {

// The parameters of the DequantizeLinear producing `value`, or nothing.
std::optional<QuantParams> Lowering::dequantized(const std::string& value) const {
  const Node* node = producer(value);
  if (!node || !is_onnx(*node, "DequantizeLinear")) return std::nullopt;
  QuantParams params;
  params.value = node->inputs[0];
  params.type = type_of(node->inputs[0]);
  params.scales = constant(*node, 1, "scale").to_float_vector();
  if (node->has_input(2)) {
    for (int64_t zp : constant(*node, 2, "zero point").to_int_vector()) {
      params.zero_points.push_back(static_cast<int32_t>(zp));
    }
  } else {
    params.zero_points.assign(1, 0);
  }
  params.axis = node->get_int("axis", 1);
  if (params.zero_points.size() == 1 && params.scales.size() > 1) {
    params.zero_points.assign(params.scales.size(), params.zero_points[0]);
  }
  // Every later use indexes scales and zero points by channel: they must agree in count.
  if (params.scales.empty() || params.zero_points.size() != params.scales.size()) {
    cannot_run(*node, std::to_string(params.scales.size()) + " scales and " +
                          std::to_string(params.zero_points.size()) + " zero points do not match");
  }
  return params;
}

// A per-tensor 8-bit DequantizeLinear source, or a ModelError naming `consumer`.
QuantParams Lowering::activation(const Node& consumer, const std::string& value,
                                 const char* what) const {
  auto params = dequantized(value);
  if (!params) {
    cannot_run(consumer,
               std::string(what) + " '" + value + "' does not come from a DequantizeLinear");
  }
  if (!params->per_tensor()) {
    cannot_run(consumer, std::string(what) + " '" + value + "' is quantized per channel");
  }
  if (!is_eight_bit(params->type)) {
    cannot_run(consumer, std::string(what) + " '" + value + "' is " + to_string(params->type) +
                             ", not 8-bit");
  }
  return *params;
}

QuantParams Lowering::quantize_params(const Node& q) const {
  QuantParams params;
  params.scales = constant(q, 1, "y_scale").to_float_vector();
  if (q.has_input(2)) {
    const Tensor& zp = constant(q, 2, "y_zero_point");
    params.type = zp.type();
    for (int64_t value : zp.to_int_vector())
      params.zero_points.push_back(static_cast<int32_t>(value));
  } else {
    params.zero_points.assign(1, 0);
  }
  if (params.scales.size() != 1 || params.zero_points.size() != 1) {
    cannot_run(q, "per-channel output quantization is not supported");
  }
  if (!is_eight_bit(params.type)) cannot_run(q, "output type is not 8-bit");
  return params;
}

float Lowering::scalar(const Node& node, size_t index, const char* what) const {
  const Tensor& tensor = constant(node, index, what);
  if (tensor.elements() != 1) cannot_run(node, std::string(what) + " must be a scalar");
  return static_cast<float>(tensor.as_double(0));
}

int64_t Lowering::scalar_int_or_zero(const Node& node, size_t index, const char* what) const {
  if (!node.has_input(index)) return 0;
  const Tensor& tensor = constant(node, index, what);
  if (tensor.elements() != 1) cannot_run(node, std::string(what) + " must be a scalar");
  return tensor.as_int(0);
}

std::vector<int64_t> Lowering::ints_or_zero(const Node& node, size_t index,
                                            const char* what) const {
  if (!node.has_input(index)) return {0};
  return constant(node, index, what).to_int_vector();
}

// Clamp of a fused Relu/Clip as output codes; false when `act` is neither.
bool Lowering::activation_clamp(const Node& act, const QuantParams& y, int32_t& clamp_min,
                                int32_t& clamp_max) const {
  const auto lo = static_cast<int32_t>(lowest(y.type));
  const auto hi = static_cast<int32_t>(highest(y.type));
  clamp_min = lo;
  clamp_max = hi;
  if (is_onnx(act, "Relu")) {
    clamp_min = std::max(lo, y.zero_point());
    return true;
  }
  if (is_onnx(act, "Clip")) {
    // Quantization is monotonic, so Q(clip(v, a, b)) = clamp(Q(v), Q(a), Q(b)) exactly.
    if (act.has_input(1))
      clamp_min = quantize(scalar(act, 1, "Clip min"), y.scale(), y.zero_point(), lo, hi);
    if (act.has_input(2))
      clamp_max = quantize(scalar(act, 2, "Clip max"), y.scale(), y.zero_point(), lo, hi);
    return true;
  }
  return false;
}

}  // namespace cimtlm::graph::lowering_detail
