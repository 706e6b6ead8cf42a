// The golden integer arithmetic of cimtlm. Hardware models must match these rules bit for bit.
//
// Requantization (ONNX QLinearConv/QLinearMatMul as onnxruntime's MLAS computes it):
//   multiplier = (x_scale * w_scale) / y_scale          -- float32, evaluated in that order
//   y = clamp(round_half_even(float32(acc) * multiplier) + y_zp, lo, hi)
// where acc = sum (x - x_zp)(w - w_zp) + bias is exact int32, float32(acc) rounds to nearest,
// round_half_even is IEEE nearbyint in the default rounding mode, and [lo, hi] is the output
// type's range narrowed by a fused ReLU/Clip.
//
// Quantization (QuantizeLinear): y = clamp(round_half_even(x / scale) + zp, lo, hi), float32.
// Dequantization (DequantizeLinear): x = float32(q - zp) * scale.
#pragma once

#include <algorithm>
#include <cmath>
#include <climits>
#include <cstdint>
#include <vector>

namespace cimtlm::graph {

inline float requant_multiplier(float x_scale, float w_scale, float y_scale) {
  // volatile-free but explicit: two float32 operations, left to right.
  const float product = x_scale * w_scale;
  return product / y_scale;
}

// Round half to even in float32 (std::nearbyint in the default FE_TONEAREST mode).
// std::nearbyint in the default rounding mode, without its library call (it ran once per weight
// and scale tried in the MSE weight calibration, half of a default-platform run): adding and
// subtracting 2^23 leaves |value| < 2^23 rounded to an integer, ties to even, by float arithmetic
// itself; larger floats are integers already (and inf/NaN pass through). Exact as long as the
// build does not reassociate float arithmetic (no -ffast-math; test RoundHalfEven.*).
inline float round_half_even(float value) {
  constexpr float kTwoTo23 = 8388608.0f;
  const float magnitude = std::fabs(value);
  if (!(magnitude < kTwoTo23)) return value;
  return std::copysign((magnitude + kTwoTo23) - kTwoTo23, value);
}

inline int32_t saturate(int64_t value, int32_t lo, int32_t hi) {
  return static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(value, lo), hi));
}

inline int32_t requantize(int32_t acc, float multiplier, int32_t zero_point, int32_t lo,
                          int32_t hi) {
  const float scaled = static_cast<float>(acc) * multiplier;
  // Clamp in float before converting so that huge values cannot overflow the int conversion.
  const float lo_f = static_cast<float>(lo - zero_point);
  const float hi_f = static_cast<float>(hi - zero_point);
  const float clamped = std::min(std::max(scaled, lo_f), hi_f);
  return saturate(static_cast<int64_t>(round_half_even(clamped)) + zero_point, lo, hi);
}

inline int32_t quantize(float value, float scale, int32_t zero_point, int32_t lo, int32_t hi) {
  const float scaled = value / scale;
  if (std::isnan(scaled)) return saturate(zero_point, lo, hi);
  const float lo_f = static_cast<float>(lo - zero_point);
  const float hi_f = static_cast<float>(hi - zero_point);
  const float clamped = std::min(std::max(scaled, lo_f), hi_f);
  return saturate(static_cast<int64_t>(round_half_even(clamped)) + zero_point, lo, hi);
}

inline float dequantize(int32_t value, float scale, int32_t zero_point) {
  return static_cast<float>(value - zero_point) * scale;
}

// float -> int32 the way x86 CVTPS2DQ converts (onnxruntime's MLAS kernels use it): round half to
// even; NaN and values outside the int32 range give INT32_MIN (the "integer indefinite" value),
// which the kernels then clamp to the low end of the output range.
inline int32_t convert_to_int32_x86(float value) {
  if (!(value >= -2147483648.0f && value < 2147483648.0f)) return INT32_MIN;
  return static_cast<int32_t>(round_half_even(value));
}

// Lookup table of onnxruntime's QLinearSoftmax (the QSoftmax op): exp((i - 255 + shift) * x_scale)
// for the 256 codes, computed in double and stored as float, where `shift` scales the largest
// value so that a sum of `extent` entries stays far below FLT_MAX. For int8 inputs the entry of
// code i is stored at uint8(i - 128). The hardware keeps it as a lookup table of the program.
std::vector<float> softmax_exp_table(float x_scale, int64_t extent, bool is_signed);

}  // namespace cimtlm::graph
