// Float convolution and matrix kernels of the reference executor: ONNX Conv (1-D/2-D, strides,
// pads, auto_pad, dilations, groups incl. depthwise), Gemm (alpha, beta, transA, transB,
// broadcast C) and MatMul (NumPy batch broadcasting).
//
// Accumulation is float32 (float64 for double tensors) in index order; the loops keep the
// innermost dimension contiguous so that the compiler vectorises them. Float32 MatMul follows
// onnxruntime's MLAS SGEMM order instead (sgemm_mlas_order), so that float MatMuls left in a
// quantized island come out as onnxruntime's.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "compiler/graph/broadcast.h"
#include "compiler/graph/conv_geometry.h"
#include "compiler/graph/kernel_sets.h"
#include "compiler/graph/matmul_geometry.h"

namespace cimtlm::graph {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

// out[m][p] (+)= sum_k a[m][k] * b[k][p]; a is rows x inner, b is inner x cols, all row-major.
template <typename T>
void multiply_accumulate(const T* a, const T* b, T* out, int64_t rows, int64_t inner, int64_t cols,
                         int64_t a_row_stride, int64_t a_col_stride) {
  for (int64_t m = 0; m < rows; ++m) {
    T* out_row = out + m * cols;
    for (int64_t k = 0; k < inner; ++k) {
      const T factor = a[m * a_row_stride + k * a_col_stride];
      const T* b_row = b + k * cols;
      for (int64_t p = 0; p < cols; ++p) out_row[p] += factor * b_row[p];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conv: Y[n, m] = B[m] + sum over the group's channels and the kernel window of X * W.

template <typename T>
void conv_typed(const Node& node, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  if (w.rank() != x.rank()) {
    throw ModelError(node.describe() + ": weight shape " + to_string(w.shape()) +
                     " does not match input shape " + to_string(x.shape()));
  }
  const std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  if (node.has("kernel_shape") && node.get_ints("kernel_shape") != kernel) {
    throw ModelError(node.describe() + ": kernel_shape attribute does not match weight shape " +
                     to_string(w.shape()));
  }
  const Conv2dGeometry g = resolve_geometry(node, x.shape(), kernel);
  const int64_t out_channels = w.dim(0);
  if (g.group < 1 || g.in_channels % g.group != 0 || out_channels % g.group != 0 ||
      w.dim(1) * g.group != g.in_channels) {
    throw ModelError(node.describe() + ": group " + std::to_string(g.group) +
                     " does not fit input shape " + to_string(x.shape()) + " and weight shape " +
                     to_string(w.shape()));
  }
  if (bias && (bias->type() != x.type() || bias->elements() != out_channels)) {
    throw ModelError(node.describe() + ": bias must hold " + std::to_string(out_channels) +
                     " values of type " + to_string(x.type()));
  }
  Shape out_shape = {g.batch, out_channels};
  if (x.rank() == 4) out_shape.push_back(g.out_height);
  out_shape.push_back(g.out_width);
  y = Tensor(x.type(), out_shape);

  const int64_t group_in = g.in_channels / g.group;
  const int64_t group_out = out_channels / g.group;
  const int64_t patch = group_in * g.kernel_h * g.kernel_w;
  const int64_t positions = g.out_height * g.out_width;
  const int64_t plane = g.in_height * g.in_width;
  const T* xv = x.data<T>();
  const T* wv = w.data<T>();
  T* yv = y.data<T>();
  std::vector<T> columns(static_cast<size_t>(patch * positions));
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t group = 0; group < g.group; ++group) {
      // im2col: columns[k][p] with zeros in the padding.
      for (int64_t c = 0; c < group_in; ++c) {
        const T* channel = xv + (n * g.in_channels + group * group_in + c) * plane;
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            T* row = columns.data() + ((c * g.kernel_h + kh) * g.kernel_w + kw) * positions;
            for (int64_t oh = 0; oh < g.out_height; ++oh) {
              const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
              T* out_row = row + oh * g.out_width;
              if (ih < 0 || ih >= g.in_height) {
                std::fill(out_row, out_row + g.out_width, T(0));
                continue;
              }
              const T* in_row = channel + ih * g.in_width;
              for (int64_t ow = 0; ow < g.out_width; ++ow) {
                const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                out_row[ow] = (iw >= 0 && iw < g.in_width) ? in_row[iw] : T(0);
              }
            }
          }
        }
      }
      T* out_group = yv + (n * out_channels + group * group_out) * positions;
      multiply_accumulate(wv + group * group_out * patch, columns.data(), out_group, group_out,
                          patch, positions, patch, 1);
      if (bias) {
        const T* bv = bias->data<T>() + group * group_out;
        for (int64_t m = 0; m < group_out; ++m) {
          T* out_row = out_group + m * positions;
          for (int64_t p = 0; p < positions; ++p) out_row[p] += bv[m];
        }
      }
    }
  }
}

void conv(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const Tensor& w = require_input(node, in, 1);
  if (w.type() != x.type()) {
    throw ModelError(node.describe() + ": weight type " + to_string(w.type()) +
                     " differs from input type " + to_string(x.type()));
  }
  const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
  visit_floating(node, x.type(), "input X",
                 [&](auto zero) { conv_typed<decltype(zero)>(node, x, w, bias, out[0]); });
}

// ---------------------------------------------------------------------------------------------
// Gemm: Y = alpha * op(A) * op(B) + beta * C, C broadcast to [M, N].

template <typename T>
void gemm_typed(const Node& node, const Tensor& a, const Tensor& b, const Tensor* c, Tensor& y) {
  if (a.rank() != 2 || b.rank() != 2) {
    throw ModelError(node.describe() + ": A and B must be matrices, got " + to_string(a.shape()) +
                     " and " + to_string(b.shape()));
  }
  const bool trans_a = node.get_int("transA", 0) != 0;
  const bool trans_b = node.get_int("transB", 0) != 0;
  const T alpha = static_cast<T>(node.get_float("alpha", 1.0f));
  const T beta = static_cast<T>(node.get_float("beta", 1.0f));
  const int64_t rows = trans_a ? a.dim(1) : a.dim(0);
  const int64_t inner = trans_a ? a.dim(0) : a.dim(1);
  const int64_t inner_b = trans_b ? b.dim(1) : b.dim(0);
  const int64_t cols = trans_b ? b.dim(0) : b.dim(1);
  if (inner != inner_b) {
    throw ModelError(node.describe() + ": inner dimensions differ: A " + to_string(a.shape()) +
                     (trans_a ? " transposed" : "") + " and B " + to_string(b.shape()) +
                     (trans_b ? " transposed" : ""));
  }
  y = Tensor(a.type(), {rows, cols});
  T* yv = y.data<T>();
  // B as [inner][cols] row-major.
  std::vector<T> b_rows;
  const T* bv = b.data<T>();
  if (trans_b) {
    b_rows.resize(static_cast<size_t>(inner * cols));
    for (int64_t k = 0; k < inner; ++k) {
      for (int64_t j = 0; j < cols; ++j) b_rows[k * cols + j] = bv[j * inner + k];
    }
    bv = b_rows.data();
  }
  multiply_accumulate(a.data<T>(), bv, yv, rows, inner, cols, trans_a ? 1 : inner,
                      trans_a ? rows : 1);
  std::vector<int64_t> c_index;
  const T* cv = nullptr;
  if (c) {
    if (c->type() != a.type()) {
      throw ModelError(node.describe() + ": C has type " + to_string(c->type()));
    }
    const Shape target = {rows, cols};
    if (broadcast_shape(node, c->shape(), target) != target) {
      throw ModelError(node.describe() + ": C of shape " + to_string(c->shape()) +
                       " does not broadcast to " + to_string(target));
    }
    c_index = broadcast_index(c->shape(), target);
    cv = c->data<T>();
  }
  for (int64_t i = 0; i < rows * cols; ++i) {
    T value = alpha * yv[i];
    if (cv) value += beta * cv[c_index[i]];
    yv[i] = value;
  }
}

void gemm(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& a = require_input(node, in, 0);
  const Tensor& b = require_input(node, in, 1);
  if (a.type() != b.type()) {
    throw ModelError(node.describe() + ": A and B have different types");
  }
  const Tensor* c = in.size() > 2 ? in[2] : nullptr;
  visit_floating(node, a.type(), "input A",
                 [&](auto zero) { gemm_typed<decltype(zero)>(node, a, b, c, out[0]); });
}

// ---------------------------------------------------------------------------------------------
// out[m][p] = sum_k a[m][k] * b[k][p] in onnxruntime's MLAS SGEMM order (measured against
// onnxruntime 1.22 on x86-64, bit for bit): K in blocks of 256, each block a fused
// multiply-add chain from zero in k order, the blocks' results added in order.
void sgemm_mlas_order(const float* a, const float* b, float* out, int64_t rows, int64_t inner,
                      int64_t cols) {
  constexpr int64_t kBlock = 256;
  std::vector<float> part(static_cast<size_t>(cols));
  for (int64_t m = 0; m < rows; ++m) {
    float* out_row = out + m * cols;
    for (int64_t k0 = 0; k0 < inner; k0 += kBlock) {
      std::fill(part.begin(), part.end(), 0.0f);
      for (int64_t k = k0; k < std::min(inner, k0 + kBlock); ++k) {
        const float factor = a[m * inner + k];
        const float* b_row = b + k * cols;
        for (int64_t p = 0; p < cols; ++p) part[p] = std::fma(factor, b_row[p], part[p]);
      }
      for (int64_t p = 0; p < cols; ++p) out_row[p] = k0 == 0 ? part[p] : part[p] + out_row[p];
    }
  }
}

// MatMul with numpy.matmul semantics (1-D operands promoted and the added axis removed).

template <typename T>
void matmul_typed(const Node& node, const Tensor& a, const Tensor& b, Tensor& y) {
  const MatMulGeometry g = resolve_matmul(node, a.shape(), b.shape());
  y = Tensor(a.type(), g.output);
  T* yv = y.data<T>();
  for (size_t index = 0; index < g.a_batch.size(); ++index) {
    if constexpr (std::is_same_v<T, float>) {
      sgemm_mlas_order(a.data<T>() + g.a_batch[index] * g.rows * g.inner,
                       b.data<T>() + g.b_batch[index] * g.inner * g.cols,
                       yv + static_cast<int64_t>(index) * g.rows * g.cols, g.rows, g.inner, g.cols);
      continue;
    }
    multiply_accumulate(a.data<T>() + g.a_batch[index] * g.rows * g.inner,
                        b.data<T>() + g.b_batch[index] * g.inner * g.cols,
                        yv + static_cast<int64_t>(index) * g.rows * g.cols, g.rows, g.inner, g.cols,
                        g.inner, 1);
  }
}

void matmul(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& a = require_input(node, in, 0);
  const Tensor& b = require_input(node, in, 1);
  if (a.type() != b.type()) {
    throw ModelError(node.describe() + ": A and B have different types");
  }
  visit_floating(node, a.type(), "input A",
                 [&](auto zero) { matmul_typed<decltype(zero)>(node, a, b, out[0]); });
}

}  // namespace

void register_float_linear_kernels(KernelRegistry& registry) {
  registry.add("", "Conv", conv);
  registry.add("", "Gemm", gemm);
  registry.add("", "MatMul", matmul);
}

}  // namespace cimtlm::graph
