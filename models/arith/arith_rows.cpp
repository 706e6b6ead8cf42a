#include "models/arith/arith_rows.h"

namespace cimtlm::arith {

namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// x86-64-v3 has AVX2 and FMA: the fused add's fma becomes an instruction and the loops run
// 8 lanes wide. The default clone calls fmaf (exact too).
#define CIMTLM_ROW_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define CIMTLM_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define CIMTLM_ROW_CLONES
#define CIMTLM_ALWAYS_INLINE inline
#endif

template <bool kPerColumn, bool kBias>
CIMTLM_ALWAYS_INLINE void requantize_loop(const int32_t* acc, const int32_t* bias,
                                          const float* multipliers, int64_t cols,
                                          int32_t zero_point, int32_t lo, int32_t hi,
                                          uint8_t* out) {
  const float multiplier = multipliers[0];
  for (int64_t c = 0; c < cols; ++c) {
    // int32(int64(acc) + bias): the sum wraps at 32 bits.
    const auto value = static_cast<int32_t>(static_cast<uint32_t>(acc[c]) +
                                            (kBias ? static_cast<uint32_t>(bias[c]) : 0U));
    const float scaled = static_cast<float>(value) * (kPerColumn ? multipliers[c] : multiplier);
    out[c] = static_cast<uint8_t>(requantize_8bit(scaled, zero_point, lo, hi));
  }
}

CIMTLM_ROW_CLONES
void requantize_per_column_bias(const int32_t* acc, const int32_t* bias, const float* multipliers,
                                int64_t cols, int32_t zero_point, int32_t lo, int32_t hi,
                                uint8_t* out) {
  requantize_loop<true, true>(acc, bias, multipliers, cols, zero_point, lo, hi, out);
}
CIMTLM_ROW_CLONES
void requantize_per_column(const int32_t* acc, const float* multipliers, int64_t cols,
                           int32_t zero_point, int32_t lo, int32_t hi, uint8_t* out) {
  requantize_loop<true, false>(acc, nullptr, multipliers, cols, zero_point, lo, hi, out);
}
CIMTLM_ROW_CLONES
void requantize_one_multiplier_bias(const int32_t* acc, const int32_t* bias,
                                    const float* multipliers, int64_t cols, int32_t zero_point,
                                    int32_t lo, int32_t hi, uint8_t* out) {
  requantize_loop<false, true>(acc, bias, multipliers, cols, zero_point, lo, hi, out);
}
CIMTLM_ROW_CLONES
void requantize_one_multiplier(const int32_t* acc, const float* multipliers, int64_t cols,
                               int32_t zero_point, int32_t lo, int32_t hi, uint8_t* out) {
  requantize_loop<false, false>(acc, nullptr, multipliers, cols, zero_point, lo, hi, out);
}

// The value of a code: signed codes are (code ^ 0x80) - 128, so one loop serves both.
struct CodeDecoder {
  uint32_t flip;
  int32_t offset;
  explicit CodeDecoder(bool is_signed)
      : flip(is_signed ? 0x80U : 0U), offset(is_signed ? 128 : 0) {}
  float operator()(uint8_t code) const {
    return static_cast<float>(static_cast<int32_t>(code ^ flip) - offset);
  }
};

// x86's float-to-int32 conversion (CVTPS2DQ: round half to even, NaN and values outside
// [-2^31, 2^31) INT32_MIN) followed by the clamp to the 8-bit range [lo, hi]. Validity is
// decided on the bits, |value| < 2^31 (0x4f000000) or exactly -2^31 (see requantize_8bit on
// float compares); an invalid value is replaced by -2^31, which clamps to lo as INT32_MIN does.
// The value is then clamped to [lo - 1, hi + 1] before rounding (which does not change the
// clamped result), where the 2^23 addition rounds half to even exactly.
CIMTLM_ALWAYS_INLINE int32_t convert_clamp_8bit(float value, float lo_f, float hi_f, int32_t lo,
                                                int32_t hi) {
  constexpr uint32_t kMinusTwoTo31 = 0xcf000000U;
  const uint32_t bits = float_bits(value);
  const bool valid = ((bits & 0x7fffffffU) < 0x4f000000U) | (bits == kMinusTwoTo31);
  const float number = bits_float(valid ? bits : kMinusTwoTo31);
  const float bounded = std::min(std::max(number, lo_f - 1.0f), hi_f + 1.0f);
  constexpr float kTwoTo23 = 8388608.0f;
  const float rounded = std::copysign((std::fabs(bounded) + kTwoTo23) - kTwoTo23, bounded);
  return std::clamp(static_cast<int32_t>(rounded), lo, hi);
}

CIMTLM_ROW_CLONES
void add_rows(const QuantizedAdd& add, const uint8_t* a, const uint8_t* b, int64_t count,
              uint8_t* out) {
  // Locals: `out` (bytes) may alias `add` as far as the compiler knows.
  const CodeDecoder decode_a(add.a_signed), decode_b(add.b_signed);
  const float a_ratio = add.a_ratio, b_ratio = add.b_ratio, constant = add.constant;
  const int32_t lo = add.lo, hi = add.hi;
  const float lo_f = static_cast<float>(lo), hi_f = static_cast<float>(hi);
  for (int64_t i = 0; i < count; ++i) {
    const float y = std::fma(decode_b(b[i]), b_ratio, std::fma(decode_a(a[i]), a_ratio, constant));
    out[i] = static_cast<uint8_t>(convert_clamp_8bit(y, lo_f, hi_f, lo, hi));
  }
}

CIMTLM_ROW_CLONES
void add_row_scalar(const QuantizedAdd& add, const uint8_t* a, uint8_t b, int64_t count,
                    uint8_t* out) {
  const CodeDecoder decode_a(add.a_signed), decode_b(add.b_signed);
  const float a_ratio = add.a_ratio, b_ratio = add.b_ratio, constant = add.constant;
  const int32_t lo = add.lo, hi = add.hi;
  const float lo_f = static_cast<float>(lo), hi_f = static_cast<float>(hi);
  const float b_value = decode_b(b);
  for (int64_t i = 0; i < count; ++i) {
    const float y = std::fma(b_value, b_ratio, std::fma(decode_a(a[i]), a_ratio, constant));
    out[i] = static_cast<uint8_t>(convert_clamp_8bit(y, lo_f, hi_f, lo, hi));
  }
}

}  // namespace

void requantize_row_8bit(const int32_t* acc, const int32_t* bias, const float* multipliers,
                         bool per_column, int64_t cols, int32_t zero_point, int32_t lo, int32_t hi,
                         uint8_t* out) {
  if (per_column) {
    if (bias != nullptr) {
      requantize_per_column_bias(acc, bias, multipliers, cols, zero_point, lo, hi, out);
    } else {
      requantize_per_column(acc, multipliers, cols, zero_point, lo, hi, out);
    }
  } else if (bias != nullptr) {
    requantize_one_multiplier_bias(acc, bias, multipliers, cols, zero_point, lo, hi, out);
  } else {
    requantize_one_multiplier(acc, multipliers, cols, zero_point, lo, hi, out);
  }
}

void quantized_add_row(const QuantizedAdd& add, const uint8_t* a, const uint8_t* b,
                       bool b_broadcast, int64_t count, uint8_t* out) {
  if (b_broadcast) {
    add_row_scalar(add, a, b[0], count, out);
  } else {
    add_rows(add, a, b, count, out);
  }
}

}  // namespace cimtlm::arith
