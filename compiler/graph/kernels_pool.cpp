// Pooling kernels: ONNX MaxPool (float and 8-bit, with optional Indices), AveragePool,
// GlobalAveragePool, GlobalMaxPool, and the quantized islands cimtlm.QAveragePool and
// cimtlm.QGlobalAveragePool (DequantizeLinear -> pool -> QuantizeLinear with onnxruntime's
// arithmetic, see the comments there).
#include <cmath>
#include <limits>

#include "compiler/graph/conv_geometry.h"
#include "compiler/graph/kernel_registry.h"
#include "compiler/graph/quantized_math.h"

namespace cimtlm::graph {

namespace {

Shape pooled_shape(const Tensor& x, const Conv2dGeometry& g) {
  Shape shape = {g.batch, g.in_channels};
  if (x.rank() == 4) shape.push_back(g.out_height);
  shape.push_back(g.out_width);
  return shape;
}

Conv2dGeometry pool_geometry(const Node& node, const Tensor& x) {
  const std::vector<int64_t> kernel = node.get_ints("kernel_shape");
  const bool ceil_mode = node.get_int("ceil_mode", 0) != 0;
  return resolve_geometry(node, x.shape(), kernel, ceil_mode);
}

template <typename T>
void max_pool_typed(const Node& node, const Tensor& x, std::vector<Tensor>& out) {
  const Conv2dGeometry g = pool_geometry(node, x);
  out[0] = Tensor(x.type(), pooled_shape(x, g));
  const bool want_indices = out.size() > 1 && !node.outputs[1].empty();
  if (want_indices) out[1] = Tensor(DataType::Int64, out[0].shape());
  const bool column_major = node.get_int("storage_order", 0) != 0;
  const T* in = x.data<T>();
  T* y = out[0].data<T>();
  int64_t index = 0;
  for (int64_t nc = 0; nc < g.batch * g.in_channels; ++nc) {
    const T* plane = in + nc * g.in_height * g.in_width;
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      for (int64_t ow = 0; ow < g.out_width; ++ow, ++index) {
        T best = std::numeric_limits<T>::lowest();
        int64_t best_at = -1;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.in_height) continue;
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            if (iw < 0 || iw >= g.in_width) continue;
            const T value = plane[ih * g.in_width + iw];
            if (best_at < 0 || value > best) {
              best = value;
              best_at = column_major ? iw * g.in_height + ih : ih * g.in_width + iw;
            }
          }
        }
        y[index] = best;
        if (want_indices) {
          out[1].data<int64_t>()[index] = nc * g.in_height * g.in_width + best_at;
        }
      }
    }
  }
}

void max_pool(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  switch (x.type()) {
    case DataType::Float: max_pool_typed<float>(node, x, out); break;
    case DataType::Double: max_pool_typed<double>(node, x, out); break;
    case DataType::Int8: max_pool_typed<int8_t>(node, x, out); break;
    case DataType::UInt8: max_pool_typed<uint8_t>(node, x, out); break;
    default:
      throw ModelError(node.describe() + ": MaxPool on " + to_string(x.type()) +
                       " is not supported");
  }
}

// Average over each window in float32, summing in window order (row-major). `read(i)` gives the
// float value of input element i; `write(i, mean)` stores output element i.
template <typename Read, typename Write>
void average_pool_core(const Node& node, const Tensor& x, const Conv2dGeometry& g,
                       bool count_include_pad, Read read, Write write) {
  int64_t index = 0;
  for (int64_t nc = 0; nc < g.batch * g.in_channels; ++nc) {
    const int64_t plane = nc * g.in_height * g.in_width;
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      for (int64_t ow = 0; ow < g.out_width; ++ow, ++index) {
        float sum = 0.0f;
        int64_t count = 0;
        int64_t padded_count = 0;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            // Positions beyond the explicit padding (ceil_mode) never count.
            if (ih < -g.pad_top || ih >= g.in_height + g.pad_bottom || iw < -g.pad_left ||
                iw >= g.in_width + g.pad_right) {
              continue;
            }
            ++padded_count;
            if (ih < 0 || ih >= g.in_height || iw < 0 || iw >= g.in_width) continue;
            sum += read(plane + ih * g.in_width + iw);
            ++count;
          }
        }
        const int64_t divisor = count_include_pad ? padded_count : count;
        write(index, divisor > 0 ? sum / static_cast<float>(divisor) : 0.0f);
      }
    }
  }
}

void average_pool(const Node& node, const std::vector<const Tensor*>& in,
                  std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  require_type(node, x, {DataType::Float}, "input X");
  const Conv2dGeometry g = pool_geometry(node, x);
  out[0] = Tensor(DataType::Float, pooled_shape(x, g));
  const float* values = x.data<float>();
  float* y = out[0].data<float>();
  average_pool_core(
      node, x, g, node.get_int("count_include_pad", 0) != 0,
      [&](int64_t i) { return values[i]; }, [&](int64_t i, float mean) { y[i] = mean; });
}

Conv2dGeometry global_geometry(const Node& node, const Tensor& x) {
  if (x.rank() < 3) {
    throw ModelError(node.describe() + ": input must be [N, C, ...], got " + to_string(x.shape()));
  }
  Conv2dGeometry g;
  g.batch = x.dim(0);
  g.in_channels = x.dim(1);
  g.in_height = 1;
  for (int64_t axis = 2; axis < x.rank() - 1; ++axis) g.in_height *= x.dim(axis);
  g.in_width = x.dim(x.rank() - 1);
  g.kernel_h = g.in_height;
  g.kernel_w = g.in_width;
  return g;
}

Shape global_shape(const Tensor& x) {
  Shape shape = x.shape();
  for (size_t axis = 2; axis < shape.size(); ++axis) shape[axis] = 1;
  return shape;
}

void global_average_pool(const Node& node, const std::vector<const Tensor*>& in,
                         std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  require_type(node, x, {DataType::Float}, "input X");
  const Conv2dGeometry g = global_geometry(node, x);
  out[0] = Tensor(DataType::Float, global_shape(x));
  const float* values = x.data<float>();
  float* y = out[0].data<float>();
  average_pool_core(
      node, x, g, false, [&](int64_t i) { return values[i]; },
      [&](int64_t i, float mean) { y[i] = mean; });
}

void global_max_pool(const Node& node, const std::vector<const Tensor*>& in,
                     std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  require_type(node, x, {DataType::Float}, "input X");
  const Conv2dGeometry g = global_geometry(node, x);
  out[0] = Tensor(DataType::Float, global_shape(x));
  const float* values = x.data<float>();
  const int64_t plane = g.in_height * g.in_width;
  for (int64_t nc = 0; nc < g.batch * g.in_channels; ++nc) {
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < plane; ++i) best = std::max(best, values[nc * plane + i]);
    out[0].data<float>()[nc] = best;
  }
}

// cimtlm.QGlobalAveragePool: attributes x_scale, x_zero_point, y_scale, y_zero_point. As
// onnxruntime's QLinearGlobalAveragePool (MLAS) computes it: an exact integer sum and one
// requantization,
//   acc = sum(x) - x_zero_point * N;  y = requantize(acc, x_scale / (y_scale * float(N)), y_zp)
// (quantized_math.h), not the float mean of dequantized values.
void quantized_global_average(const Node& node, const Tensor& x, Tensor& y) {
  const Conv2dGeometry g = global_geometry(node, x);
  const float x_scale = node.get_float("x_scale"), y_scale = node.get_float("y_scale");
  const auto x_zp = static_cast<int32_t>(node.get_int("x_zero_point", 0));
  const auto y_zp = static_cast<int32_t>(node.get_int("y_zero_point", 0));
  const int64_t count = g.in_height * g.in_width;
  const float multiplier = x_scale / (y_scale * static_cast<float>(count));
  const auto lo = static_cast<int32_t>(lowest(x.type()));
  const auto hi = static_cast<int32_t>(highest(x.type()));
  y = Tensor(x.type(), global_shape(x));
  for (int64_t nc = 0; nc < g.batch * g.in_channels; ++nc) {
    int64_t acc = -int64_t{x_zp} * count;
    for (int64_t i = 0; i < count; ++i) acc += x.as_int(nc * count + i);
    const int32_t q = requantize(static_cast<int32_t>(acc), multiplier, y_zp, lo, hi);
    if (y.type() == DataType::Int8) {
      y.data<int8_t>()[nc] = static_cast<int8_t>(q);
    } else {
      y.data<uint8_t>()[nc] = static_cast<uint8_t>(q);
    }
  }
}

// cimtlm.QAveragePool: attributes x_scale, x_zero_point, y_scale, y_zero_point and those of
// AveragePool. As onnxruntime's QLinearAveragePool computes it:
//   * a window covering the whole (unpadded) input is QGlobalAveragePool (ORT falls back to it);
//   * otherwise the window's dequantized values x_scale * (x - x_zp) are summed in float32 in
//     row-major order, divided by the count (the clipped window, or kernel_h * kernel_w with
//     count_include_pad), and  y = clamp(cvt(mean / y_scale + float(y_zp)))  -- the zero point
//     is added in float before rounding (cvt = convert_to_int32_x86).
void quantized_average(const Node& node, const std::vector<const Tensor*>& in,
                       std::vector<Tensor>& out, bool global) {
  const Tensor& x = require_input(node, in, 0);
  require_type(node, x, {DataType::Int8, DataType::UInt8}, "input X");
  if (global) {
    quantized_global_average(node, x, out[0]);
    return;
  }
  const Conv2dGeometry g = pool_geometry(node, x);
  const bool whole_input = g.kernel_h == g.in_height && g.kernel_w == g.in_width &&
                           g.pad_top == 0 && g.pad_left == 0 && g.pad_bottom == 0 &&
                           g.pad_right == 0;
  if (whole_input) {
    quantized_global_average(node, x, out[0]);
    return;
  }
  const float x_scale = node.get_float("x_scale"), y_scale = node.get_float("y_scale");
  const auto x_zp = static_cast<int32_t>(node.get_int("x_zero_point", 0));
  const auto y_zp = static_cast<int32_t>(node.get_int("y_zero_point", 0));
  const bool include_pad = node.get_int("count_include_pad", 0) != 0;
  out[0] = Tensor(x.type(), pooled_shape(x, g));
  Tensor& y = out[0];
  const auto lo = static_cast<int32_t>(lowest(x.type()));
  const auto hi = static_cast<int32_t>(highest(x.type()));
  int64_t index = 0;
  for (int64_t nc = 0; nc < g.batch * g.in_channels; ++nc) {
    const int64_t plane = nc * g.in_height * g.in_width;
    for (int64_t oh = 0; oh < g.out_height; ++oh) {
      const int64_t h_start = oh * g.stride_h - g.pad_top;
      const int64_t h_end = std::min(h_start + g.kernel_h, g.in_height);
      for (int64_t ow = 0; ow < g.out_width; ++ow, ++index) {
        const int64_t w_start = ow * g.stride_w - g.pad_left;
        const int64_t w_end = std::min(w_start + g.kernel_w, g.in_width);
        float sum = 0.0f;
        for (int64_t ih = std::max<int64_t>(h_start, 0); ih < h_end; ++ih) {
          for (int64_t iw = std::max<int64_t>(w_start, 0); iw < w_end; ++iw) {
            sum += x_scale * static_cast<float>(x.as_int(plane + ih * g.in_width + iw) - x_zp);
          }
        }
        const int64_t count = include_pad ? g.kernel_h * g.kernel_w
                                          : (h_end - std::max<int64_t>(h_start, 0)) *
                                                (w_end - std::max<int64_t>(w_start, 0));
        const float mean = sum / static_cast<float>(count);
        const int32_t q =
            saturate(convert_to_int32_x86(mean / y_scale + static_cast<float>(y_zp)), lo, hi);
        if (y.type() == DataType::Int8) {
          y.data<int8_t>()[index] = static_cast<int8_t>(q);
        } else {
          y.data<uint8_t>()[index] = static_cast<uint8_t>(q);
        }
      }
    }
  }
}

}  // namespace

void register_pool_kernels(KernelRegistry& registry) {
  registry.add("", "MaxPool", max_pool);
  registry.add("", "AveragePool", average_pool);
  registry.add("", "GlobalAveragePool", global_average_pool);
  registry.add("", "GlobalMaxPool", global_max_pool);
  registry.add("cimtlm", "QAveragePool",
               [](const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
                 quantized_average(node, in, out, false);
               });
  registry.add("cimtlm", "QGlobalAveragePool",
               [](const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
                 quantized_average(node, in, out, true);
               });
}

}  // namespace cimtlm::graph
