// Element-wise and normalisation kernels of the reference executor with ONNX semantics:
// Identity, Relu, Clip, HardSigmoid, HardSwish, Sigmoid, Add, Mul, Softmax, BatchNormalization.
//
// The graph the executor runs always follows the op semantics of opset 13..17: the importer
// (compiler/onnx) rewrites older forms (Clip min/max attributes before opset 11, Softmax's 2-D
// coercion before opset 13) when it loads a model.
//
// Float arithmetic is plain float32 (no fused multiply-add: the build uses no -march and ISO C++
// mode, so GCC does not contract a*b+c), evaluated in the order written in each comment. Where
// onnxruntime's CPU kernels use a specific formula (Sigmoid, Softmax), the kernel follows it so
// that quantized float islands come out bit-exact to onnxruntime (see the comments there).
#include <algorithm>
#include <cmath>
#include <limits>

#include "compiler/graph/broadcast.h"
#include "compiler/graph/kernel_sets.h"

namespace cimtlm::graph {

int64_t normalize_axis(const Node& node, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    throw ModelError(node.describe() + ": axis " + std::to_string(axis) +
                     " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

void identity(const Node& node, const Inputs& in, Outputs& out) {
  out[0] = require_input(node, in, 0);
}

// y[i] = f(x[i]) for element type T.
template <typename T, typename F>
void map_unary(const Tensor& x, Tensor& y, F f) {
  y = Tensor(x.type(), x.shape());
  const T* in = x.data<T>();
  T* values = y.data<T>();
  const int64_t count = x.elements();
  for (int64_t i = 0; i < count; ++i) values[i] = f(in[i]);
}

void relu(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  visit_numeric(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    map_unary<T>(x, out[0], [](T v) { return std::max<T>(v, T(0)); });
  });
}

// Clip (opset 11+): y = min(max(x, min), max); a missing bound is the type's limit. With
// min > max every element becomes max (numpy.clip and onnxruntime agree).
void clip(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  visit_numeric(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    T lo = std::numeric_limits<T>::lowest();
    T hi = std::numeric_limits<T>::max();
    for (size_t index : {size_t{1}, size_t{2}}) {
      if (index >= in.size() || in[index] == nullptr) continue;
      const Tensor& bound = *in[index];
      if (bound.type() != x.type() || bound.elements() != 1) {
        throw ModelError(node.describe() + ": " + (index == 1 ? "min" : "max") +
                         " must be a scalar of the input's type " + to_string(x.type()));
      }
      (index == 1 ? lo : hi) = bound.data<T>()[0];
    }
    map_unary<T>(x, out[0], [lo, hi](T v) { return std::min(std::max(v, lo), hi); });
  });
}

// HardSigmoid: y = max(0, min(1, alpha * x + beta)), multiply then add in float32.
template <typename T>
T hard_sigmoid_value(T x, T alpha, T beta) {
  const T scaled = alpha * x;
  const T shifted = scaled + beta;
  return std::max(T(0), std::min(T(1), shifted));
}

void hard_sigmoid(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const float alpha = node.get_float("alpha", 0.2f);
  const float beta = node.get_float("beta", 0.5f);
  visit_floating(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    map_unary<T>(x, out[0], [&](T v) { return hard_sigmoid_value<T>(v, T(alpha), T(beta)); });
  });
}

// HardSwish (opset 14): y = x * HardSigmoid(x) with alpha = 1/6, beta = 0.5, i.e. exactly the
// Mul(x, HardSigmoid(x)) pattern that exporters emit before opset 14.
void hard_swish(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  visit_floating(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    const T alpha = T(1.0f / 6.0f), beta = T(0.5f);
    map_unary<T>(x, out[0], [&](T v) { return v * hard_sigmoid_value<T>(v, alpha, beta); });
  });
}

// Sigmoid. float32: the rational approximation onnxruntime's MLAS uses on x86-64 with FMA3
// (LogisticKernelFma3, Eigen's coefficients): x clamped to [-18, 18], p(x) = x * P(x^2) and
// q(x) = Q(x^2) evaluated by Horner's rule with fused multiply-adds, y = max(p / q + 0.5, 0).
// Bit-exact with onnxruntime's Sigmoid and QLinearSigmoid tables; within 1e-7 of 1/(1+e^-x).
// float64: 1 / (1 + exp(-x)).
float logistic(float x) {
  constexpr float kAlpha[] = {4.37031012579801e-11f, 1.15627324459942e-07f, 6.08574864600143e-05f,
                              8.51377133304701e-03f, 2.48287947061529e-01f};
  constexpr float kBeta[] = {6.10247389755681e-13f, 5.76102136993427e-09f, 6.29106785017040e-06f,
                             1.70198817374094e-03f, 1.16817656904453e-01f, 9.93151921023180e-01f};
  // NaN stays NaN (the comparisons are false), like the MLAS kernel's max/min operand order.
  const float value = x < -18.0f ? -18.0f : (x > 18.0f ? 18.0f : x);
  const float squared = value * value;
  float p = std::fma(squared, kAlpha[0], kAlpha[1]);
  for (size_t k = 2; k < 5; ++k) p = std::fma(squared, p, kAlpha[k]);
  float q = std::fma(squared, kBeta[0], kBeta[1]);
  for (size_t k = 2; k < 6; ++k) q = std::fma(squared, q, kBeta[k]);
  p = value * p;
  const float y = p / q + 0.5f;
  return y > 0.0f ? y : (std::isnan(y) ? y : 0.0f);
}

void sigmoid(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  if (x.type() == DataType::Float) {
    map_unary<float>(x, out[0], logistic);
    return;
  }
  visit_floating(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    map_unary<T>(x, out[0], [](T v) { return T(1) / (T(1) + std::exp(-v)); });
  });
}

// Add / Mul with NumPy broadcasting. Integer types wrap around (two's complement), as numpy and
// onnxruntime do.
template <typename T, typename Op>
void binary_typed(const Node& node, const Tensor& a, const Tensor& b, Tensor& y, Op op) {
  const Shape shape = broadcast_shape(node, a.shape(), b.shape());
  y = Tensor(a.type(), shape);
  const T* av = a.data<T>();
  const T* bv = b.data<T>();
  T* yv = y.data<T>();
  const int64_t count = y.elements();
  if (a.shape() == shape && b.shape() == shape) {
    for (int64_t i = 0; i < count; ++i) yv[i] = op(av[i], bv[i]);
  } else if (a.shape() == shape && b.elements() == 1) {
    const T scalar = bv[0];
    for (int64_t i = 0; i < count; ++i) yv[i] = op(av[i], scalar);
  } else if (b.shape() == shape && a.elements() == 1) {
    const T scalar = av[0];
    for (int64_t i = 0; i < count; ++i) yv[i] = op(scalar, bv[i]);
  } else {
    const auto a_index = broadcast_index(a.shape(), shape);
    const auto b_index = broadcast_index(b.shape(), shape);
    for (int64_t i = 0; i < count; ++i) yv[i] = op(av[a_index[i]], bv[b_index[i]]);
  }
}

template <typename T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}

template <typename T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // Multiply in a wide unsigned type so that neither overflow nor integer promotion of the
    // narrow types is undefined behaviour, then truncate.
    using Wide = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
    return static_cast<T>(static_cast<Wide>(static_cast<Wide>(a) * static_cast<Wide>(b)));
  } else {
    return a * b;
  }
}

void binary(const Node& node, const Inputs& in, Outputs& out, bool multiply) {
  const Tensor& a = require_input(node, in, 0);
  const Tensor& b = require_input(node, in, 1);
  if (a.type() != b.type()) {
    throw ModelError(node.describe() + ": inputs have different types " + to_string(a.type()) +
                     " and " + to_string(b.type()));
  }
  visit_numeric(node, a.type(), "input A", [&](auto zero) {
    using T = decltype(zero);
    if (multiply) {
      binary_typed<T>(node, a, b, out[0], wrap_mul<T>);
    } else {
      binary_typed<T>(node, a, b, out[0], wrap_add<T>);
    }
  });
}

// Softmax (opset 13): along `axis` (default -1),
//   m = max(x);  e = exp(x - m);  s = sum(e) (in order);  y = e * (1 / s)
// in float32, the order onnxruntime's MLAS softmax uses (it multiplies by the reciprocal).
template <typename T>
void softmax_typed(const Node& node, const Tensor& x, Tensor& y) {
  const int64_t axis = normalize_axis(node, node.get_int("axis", -1), std::max<int64_t>(x.rank(), 1));
  int64_t outer = 1, inner = 1;
  const int64_t extent = x.rank() == 0 ? 1 : x.dim(axis);
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  y = Tensor(x.type(), x.shape());
  const T* in = x.data<T>();
  T* values = y.data<T>();
  std::vector<T> row(static_cast<size_t>(extent));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * extent * inner + i;
      T maximum = -std::numeric_limits<T>::infinity();
      for (int64_t k = 0; k < extent; ++k) maximum = std::max(maximum, in[base + k * inner]);
      T sum = 0;
      for (int64_t k = 0; k < extent; ++k) {
        row[k] = std::exp(in[base + k * inner] - maximum);
        sum += row[k];
      }
      const T reciprocal = T(1) / sum;
      for (int64_t k = 0; k < extent; ++k) values[base + k * inner] = row[k] * reciprocal;
    }
  }
}

void softmax(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  visit_floating(node, x.type(), "input", [&](auto zero) {
    softmax_typed<decltype(zero)>(node, x, out[0]);
  });
}

// BatchNormalization, inference mode: y = (x - mean) / sqrt(var + epsilon) * scale + B per
// channel (axis 1), in the order of the ONNX definition. Usually folded into the preceding
// Conv/Gemm (fold_batch_norm.h); this kernel runs the ones that cannot be folded. Training mode
// is rejected (the importer already refuses it).
void batch_normalization(const Node& node, const Inputs& in, Outputs& out) {
  if (node.get_int("training_mode", 0) != 0) {
    throw ModelError(node.describe() + ": training_mode=1 is not supported (inference only)");
  }
  const Tensor& x = require_input(node, in, 0);
  if (x.rank() < 2) {
    throw ModelError(node.describe() + ": input must be [N, C, ...], got " + to_string(x.shape()));
  }
  const float epsilon = node.get_float("epsilon", 1e-5f);
  const int64_t channels = x.dim(1);
  const char* names[] = {"scale", "B", "input_mean", "input_var"};
  for (size_t index = 1; index <= 4; ++index) {
    const Tensor& parameter = require_input(node, in, index);
    if (parameter.type() != x.type() || parameter.elements() != channels) {
      throw ModelError(node.describe() + ": " + names[index - 1] + " must hold " +
                       std::to_string(channels) + " values of type " + to_string(x.type()) +
                       ", got " + to_string(parameter.shape()) + " " +
                       to_string(parameter.type()));
    }
  }
  int64_t inner = 1;
  for (int64_t d = 2; d < x.rank(); ++d) inner *= x.dim(d);
  visit_floating(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    const T* scale = in[1]->data<T>();
    const T* bias = in[2]->data<T>();
    const T* mean = in[3]->data<T>();
    const T* variance = in[4]->data<T>();
    out[0] = Tensor(x.type(), x.shape());
    const T* xv = x.data<T>();
    T* yv = out[0].data<T>();
    for (int64_t n = 0; n < x.dim(0); ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const T deviation = std::sqrt(variance[c] + T(epsilon));
        const int64_t base = (n * channels + c) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          yv[base + i] = (xv[base + i] - mean[c]) / deviation * scale[c] + bias[c];
        }
      }
    }
  });
}

}  // namespace

void register_float_kernels(KernelRegistry& registry) {
  registry.add("", "Identity", identity);
  registry.add("", "Relu", relu);
  registry.add("", "Clip", clip);
  registry.add("", "HardSigmoid", hard_sigmoid);
  registry.add("", "HardSwish", hard_swish);
  registry.add("", "Sigmoid", sigmoid);
  registry.add("", "Add", [](const Node& node, const Inputs& in, Outputs& out) {
    binary(node, in, out, false);
  });
  registry.add("", "Mul", [](const Node& node, const Inputs& in, Outputs& out) {
    binary(node, in, out, true);
  });
  registry.add("", "Softmax", softmax);
  registry.add("", "BatchNormalization", batch_normalization);
  register_float_linear_kernels(registry);
  register_tensor_kernels(registry);
  register_math_kernels(registry);
  register_reduce_kernels(registry);
  register_shape_kernels(registry);
  register_conv_transpose_kernel(registry);
}

}  // namespace cimtlm::graph
