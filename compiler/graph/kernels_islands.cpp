// Quantized islands that are neither element-wise nor pooling: cimtlm.QSoftmax and
// cimtlm.QConcat, with the arithmetic onnxruntime 1.22 uses for the same QDQ patterns (it fuses
// DequantizeLinear -> Softmax/Concat -> QuantizeLinear into com.microsoft QLinearSoftmax /
// QLinearConcat). Checked bit for bit against onnxruntime by testbenches/unit/onnx (ort_islands).
#include <array>
#include <cmath>
#include <limits>

#include "compiler/graph/kernel_sets.h"
#include "compiler/graph/quantized_math.h"

namespace cimtlm::graph {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

// cimtlm.QSoftmax: attributes axis (default -1), x_scale, x_zero_point, y_scale, y_zero_point,
// y_type (int8, uint8 or float).
//
// 8-bit output, as onnxruntime's QLinearSoftmax: per row along `axis`, with the table above,
//   e_k = table[x_k + 255 - max(x)] (uint8) or table[uint8(x_k + 127 - max(x))] (int8)
//   s = sum of e_k in float32, in order;  c = floor(1.0f / y_scale)
//   q_k = nearbyint((e_k * c) / s) + y_zero_point  (float32 multiply and divide)
//   uint8: y_k = min(q_k, 255)
//   int8:  y_k = q_k > 255 ? int8(255) : int8(q_k)  -- onnxruntime's int8 path wraps around (a
//          probability that rounds to 1 with y_zero_point -128 gives -128); reproduced as is.
// x_zero_point does not matter (softmax is shift invariant). Float output: DequantizeLinear then
// the float Softmax kernel.
void quantized_softmax(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  require_type(node, x, {DataType::Int8, DataType::UInt8}, "input X");
  const int64_t axis = normalize_axis(node, node.get_int("axis", -1), std::max<int64_t>(x.rank(), 1));
  const float x_scale = node.get_float("x_scale");
  const auto y_type = static_cast<DataType>(node.get_int("y_type", static_cast<int64_t>(x.type())));
  int64_t outer = 1, inner = 1;
  const int64_t extent = x.rank() == 0 ? 1 : x.dim(axis);
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);

  if (y_type == DataType::Float) {
    const auto x_zp = static_cast<int32_t>(node.get_int("x_zero_point", 0));
    Tensor dequantized(DataType::Float, x.shape());
    for (int64_t i = 0; i < x.elements(); ++i) {
      dequantized.data<float>()[i] = dequantize(static_cast<int32_t>(x.as_int(i)), x_scale, x_zp);
    }
    Node softmax = node;
    softmax.domain.clear();
    softmax.op_type = "Softmax";
    softmax.attributes = {{"axis", Attribute::of_int(axis)}};
    const Kernel* kernel = KernelRegistry::instance().find("", "Softmax");
    (*kernel)(softmax, {&dequantized}, out);
    return;
  }
  if (y_type != x.type()) {
    throw ModelError(node.describe() + ": y_type must be float32 or the input's type " +
                     to_string(x.type()));
  }
  const bool is_signed = x.type() == DataType::Int8;
  const std::vector<float> table = softmax_exp_table(x_scale, extent, is_signed);
  const float y_scale_reciprocal = std::floor(1.0f / node.get_float("y_scale"));
  const auto y_zp = static_cast<int32_t>(node.get_int("y_zero_point", 0));
  out[0] = Tensor(x.type(), x.shape());
  std::vector<float> row(static_cast<size_t>(extent));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * extent * inner + i;
      int64_t maximum = std::numeric_limits<int64_t>::min();
      for (int64_t k = 0; k < extent; ++k) maximum = std::max(maximum, x.as_int(base + k * inner));
      float sum = 0.0f;
      for (int64_t k = 0; k < extent; ++k) {
        const int64_t code = x.as_int(base + k * inner);
        const auto index = is_signed ? static_cast<uint8_t>(code + 127 - maximum)
                                     : static_cast<uint8_t>(code + 255 - maximum);
        row[k] = table[index];
        sum += row[k];
      }
      for (int64_t k = 0; k < extent; ++k) {
        const float scaled = std::nearbyint((row[k] * y_scale_reciprocal) / sum);
        const int64_t target = base + k * inner;
        if (is_signed) {
          const int32_t q = static_cast<int32_t>(scaled) + y_zp;
          out[0].data<int8_t>()[target] = q > 255 ? static_cast<int8_t>(-1) : static_cast<int8_t>(q);
        } else {
          const uint32_t q = static_cast<uint32_t>(scaled) + static_cast<uint32_t>(y_zp);
          out[0].data<uint8_t>()[target] = static_cast<uint8_t>(std::min<uint32_t>(q, 255));
        }
      }
    }
  }
}

// cimtlm.QConcat: attributes axis, x_scales / x_zero_points (one per input), y_scale,
// y_zero_point. Each input is copied when its scale and zero point equal the output's, otherwise
// requantized element by element, QuantizeLinear(DequantizeLinear(x)) in float32 -- what
// onnxruntime's QLinearConcat does with its per-input lookup tables.
void quantized_concat(const Node& node, const Inputs& in, Outputs& out) {
  const std::vector<float> x_scales = node.get_floats("x_scales");
  const std::vector<int64_t> x_zero_points = node.get_ints("x_zero_points");
  if (x_scales.size() != in.size() || x_zero_points.size() != in.size()) {
    throw ModelError(node.describe() + ": x_scales and x_zero_points need one value per input (" +
                     std::to_string(in.size()) + ")");
  }
  const float y_scale = node.get_float("y_scale");
  const auto y_zp = static_cast<int32_t>(node.get_int("y_zero_point", 0));
  const Tensor& first = require_input(node, in, 0);
  require_type(node, first, {DataType::Int8, DataType::UInt8}, "input 0");
  const auto lo = static_cast<int32_t>(lowest(first.type()));
  const auto hi = static_cast<int32_t>(highest(first.type()));
  std::vector<Tensor> requantized(in.size());
  std::vector<const Tensor*> parts(in.size());
  for (size_t index = 0; index < in.size(); ++index) {
    const Tensor& part = require_input(node, in, index);
    require_type(node, part, {first.type()}, "input");
    const auto x_zp = static_cast<int32_t>(x_zero_points[index]);
    if (x_scales[index] == y_scale && x_zp == y_zp) {
      parts[index] = &part;
      continue;
    }
    std::array<int32_t, 256> table{};
    for (int32_t code = lo; code <= hi; ++code) {
      table[code - lo] = quantize(dequantize(code, x_scales[index], x_zp), y_scale, y_zp, lo, hi);
    }
    requantized[index] = Tensor(part.type(), part.shape());
    for (int64_t i = 0; i < part.elements(); ++i) {
      const int32_t value = table[static_cast<size_t>(part.as_int(i) - lo)];
      if (part.type() == DataType::Int8) {
        requantized[index].data<int8_t>()[i] = static_cast<int8_t>(value);
      } else {
        requantized[index].data<uint8_t>()[i] = static_cast<uint8_t>(value);
      }
    }
    parts[index] = &requantized[index];
  }
  Node concat = node;
  concat.domain.clear();
  concat.op_type = "Concat";
  concat.attributes = {{"axis", Attribute::of_int(node.get_int("axis"))}};
  (*KernelRegistry::instance().find("", "Concat"))(concat, parts, out);
}

}  // namespace

void register_island_kernels(KernelRegistry& registry) {
  registry.add("cimtlm", "QSoftmax", quantized_softmax);
  registry.add("cimtlm", "QConcat", quantized_concat);
}

}  // namespace cimtlm::graph
