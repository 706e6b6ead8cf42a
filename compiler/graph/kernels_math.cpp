// Element-wise math kernels of the reference executor with ONNX semantics: Sub, Div, Pow, Min,
// Max, PRelu, Where (NumPy broadcasting), Sqrt, Reciprocal, Exp, Log, Erf, Tanh, Abs, Neg,
// LeakyRelu, Gelu (opset 20), Cast (numeric types).
//
// float32 follows what onnxruntime 1.22's CPU kernels compute (scripts/ort/README.md), so that
// the lookup tables and float islands built from these kernels come out as onnxruntime's:
//   * Sub, Div, Min, Max, Sqrt, Reciprocal, Abs, Neg, LeakyRelu, PRelu, Where: exact IEEE
//     operations (Eigen / plain loops in onnxruntime; nothing to approximate).
//   * Pow: x * x for an exponent of 2, x * x * x for 3, std::pow otherwise (onnxruntime's
//     special cases).
//   * Tanh, Erf: the MLAS rational / polynomial approximations with fused multiply-adds
//     (TanhKernelFma3, ErfKernelFma3 on x86-64 with AVX2), see tanh_mlas / erf_mlas.
//   * Gelu: 0.5 * x * (erf(x * M_SQRT1_2) + 1) with the MLAS erf; "tanh" approximation with the
//     MLAS tanh, the order of onnxruntime's Gelu kernel.
//   * Exp, Log: the C library's expf / logf (onnxruntime uses Eigen's vectorized exp / log; the
//     two agree to within an ulp, so a quantized island can differ by one code at a rounding tie).
// Integer element types wrap or truncate as numpy does.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "compiler/graph/broadcast.h"
#include "compiler/graph/kernel_sets.h"

namespace cimtlm::graph {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

// ---------------------------------------------------------------------------------------------
// MLAS approximations (float32, fused multiply-adds as the FMA3 kernels do).

float tanh_mlas(float x) {
  constexpr float kAlpha[] = {-2.76076847742355e-16f, 2.00018790482477e-13f, -8.60467152213735e-11f,
                              5.12229709037114e-08f,  1.48572235717979e-05f, 6.37261928875436e-04f,
                              4.89352455891786e-03f};
  constexpr float kBeta[] = {1.19825839466702e-06f, 1.18534705686654e-04f, 2.26843463243900e-03f,
                             4.89352518554385e-03f};
  // NaN passes through (both comparisons are false).
  const float value = x < -9.0f ? -9.0f : (x > 9.0f ? 9.0f : x);
  const float squared = value * value;
  float p = std::fma(squared, kAlpha[0], kAlpha[1]);
  for (size_t k = 2; k < 7; ++k) p = std::fma(p, squared, kAlpha[k]);
  p = p * value;
  float q = std::fma(squared, kBeta[0], kBeta[1]);
  for (size_t k = 2; k < 4; ++k) q = std::fma(q, squared, kBeta[k]);
  return p / q;
}

// erf: |x| <= 0.921875: x + x * P(x^2); above: sign(x) * (1 - exp(-(|x| + |x| * Q(|x|)))) with
// |x| clamped to 3.725 and MLAS's own exp polynomial (range reduction by ln 2 in two parts).
float erf_mlas(float x) {
  constexpr float kSmall[] = {-5.99104969e-4f, 4.99339588e-3f,  -2.67667342e-2f,
                              1.12818025e-1f,  -3.76124859e-1f, 1.28379151e-1f};
  constexpr float kBig[] = {1.72948930e-5f, -3.83208680e-4f, 3.88393435e-3f, -2.42545605e-2f,
                            1.06777847e-1f, 6.34846687e-1f,  1.28717512e-1f};
  constexpr float kExp[] = {1.38319808e-3f, 8.37550033e-3f, 4.16689515e-2f, 1.66664466e-1f,
                            4.99999851e-1f, 1.00000000e+0f, 1.00000000e+0f};
  const float magnitude = std::min(3.725f, std::fabs(x));
  float result;
  if (magnitude <= 0.921875f) {
    const float squared = magnitude * magnitude;
    float r = kSmall[0];
    for (size_t k = 1; k < 6; ++k) r = std::fma(r, squared, kSmall[k]);
    result = std::fma(r, magnitude, magnitude);
  } else {
    float r = kBig[0];
    for (size_t k = 1; k < 7; ++k) r = std::fma(r, magnitude, kBig[k]);
    r = std::fma(r, magnitude, magnitude);
    const float a = std::max(-88.3762626647949f, -r);
    constexpr float kRound = 1.25829120e+7f;  // 1.5 * 2^23: adding it rounds to an integer
    const float n = std::fma(1.44269504088896341f, a, kRound) - kRound;
    float f = std::fma(n, -6.93145752e-1f, a);
    f = std::fma(n, -1.42860677e-6f, f);
    float e = kExp[0];
    for (size_t k = 1; k < 7; ++k) e = std::fma(e, f, kExp[k]);
    result = 1.0f - std::ldexp(e, static_cast<int>(n));
  }
  return std::signbit(x) ? -result : result;
}

// ---------------------------------------------------------------------------------------------
// Shared loops.

template <typename T, typename F>
void map_unary(const Tensor& x, Tensor& y, F f) {
  y = Tensor(x.type(), x.shape());
  const T* in = x.data<T>();
  T* values = y.data<T>();
  for (int64_t i = 0; i < x.elements(); ++i) values[i] = f(in[i]);
}

// y = op(a, b) with NumPy broadcasting; the output has a's element type.
template <typename T, typename U, typename Op>
void map_binary(const Node& node, const Tensor& a, const Tensor& b, Tensor& y, Op op) {
  const Shape shape = broadcast_shape(node, a.shape(), b.shape());
  y = Tensor(a.type(), shape);
  const T* av = a.data<T>();
  const U* bv = b.data<U>();
  T* yv = y.data<T>();
  const int64_t count = y.elements();
  if (a.shape() == shape && b.shape() == shape) {
    for (int64_t i = 0; i < count; ++i) yv[i] = op(av[i], bv[i]);
  } else if (a.shape() == shape && b.elements() == 1) {
    for (int64_t i = 0; i < count; ++i) yv[i] = op(av[i], bv[0]);
  } else {
    const auto a_index = broadcast_index(a.shape(), shape);
    const auto b_index = broadcast_index(b.shape(), shape);
    for (int64_t i = 0; i < count; ++i) yv[i] = op(av[a_index[i]], bv[b_index[i]]);
  }
}

void same_types(const Node& node, const Tensor& a, const Tensor& b) {
  if (a.type() != b.type()) {
    throw ModelError(node.describe() + ": inputs have different types " + to_string(a.type()) +
                     " and " + to_string(b.type()));
  }
}

template <typename T>
T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return a - b;
  }
}

void sub(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& a = require_input(node, in, 0);
  const Tensor& b = require_input(node, in, 1);
  same_types(node, a, b);
  visit_numeric(node, a.type(), "input A", [&](auto zero) {
    using T = decltype(zero);
    map_binary<T, T>(node, a, b, out[0], wrap_sub<T>);
  });
}

// Integer division truncates towards zero (numpy's np.trunc(a / b), onnxruntime's C++ '/');
// division by zero is a ModelError.
void div(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& a = require_input(node, in, 0);
  const Tensor& b = require_input(node, in, 1);
  same_types(node, a, b);
  visit_numeric(node, a.type(), "input A", [&](auto zero) {
    using T = decltype(zero);
    map_binary<T, T>(node, a, b, out[0], [&](T x, T y) -> T {
      if constexpr (std::is_integral_v<T>) {
        if (y == 0) throw ModelError(node.describe() + ": integer division by zero");
        if constexpr (std::is_signed_v<T>) {
          if (x == std::numeric_limits<T>::lowest() && y == T(-1)) return x;  // wraps
        }
      }
      return static_cast<T>(x / y);
    });
  });
}

template <typename T>
T power(T x, double e) {
  if constexpr (std::is_floating_point_v<T>) {
    if (e == 2.0) return x * x;
    if (e == 3.0) return x * x * x;
    return static_cast<T>(std::pow(x, static_cast<T>(e)));
  } else {
    return static_cast<T>(std::pow(static_cast<double>(x), e));
  }
}

// Pow (opset 15): the exponent may have another numeric type; the output has X's.
void pow_kernel(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const Tensor& e = require_input(node, in, 1);
  visit_numeric(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    visit_numeric(node, e.type(), "input Y", [&](auto exponent_zero) {
      using U = decltype(exponent_zero);
      map_binary<T, U>(node, x, e, out[0],
                       [](T v, U p) { return power<T>(v, static_cast<double>(p)); });
    });
  });
}

// Min / Max (opset 13): any number of inputs, broadcast together, folded left to right. A NaN
// operand gives NaN (onnxruntime's Eigen cwiseMin/Max propagate it; std::min would not).
void extremum(const Node& node, const Inputs& in, Outputs& out, bool maximum) {
  const Tensor& first = require_input(node, in, 0);
  Tensor result = first;
  for (size_t index = 1; index < in.size(); ++index) {
    const Tensor& next = require_input(node, in, index);
    same_types(node, first, next);
    Tensor folded;
    visit_numeric(node, first.type(), "input", [&](auto zero) {
      using T = decltype(zero);
      map_binary<T, T>(node, result, next, folded, [maximum](T a, T b) -> T {
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
        }
        return maximum ? std::max(a, b) : std::min(a, b);
      });
    });
    result = std::move(folded);
  }
  out[0] = std::move(result);
}

// PRelu: y = x < 0 ? slope * x : x, slope broadcast (unidirectionally) to x.
void prelu(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const Tensor& slope = require_input(node, in, 1);
  same_types(node, x, slope);
  visit_numeric(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    map_binary<T, T>(node, x, slope, out[0],
                     [](T v, T s) { return v < T(0) ? static_cast<T>(s * v) : v; });
  });
  if (out[0].shape() != x.shape()) {
    throw ModelError(node.describe() + ": slope " + to_string(slope.shape()) +
                     " does not broadcast to X " + to_string(x.shape()));
  }
}

// Where: y = condition ? x : y with three-way broadcasting.
void where(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& condition = require_input(node, in, 0);
  const Tensor& a = require_input(node, in, 1);
  const Tensor& b = require_input(node, in, 2);
  require_type(node, condition, {DataType::Bool}, "condition");
  same_types(node, a, b);
  const Shape shape =
      broadcast_shape(node, broadcast_shape(node, condition.shape(), a.shape()), b.shape());
  const auto c_index = broadcast_index(condition.shape(), shape);
  const auto a_index = broadcast_index(a.shape(), shape);
  const auto b_index = broadcast_index(b.shape(), shape);
  out[0] = Tensor(a.type(), shape);
  const size_t element = byte_size(a.type());
  const auto* cv = condition.data<bool>();
  const auto* av = static_cast<const uint8_t*>(a.raw());
  const auto* bv = static_cast<const uint8_t*>(b.raw());
  auto* yv = static_cast<uint8_t*>(out[0].raw());
  for (int64_t i = 0; i < out[0].elements(); ++i) {
    const uint8_t* from = cv[c_index[i]] ? av + a_index[i] * element : bv + b_index[i] * element;
    std::copy(from, from + element, yv + i * element);
  }
}

// Unary ops on float32 / float64 with one formula per type.
template <typename F32, typename F64>
void floating_unary(const Node& node, const Inputs& in, Outputs& out, F32 f32, F64 f64) {
  const Tensor& x = require_input(node, in, 0);
  if (x.type() == DataType::Float) {
    map_unary<float>(x, out[0], f32);
  } else {
    visit_floating(node, x.type(), "input X", [&](auto) { map_unary<double>(x, out[0], f64); });
  }
}

void register_unary(KernelRegistry& registry, const char* op, float (*f32)(float),
                    double (*f64)(double)) {
  registry.add("", op, [f32, f64](const Node& node, const Inputs& in, Outputs& out) {
    floating_unary(node, in, out, f32, f64);
  });
}

// Abs / Neg on any signed or floating type (Abs of unsigned is the identity).
void abs_kernel(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  visit_numeric(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    map_unary<T>(x, out[0], [](T v) -> T {
      if constexpr (std::is_unsigned_v<T>)
        return v;
      else if constexpr (std::is_integral_v<T>)
        return v < 0 ? static_cast<T>(-v) : v;
      else
        return std::fabs(v);
    });
  });
}

void neg(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  visit_numeric(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    map_unary<T>(x, out[0], [](T v) { return static_cast<T>(-v); });
  });
}

void leaky_relu(const Node& node, const Inputs& in, Outputs& out) {
  const float alpha = node.get_float("alpha", 0.01f);
  const Tensor& x = require_input(node, in, 0);
  visit_floating(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    map_unary<T>(x, out[0], [alpha](T v) { return v >= T(0) ? v : static_cast<T>(T(alpha) * v); });
  });
}

// Gelu (opset 20), approximate "none": 0.5 * x * (erf(x * M_SQRT1_2) + 1); "tanh":
// 0.5 * x * (tanh(x * (sqrt(2/pi) + sqrt(2/pi) * 0.044715 * x * x)) + 1).
void gelu(const Node& node, const Inputs& in, Outputs& out) {
  const std::string approximate = node.get_string("approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    throw ModelError(node.describe() + ": approximate must be 'none' or 'tanh', got '" +
                     approximate + "'");
  }
  const bool with_tanh = approximate == "tanh";
  const Tensor& x = require_input(node, in, 0);
  if (x.type() == DataType::Float) {
    constexpr float kAlpha = static_cast<float>(M_2_SQRTPI * M_SQRT1_2);
    constexpr float kBeta = static_cast<float>(0.044715 * M_2_SQRTPI * M_SQRT1_2);
    map_unary<float>(x, out[0], [with_tanh](float v) {
      const float inner = with_tanh ? tanh_mlas(v * (kAlpha + kBeta * v * v))
                                    : erf_mlas(v * static_cast<float>(M_SQRT1_2));
      return 0.5f * v * (inner + 1.0f);
    });
    return;
  }
  visit_floating(node, x.type(), "input X", [&](auto) {
    map_unary<double>(x, out[0], [with_tanh](double v) {
      const double inner = with_tanh ? std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))
                                     : std::erf(v * M_SQRT1_2);
      return 0.5 * v * (1.0 + inner);
    });
  });
}

// Cast between numeric types, as static_cast does (the dequantizing Cast of MatMulInteger's
// int32 products to float rounds to nearest, as onnxruntime's). Float to integer truncates
// toward zero; a NaN or a value outside the target type is an error naming the node (C++ leaves
// it undefined, and onnxruntime's result depends on the machine).
void cast(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const auto to = static_cast<DataType>(node.get_int("to"));
  visit_numeric(node, to, "attribute 'to'", [&](auto to_zero) {
    using To = decltype(to_zero);
    Tensor y(to, x.shape());
    To* yv = y.data<To>();
    visit_numeric(node, x.type(), "input", [&](auto from_zero) {
      using From = decltype(from_zero);
      const From* xv = x.data<From>();
      for (int64_t i = 0; i < x.elements(); ++i) {
        if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
          const double v = std::trunc(static_cast<double>(xv[i]));
          if (!(v >= static_cast<double>(std::numeric_limits<To>::lowest()) &&
                v < std::ldexp(1.0, std::numeric_limits<To>::digits))) {  // max + 1, exact
            throw ModelError(node.describe() + ": value " + std::to_string(xv[i]) +
                             " does not fit the target type " + to_string(to));
          }
        }
        yv[i] = static_cast<To>(xv[i]);
      }
    });
    out[0] = std::move(y);
  });
}

}  // namespace

void register_math_kernels(KernelRegistry& registry) {
  registry.add("", "Cast", cast);
  registry.add("", "Sub", sub);
  registry.add("", "Div", div);
  registry.add("", "Pow", pow_kernel);
  registry.add("", "Min", [](const Node& node, const Inputs& in, Outputs& out) {
    extremum(node, in, out, false);
  });
  registry.add("", "Max", [](const Node& node, const Inputs& in, Outputs& out) {
    extremum(node, in, out, true);
  });
  registry.add("", "PRelu", prelu);
  registry.add("", "Where", where);
  registry.add("", "Abs", abs_kernel);
  registry.add("", "Neg", neg);
  registry.add("", "LeakyRelu", leaky_relu);
  registry.add("", "Gelu", gelu);
  register_unary(
      registry, "Sqrt", [](float v) { return std::sqrt(v); },
      [](double v) { return std::sqrt(v); });
  register_unary(
      registry, "Reciprocal", [](float v) { return 1.0f / v; }, [](double v) { return 1.0 / v; });
  register_unary(
      registry, "Exp", [](float v) { return std::exp(v); }, [](double v) { return std::exp(v); });
  register_unary(
      registry, "Log", [](float v) { return std::log(v); }, [](double v) { return std::log(v); });
  register_unary(registry, "Erf", erf_mlas, [](double v) { return std::erf(v); });
  register_unary(registry, "Tanh", tanh_mlas, [](double v) { return std::tanh(v); });
}

}  // namespace cimtlm::graph
