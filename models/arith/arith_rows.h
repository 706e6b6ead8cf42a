// The arithmetic unit's row kernels: requantization of a row of accumulators and the fused
// quantized add of two rows of 8-bit codes, as plain loops the compiler vectorises (with AVX2
// and FMA clones chosen at run time, no -march flag). Each element goes through exactly the
// scalar arithmetic of arith_unit.cpp (the same float operations in the same order, nothing
// contracted or reassociated: -std=c++17 keeps -ffp-contract=off), so results are bit-exact
// whichever clone runs; testbenches/unit/core/test_arith_rows.cpp checks them against the
// scalar formulas on every code and on extreme scales.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace cimtlm::arith {

// The bits of a float and back (std::bit_cast is C++20).
inline uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}
inline float bits_float(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}
inline bool is_nan_bits(uint32_t bits) {
  return (bits & 0x7fffffffU) > 0x7f800000U;
}

// The requantization stage for an 8-bit output range (quantized_math.h's arithmetic): clamp in
// float, round half to even, add the zero point, clamp; NaN gives the zero point, clamped.
// After the clamp |value| < 2^9, where adding and subtracting 2^23 rounds half to even exactly
// in the default rounding mode (graph::round_half_even's method). NaN is found and replaced by
// 0 (which the clamps turn into the clamped zero point) on the bits: a float compare feeding a
// select keeps GCC from vectorising a loop of this under -ftrapping-math.
inline int32_t requantize_8bit(float scaled, int32_t zero_point, int32_t lo, int32_t hi) {
  const float lo_f = static_cast<float>(lo - zero_point);
  const float hi_f = static_cast<float>(hi - zero_point);
  const uint32_t bits = float_bits(scaled);
  const float number = bits_float(is_nan_bits(bits) ? 0U : bits);
  const float clamped = std::min(std::max(number, lo_f), hi_f);
  constexpr float kTwoTo23 = 8388608.0f;
  const float magnitude = std::fabs(clamped);
  const float rounded = std::copysign((magnitude + kTwoTo23) - kTwoTo23, clamped);
  return std::clamp(static_cast<int32_t>(rounded) + zero_point, lo, hi);
}

// out[c] = requantize_8bit(float(int32(acc[c] + bias[c])) * multiplier, ...) for c < cols, the
// sum wrapping at 32 bits; `bias` may be null; `multipliers` holds one value per column when
// `per_column`, else one for all.
void requantize_row_8bit(const int32_t* acc, const int32_t* bias, const float* multipliers,
                         bool per_column, int64_t cols, int32_t zero_point, int32_t lo, int32_t hi,
                         uint8_t* out);

// onnxruntime's fused QLinearAdd on 8-bit codes: y = cvt(fma(b, b_ratio, fma(a, a_ratio,
// constant))) with x86's conversion (round half to even; NaN and anything outside int32 become
// INT32_MIN), then clamped to [lo, hi] (an 8-bit range). The codes' signedness per operand.
struct QuantizedAdd {
  float a_ratio = 1, b_ratio = 1, constant = 0;
  int32_t lo = 0, hi = 255;
  bool a_signed = false, b_signed = false;
};
// out[i] = add(a[i], b[i]) for i < count, or with one code of b for all when `b_broadcast`.
void quantized_add_row(const QuantizedAdd& add, const uint8_t* a, const uint8_t* b,
                       bool b_broadcast, int64_t count, uint8_t* out);

}  // namespace cimtlm::arith
