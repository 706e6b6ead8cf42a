// Integer kernels of the reference executor: ONNX QLinearConv, QLinearMatMul, ConvInteger,
// MatMulInteger, QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, and the fused ops of
// domain "cimtlm" (QConv, QGemm, QLookup, QAdd, QMul; QSoftmax and QConcat in
// kernels_islands.cpp) that the lowering produces.
// Arithmetic rules: compiler/graph/quantized_math.h.
#include <cmath>
#include <limits>

#include "compiler/graph/broadcast.h"
#include "compiler/graph/conv_geometry.h"
#include "compiler/graph/kernel_registry.h"
#include "compiler/graph/kernel_sets.h"
#include "compiler/graph/matmul_geometry.h"
#include "compiler/graph/quantized_math.h"
#include "kernels/int8_gemm.h"

namespace cimtlm::graph {

namespace {

constexpr const char* kCimtlm = "cimtlm";

// How the int32 accumulator becomes the output.
struct OutputQuant {
  bool requantize = true;  // false: int32 output of acc (ConvInteger, QConv with y_type int32)
  std::vector<float> multipliers;  // one, or one per output channel
  int32_t zero_point = 0;
  DataType type = DataType::Int8;
  int32_t lo = -128, hi = 127;
};

struct OperandQuant {
  int32_t x_zero_point = 0;
  std::vector<int32_t> w_zero_points;  // one, or one per output channel
};

void require_8bit(const Node& node, const Tensor& tensor, const char* what) {
  require_type(node, tensor, {DataType::Int8, DataType::UInt8}, what);
}

// The integer product engine of the reference executor's kernels (scratch buffers and oneDNN
// primitives; nothing in it changes a result). One per thread: kernels are free functions.
kernel::Int8Gemm& reference_gemm() {
  thread_local kernel::Int8Gemm gemm;
  return gemm;
}

// int32 addition that wraps like the hardware's adder (the reference's own int32 arithmetic).
int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

std::vector<int32_t> zero_points_of(const Node& node, const Tensor* tensor, const char* what) {
  if (!tensor) return {0};
  std::vector<int32_t> values;
  for (int64_t v : tensor->to_int_vector()) values.push_back(static_cast<int32_t>(v));
  if (values.empty()) throw ModelError(node.describe() + ": " + what + " is empty");
  return values;
}

std::vector<float> scales_of(const Node& node, const Tensor& tensor, const char* what) {
  std::vector<float> values = tensor.to_float_vector();
  if (values.empty()) throw ModelError(node.describe() + ": " + what + " is empty");
  for (float value : values) {
    if (!(value > 0.0f) || !std::isfinite(value)) {
      throw ModelError(node.describe() + ": " + what + " must be positive and finite");
    }
  }
  return values;
}

void check_per_channel(const Node& node, size_t count, int64_t channels, const char* what) {
  if (count != 1 && static_cast<int64_t>(count) != channels) {
    throw ModelError(node.describe() + ": " + what + " has " + std::to_string(count) +
                     " values for " + std::to_string(channels) + " output channels");
  }
}

void store(Tensor& out, int64_t index, int32_t value) {
  switch (out.type()) {
    case DataType::Int8:
      out.data<int8_t>()[index] = static_cast<int8_t>(value);
      break;
    case DataType::UInt8:
      out.data<uint8_t>()[index] = static_cast<uint8_t>(value);
      break;
    case DataType::Int32:
      out.data<int32_t>()[index] = value;
      break;
    default:
      throw std::logic_error("store: unsupported output type");
  }
}

int32_t finish(const OutputQuant& quant, int32_t acc, int64_t channel) {
  if (!quant.requantize) return acc;
  const float multiplier =
      quant.multipliers.size() == 1 ? quant.multipliers[0] : quant.multipliers[channel];
  return requantize(acc, multiplier, quant.zero_point, quant.lo, quant.hi);
}

// ---------------------------------------------------------------------------------------------
// Convolution: acc[m, p] = bias[m] + sum_k (w[m,k] - wz[m]) * (x[k,p] - xz), im2col per group.

void quantized_conv(const Node& node, const Tensor& x, const Tensor& w, const Tensor* bias,
                    const OperandQuant& operands, const OutputQuant& quant, Tensor& out) {
  require_8bit(node, x, "input x");
  require_8bit(node, w, "weight w");
  if (w.rank() != x.rank()) {
    throw ModelError(node.describe() + ": weight shape " + to_string(w.shape()) +
                     " does not match input shape " + to_string(x.shape()));
  }
  const std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  const Conv2dGeometry g = resolve_geometry(node, x.shape(), kernel);
  const int64_t out_channels = w.dim(0);
  if (g.group < 1 || g.in_channels % g.group != 0 || out_channels % g.group != 0 ||
      w.dim(1) * g.group != g.in_channels) {
    throw ModelError(node.describe() + ": group " + std::to_string(g.group) +
                     " does not fit input channels " + std::to_string(g.in_channels) +
                     " and weight shape " + to_string(w.shape()));
  }
  check_per_channel(node, operands.w_zero_points.size(), out_channels, "weight zero point");
  if (quant.requantize) check_per_channel(node, quant.multipliers.size(), out_channels, "scale");
  if (bias) {
    require_type(node, *bias, {DataType::Int32}, "bias");
    if (bias->elements() != out_channels) {
      throw ModelError(node.describe() + ": bias has " + std::to_string(bias->elements()) +
                       " values for " + std::to_string(out_channels) + " output channels");
    }
  }

  Shape out_shape = {g.batch, out_channels};
  if (x.rank() == 4) out_shape.push_back(g.out_height);
  out_shape.push_back(g.out_width);
  out = Tensor(quant.requantize ? quant.type : DataType::Int32, out_shape);

  const int64_t group_in = g.in_channels / g.group;
  const int64_t group_out = out_channels / g.group;
  const int64_t patch = group_in * g.kernel_h * g.kernel_w;
  const int64_t positions = g.out_height * g.out_width;
  const int64_t plane = g.in_height * g.in_width;
  const bool x_signed = x.type() == DataType::Int8;
  const bool w_signed = w.type() == DataType::Int8;
  const auto* x_codes = static_cast<const uint8_t*>(x.raw());
  const auto* w_codes = static_cast<const uint8_t*>(w.raw());
  // Padding holds the input zero point, which contributes nothing.
  const auto pad_code = static_cast<uint8_t>(operands.x_zero_point);

  kernel::Int8Gemm& gemm = reference_gemm();
  std::vector<uint8_t> patches(static_cast<size_t>(positions * patch));
  std::vector<uint8_t> weights(static_cast<size_t>(patch * group_out));
  std::vector<int32_t> zero_points(static_cast<size_t>(group_out));
  std::vector<int32_t> acc(static_cast<size_t>(positions * group_out));
  for (int64_t group = 0; group < g.group; ++group) {
    // B = this group's weights as [patch, group_out] with their zero points.
    for (int64_t mg = 0; mg < group_out; ++mg) {
      const int64_t m = group * group_out + mg;
      zero_points[mg] = operands.w_zero_points.size() == 1 ? operands.w_zero_points[0]
                                                           : operands.w_zero_points[m];
      for (int64_t k = 0; k < patch; ++k) weights[k * group_out + mg] = w_codes[m * patch + k];
    }
    const kernel::Int8Weights b(weights.data(), w_signed, patch, group_out, zero_points.data());
    for (int64_t n = 0; n < g.batch; ++n) {
      // A = im2col rows: patches[p][(c, kh, kw)].
      for (int64_t c = 0; c < group_in; ++c) {
        const uint8_t* channel = x_codes + (n * g.in_channels + group * group_in + c) * plane;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t k = (c * g.kernel_h + kh) * g.kernel_w + kw;
            for (int64_t oh = 0; oh < g.out_height; ++oh) {
              const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
              const bool row_inside = ih >= 0 && ih < g.in_height;
              uint8_t* target = patches.data() + (oh * g.out_width) * patch + k;
              for (int64_t ow = 0; ow < g.out_width; ++ow) {
                const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                const bool inside = row_inside && iw >= 0 && iw < g.in_width;
                target[ow * patch] = inside ? channel[ih * g.in_width + iw] : pad_code;
              }
            }
          }
        }
      }
      gemm.multiply(b, patches.data(), x_signed, positions, patch, operands.x_zero_point,
                    acc.data(), group_out, false);
      for (int64_t mg = 0; mg < group_out; ++mg) {
        const int64_t m = group * group_out + mg;
        const int32_t bias_value = bias ? bias->data<int32_t>()[m] : 0;
        const int64_t base = (n * out_channels + m) * positions;
        for (int64_t p = 0; p < positions; ++p) {
          store(out, base + p, finish(quant, wrap_add(acc[p * group_out + mg], bias_value), m));
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Matrix product with NumPy matmul broadcasting of the batch dimensions:
// acc[.., i, j] = bias[j] + sum_k (a[.., i, k] - az) * (b[.., k, j] - bz[j]).

void quantized_matmul(const Node& node, const Tensor& a, const Tensor& b, const Tensor* bias,
                      const OperandQuant& operands, const OutputQuant& quant, Tensor& out) {
  require_8bit(node, a, "input A");
  require_8bit(node, b, "input B");
  const MatMulGeometry g = resolve_matmul(node, a.shape(), b.shape());
  const int64_t rows = g.rows, inner = g.inner, cols = g.cols;
  check_per_channel(node, operands.w_zero_points.size(), cols, "B zero point");
  if (quant.requantize) check_per_channel(node, quant.multipliers.size(), cols, "scale");
  if (bias) {
    require_type(node, *bias, {DataType::Int32}, "bias");
    if (bias->elements() != cols) {
      throw ModelError(node.describe() + ": bias has " + std::to_string(bias->elements()) +
                       " values for " + std::to_string(cols) + " columns");
    }
  }

  out = Tensor(quant.requantize ? quant.type : DataType::Int32, g.output);

  kernel::Int8Gemm& gemm = reference_gemm();
  const bool a_signed = a.type() == DataType::Int8;
  const bool b_signed = b.type() == DataType::Int8;
  const auto* a_codes = static_cast<const uint8_t*>(a.raw());
  const auto* b_codes = static_cast<const uint8_t*>(b.raw());
  std::vector<int32_t> zero_points(static_cast<size_t>(cols));
  for (int64_t j = 0; j < cols; ++j) {
    zero_points[j] =
        operands.w_zero_points.size() == 1 ? operands.w_zero_points[0] : operands.w_zero_points[j];
  }
  std::vector<int32_t> acc(static_cast<size_t>(rows * cols));
  int64_t out_index = 0;
  for (size_t batch_index = 0; batch_index < g.a_batch.size(); ++batch_index) {
    const uint8_t* a_mat = a_codes + g.a_batch[batch_index] * rows * inner;
    const uint8_t* b_mat = b_codes + g.b_batch[batch_index] * inner * cols;
    const kernel::Int8Weights weights(b_mat, b_signed, inner, cols, zero_points.data());
    gemm.multiply(weights, a_mat, a_signed, rows, inner, operands.x_zero_point, acc.data(), cols,
                  false);
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const int32_t bias_value = bias ? bias->data<int32_t>()[j] : 0;
        store(out, out_index++, finish(quant, wrap_add(acc[i * cols + j], bias_value), j));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Parameter sources.

OutputQuant output_quant(const Node& node, float x_scale, const std::vector<float>& w_scales,
                         float y_scale, int32_t y_zero_point, DataType y_type) {
  OutputQuant quant;
  quant.type = y_type;
  quant.zero_point = y_zero_point;
  if (y_type != DataType::Int8 && y_type != DataType::UInt8) {
    throw ModelError(node.describe() + ": output type " + std::string(to_string(y_type)) +
                     " is not 8-bit");
  }
  quant.lo = static_cast<int32_t>(lowest(y_type));
  quant.hi = static_cast<int32_t>(highest(y_type));
  for (float w_scale : w_scales) {
    quant.multipliers.push_back(requant_multiplier(x_scale, w_scale, y_scale));
  }
  return quant;
}

// ONNX QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, [B].
void qlinear_conv(const Node& node, const std::vector<const Tensor*>& in,
                  std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  const Tensor& w = require_input(node, in, 3);
  OperandQuant operands;
  operands.x_zero_point = scalar_int(node, require_input(node, in, 2), "x_zero_point");
  operands.w_zero_points = zero_points_of(node, in.size() > 5 ? in[5] : nullptr, "w_zero_point");
  const Tensor& y_zp = require_input(node, in, 7);
  OutputQuant quant = output_quant(node, scalar_float(node, require_input(node, in, 1), "x_scale"),
                                   scales_of(node, require_input(node, in, 4), "w_scale"),
                                   scalar_float(node, require_input(node, in, 6), "y_scale"),
                                   scalar_int(node, y_zp, "y_zero_point"), y_zp.type());
  quantized_conv(node, x, w, in.size() > 8 ? in[8] : nullptr, operands, quant, out[0]);
}

// ONNX ConvInteger: x, w, [x_zp], [w_zp] -> int32.
void conv_integer(const Node& node, const std::vector<const Tensor*>& in,
                  std::vector<Tensor>& out) {
  OperandQuant operands;
  if (in.size() > 2 && in[2]) operands.x_zero_point = scalar_int(node, *in[2], "x_zero_point");
  operands.w_zero_points = zero_points_of(node, in.size() > 3 ? in[3] : nullptr, "w_zero_point");
  OutputQuant quant;
  quant.requantize = false;
  quantized_conv(node, require_input(node, in, 0), require_input(node, in, 1), nullptr, operands,
                 quant, out[0]);
}

// ONNX QLinearMatMul: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp.
void qlinear_matmul(const Node& node, const std::vector<const Tensor*>& in,
                    std::vector<Tensor>& out) {
  OperandQuant operands;
  operands.x_zero_point = scalar_int(node, require_input(node, in, 2), "a_zero_point");
  operands.w_zero_points = zero_points_of(node, &require_input(node, in, 5), "b_zero_point");
  const Tensor& y_zp = require_input(node, in, 7);
  OutputQuant quant = output_quant(node, scalar_float(node, require_input(node, in, 1), "a_scale"),
                                   scales_of(node, require_input(node, in, 4), "b_scale"),
                                   scalar_float(node, require_input(node, in, 6), "y_scale"),
                                   scalar_int(node, y_zp, "y_zero_point"), y_zp.type());
  quantized_matmul(node, require_input(node, in, 0), require_input(node, in, 3), nullptr, operands,
                   quant, out[0]);
}

// ONNX MatMulInteger: a, b, [a_zp], [b_zp] -> int32.
void matmul_integer(const Node& node, const std::vector<const Tensor*>& in,
                    std::vector<Tensor>& out) {
  OperandQuant operands;
  if (in.size() > 2 && in[2]) operands.x_zero_point = scalar_int(node, *in[2], "a_zero_point");
  operands.w_zero_points = zero_points_of(node, in.size() > 3 ? in[3] : nullptr, "b_zero_point");
  OutputQuant quant;
  quant.requantize = false;
  quantized_matmul(node, require_input(node, in, 0), require_input(node, in, 1), nullptr, operands,
                   quant, out[0]);
}

// cimtlm QConv / QGemm: quantization parameters as attributes (see lowering.h).
struct FusedParams {
  OperandQuant operands;
  OutputQuant quant;
};

FusedParams fused_params(const Node& node) {
  FusedParams params;
  params.operands.x_zero_point = static_cast<int32_t>(node.get_int("x_zero_point", 0));
  for (int64_t zp : node.get_ints("w_zero_points", {0})) {
    params.operands.w_zero_points.push_back(static_cast<int32_t>(zp));
  }
  const auto y_type =
      static_cast<DataType>(node.get_int("y_type", static_cast<int64_t>(DataType::Int8)));
  if (y_type == DataType::Int32) {
    params.quant.requantize = false;
    return params;
  }
  const std::vector<float> w_scales = node.get_floats("w_scales");
  params.quant = output_quant(node, node.get_float("x_scale"), w_scales, node.get_float("y_scale"),
                              static_cast<int32_t>(node.get_int("y_zero_point", 0)), y_type);
  params.quant.lo =
      std::max(params.quant.lo, static_cast<int32_t>(node.get_int("clamp_min", params.quant.lo)));
  params.quant.hi =
      std::min(params.quant.hi, static_cast<int32_t>(node.get_int("clamp_max", params.quant.hi)));
  return params;
}

void fused_conv(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const FusedParams params = fused_params(node);
  quantized_conv(node, require_input(node, in, 0), require_input(node, in, 1),
                 in.size() > 2 ? in[2] : nullptr, params.operands, params.quant, out[0]);
}

void fused_gemm(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const FusedParams params = fused_params(node);
  quantized_matmul(node, require_input(node, in, 0), require_input(node, in, 1),
                   in.size() > 2 ? in[2] : nullptr, params.operands, params.quant, out[0]);
}

// ---------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear, per tensor or per axis.

struct AxisParams {
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  int64_t inner = 1;     // elements per axis step
  int64_t channels = 1;  // extent of the axis (1: per tensor)
};

AxisParams axis_params(const Node& node, const Tensor& x, const Tensor& scale, const Tensor* zp) {
  AxisParams params;
  params.scales = scale.to_float_vector();
  params.zero_points = zp ? zero_points_of(node, zp, "zero point") : std::vector<int32_t>{0};
  if (params.scales.empty()) throw ModelError(node.describe() + ": empty scale");
  if (params.scales.size() > 1) {
    int64_t axis = node.get_int("axis", 1);
    if (axis < 0) axis += x.rank();
    if (axis < 0 || axis >= x.rank() || x.dim(axis) != static_cast<int64_t>(params.scales.size())) {
      throw ModelError(node.describe() + ": per-axis scale of " +
                       std::to_string(params.scales.size()) + " values does not match axis " +
                       std::to_string(axis) + " of shape " + to_string(x.shape()));
    }
    params.channels = x.dim(axis);
    for (int64_t d = axis + 1; d < x.rank(); ++d) params.inner *= x.dim(d);
  }
  if (params.zero_points.size() != 1 && params.zero_points.size() != params.scales.size()) {
    throw ModelError(node.describe() + ": zero point and scale have different lengths");
  }
  return params;
}

void quantize_linear(const Node& node, const std::vector<const Tensor*>& in,
                     std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  require_type(node, x, {DataType::Float, DataType::Int32}, "input x");
  const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
  const DataType y_type = zp ? zp->type() : DataType::UInt8;
  require_type(node, Tensor(y_type, {}), {DataType::Int8, DataType::UInt8}, "output");
  const AxisParams params = axis_params(node, x, require_input(node, in, 1), zp);
  out[0] = Tensor(y_type, x.shape());
  const auto lo = static_cast<int32_t>(lowest(y_type));
  const auto hi = static_cast<int32_t>(highest(y_type));
  for (int64_t i = 0; i < x.elements(); ++i) {
    const size_t channel = static_cast<size_t>((i / params.inner) % params.channels);
    const float scale = params.scales[params.scales.size() == 1 ? 0 : channel];
    const int32_t zero = params.zero_points[params.zero_points.size() == 1 ? 0 : channel];
    const float value =
        x.type() == DataType::Float ? x.data<float>()[i] : static_cast<float>(x.data<int32_t>()[i]);
    store(out[0], i, quantize(value, scale, zero, lo, hi));
  }
}

void dequantize_linear(const Node& node, const std::vector<const Tensor*>& in,
                       std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  require_type(node, x, {DataType::Int8, DataType::UInt8, DataType::Int32}, "input x");
  const AxisParams params =
      axis_params(node, x, require_input(node, in, 1), in.size() > 2 ? in[2] : nullptr);
  out[0] = Tensor(DataType::Float, x.shape());
  float* y = out[0].data<float>();
  for (int64_t i = 0; i < x.elements(); ++i) {
    const size_t channel = static_cast<size_t>((i / params.inner) % params.channels);
    const float scale = params.scales[params.scales.size() == 1 ? 0 : channel];
    const int32_t zero = params.zero_points[params.zero_points.size() == 1 ? 0 : channel];
    y[i] = dequantize(static_cast<int32_t>(x.as_int(i)), scale, zero);
  }
}

// ONNX DynamicQuantizeLinear: uint8, scale from the data range extended to include zero.
void dynamic_quantize_linear(const Node& node, const std::vector<const Tensor*>& in,
                             std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  require_type(node, x, {DataType::Float}, "input x");
  const float* values = x.data<float>();
  float min_value = 0.0f, max_value = 0.0f;
  for (int64_t i = 0; i < x.elements(); ++i) {
    min_value = std::min(min_value, values[i]);
    max_value = std::max(max_value, values[i]);
  }
  float scale = (max_value - min_value) / 255.0f;
  if (scale == 0.0f) scale = 1.0f;  // all zeros: any scale maps them to zero point 0
  const float initial_zero = 0.0f - min_value / scale;
  const int32_t zero_point = saturate(static_cast<int64_t>(round_half_even(initial_zero)), 0, 255);
  out[0] = Tensor(DataType::UInt8, x.shape());
  for (int64_t i = 0; i < x.elements(); ++i) {
    out[0].data<uint8_t>()[i] =
        static_cast<uint8_t>(quantize(values[i], scale, zero_point, 0, 255));
  }
  out[1] = Tensor::scalar<float>(scale);
  out[2] = Tensor::scalar<uint8_t>(static_cast<uint8_t>(zero_point));
}

// ---------------------------------------------------------------------------------------------
// cimtlm QLookup: y = table[x - lowest(x)] (any unary element-wise float island).

void lookup(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  require_8bit(node, x, "input x");
  const std::vector<int64_t> table = node.get_ints("table");
  if (table.size() != 256) throw ModelError(node.describe() + ": table must have 256 entries");
  const auto y_type = static_cast<DataType>(node.get_int("y_type", static_cast<int64_t>(x.type())));
  out[0] = Tensor(y_type, x.shape());
  const int64_t offset = -lowest(x.type());
  for (int64_t i = 0; i < x.elements(); ++i) {
    store(out[0], i, static_cast<int32_t>(table[static_cast<size_t>(x.as_int(i) + offset)]));
  }
}

// cimtlm QAdd / QMul: DequantizeLinear -> Add/Mul -> QuantizeLinear as onnxruntime runs it
// (scales and zero points are the attributes a_*, b_*, y_*; [lo, hi] is the output type's range
// narrowed by clamp_min / clamp_max, a fused Relu/Clip; cvt = convert_to_int32_x86, round half
// to even):
//   QAdd, arithmetic "integer" (default): ORT's fused com.microsoft QLinearAdd (MLAS, x86-64),
//         ratios to the output scale with the zero points folded into one constant, two FMAs on
//         the codes themselves:
//         ra = sa / sy, rb = sb / sy, c = float(zy) - (ra * float(za) + rb * float(zb))
//         v = fma(float(b), rb, fma(float(a), ra, c));  y = clamp(cvt(v), lo, hi)
//         (found on the zoo's ResNet-18, where it parts from the float island on a few values
//         in 10^5: scripts/ort/first_difference.py)
//   QAdd, arithmetic "float": the float island DequantizeLinear -> Add/Sub [-> Relu/Clip] ->
//         QuantizeLinear that ORT runs when it does not fuse:
//         v = (float(a - za) * sa + float(b - zb) * sb) / sy
//         y = clamp(clamp(cvt(v), type_lo - zy, type_hi - zy) + zy, lo, hi)
//   QMul, arithmetic "integer" (default): ORT's fused QLinearMul,
//         M = (sa * sb) / sy;  v = float(float((a - za) * (b - zb)) * M) + float(zy)
//         y = clamp(cvt(v), lo, hi)   -- exact integer product, zy added in float before rounding
//   QMul, arithmetic "float": the float island ORT runs when it does not fuse (a Relu/Clip between
//         Mul and QuantizeLinear that it cannot drop):
//         v = (float(a - za) * sa) * (float(b - zb) * sb);  y = QuantizeLinear(v), then [lo, hi]
// Checked bit for bit against onnxruntime 1.22 by testbenches/unit/onnx (ort_islands).
void quantized_binary(const Node& node, const std::vector<const Tensor*>& in,
                      std::vector<Tensor>& out, bool multiply) {
  const Tensor& a = require_input(node, in, 0);
  const Tensor& b = require_input(node, in, 1);
  require_8bit(node, a, "input A");
  require_8bit(node, b, "input B");
  const float a_scale = node.get_float("a_scale"), b_scale = node.get_float("b_scale");
  const float y_scale = node.get_float("y_scale");
  const auto a_zp = static_cast<int32_t>(node.get_int("a_zero_point", 0));
  const auto b_zp = static_cast<int32_t>(node.get_int("b_zero_point", 0));
  const auto y_zp = static_cast<int32_t>(node.get_int("y_zero_point", 0));
  const auto y_type = static_cast<DataType>(node.get_int("y_type", static_cast<int64_t>(a.type())));
  require_type(node, Tensor(y_type, {}), {DataType::Int8, DataType::UInt8}, "y_type");
  const auto lo = std::max(static_cast<int32_t>(lowest(y_type)),
                           static_cast<int32_t>(node.get_int("clamp_min", lowest(y_type))));
  const auto hi = std::min(static_cast<int32_t>(highest(y_type)),
                           static_cast<int32_t>(node.get_int("clamp_max", highest(y_type))));
  const Shape shape = broadcast_shape(node, a.shape(), b.shape());
  const auto a_index = broadcast_index(a.shape(), shape);
  const auto b_index = broadcast_index(b.shape(), shape);
  out[0] = Tensor(y_type, shape);
  const float multiplier = (a_scale * b_scale) / y_scale;
  const std::string arithmetic = node.get_string("arithmetic", "integer");
  if (arithmetic != "integer" && arithmetic != "float") {
    throw ModelError(node.describe() + ": arithmetic '" + arithmetic + "' is not integer or float");
  }
  const bool float_arithmetic = arithmetic == "float";
  const bool float_product = multiply && float_arithmetic;
  const float a_ratio = a_scale / y_scale, b_ratio = b_scale / y_scale;
  const float fused_constant = static_cast<float>(y_zp) - (a_ratio * static_cast<float>(a_zp) +
                                                           b_ratio * static_cast<float>(b_zp));
  for (size_t i = 0; i < a_index.size(); ++i) {
    const auto av = static_cast<int32_t>(a.as_int(a_index[i])) - a_zp;
    const auto bv = static_cast<int32_t>(b.as_int(b_index[i])) - b_zp;
    int32_t y;
    if (float_product) {
      const float product = (static_cast<float>(av) * a_scale) * (static_cast<float>(bv) * b_scale);
      y = quantize(product, y_scale, y_zp, lo, hi);
    } else if (multiply) {
      const float scaled = static_cast<float>(av * bv) * multiplier;
      y = saturate(convert_to_int32_x86(scaled + static_cast<float>(y_zp)), lo, hi);
    } else if (!float_arithmetic) {
      const float v = std::fma(static_cast<float>(bv + b_zp), b_ratio,
                               std::fma(static_cast<float>(av + a_zp), a_ratio, fused_constant));
      y = saturate(convert_to_int32_x86(v), lo, hi);
    } else {
      const float sum = static_cast<float>(av) * a_scale + static_cast<float>(bv) * b_scale;
      const int32_t q = convert_to_int32_x86(sum / y_scale);
      const auto type_lo = static_cast<int32_t>(lowest(y_type)) - y_zp;
      const auto type_hi = static_cast<int32_t>(highest(y_type)) - y_zp;
      y = saturate(int64_t{saturate(q, type_lo, type_hi)} + y_zp, lo, hi);
    }
    store(out[0], static_cast<int64_t>(i), y);
  }
}

}  // namespace

void register_quantized_kernels(KernelRegistry& registry) {
  registry.add("", "QLinearConv", qlinear_conv);
  registry.add("", "ConvInteger", conv_integer);
  registry.add("", "QLinearMatMul", qlinear_matmul);
  registry.add("", "MatMulInteger", matmul_integer);
  registry.add("", "QuantizeLinear", quantize_linear);
  registry.add("", "DequantizeLinear", dequantize_linear);
  registry.add("", "DynamicQuantizeLinear", dynamic_quantize_linear);
  registry.add(kCimtlm, "QConv", fused_conv);
  registry.add(kCimtlm, "QGemm", fused_gemm);
  registry.add(kCimtlm, "QLookup", lookup);
  registry.add(kCimtlm, "QAdd",
               [](const Node& node, const std::vector<const Tensor*>& in,
                  std::vector<Tensor>& out) { quantized_binary(node, in, out, false); });
  registry.add(kCimtlm, "QMul",
               [](const Node& node, const std::vector<const Tensor*>& in,
                  std::vector<Tensor>& out) { quantized_binary(node, in, out, true); });
  register_island_kernels(registry);
  register_com_microsoft_kernels(registry);
}

}  // namespace cimtlm::graph
