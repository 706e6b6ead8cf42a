// The arithmetic unit's row kernels (models/arith/arith_rows.h) against the scalar formulas they
// vectorise, written here the plain way (std::nearbyint, branches on NaN and on the int32
// range): every pair of codes of the fused add, for each signedness, with ordinary, huge, zero,
// infinite and NaN ratios; requantization of extreme accumulators with NaN, infinite, zero and
// huge multipliers and zero points outside the clamp range. Rows of odd lengths exercise the
// vector loops' remainders.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "models/arith/arith_rows.h"

namespace cimtlm {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

int32_t decode(uint8_t code, bool is_signed) {
  return is_signed ? static_cast<int8_t>(code) : code;
}

// x86's CVTPS2DQ, then the clamp.
int32_t expected_add(const arith::QuantizedAdd& add, uint8_t a, uint8_t b) {
  const float y =
      std::fma(static_cast<float>(decode(b, add.b_signed)), add.b_ratio,
               std::fma(static_cast<float>(decode(a, add.a_signed)), add.a_ratio, add.constant));
  int64_t converted = std::numeric_limits<int32_t>::min();
  if (y >= -2147483648.0f && y < 2147483648.0f) converted = static_cast<int64_t>(std::nearbyint(y));
  return static_cast<int32_t>(std::clamp<int64_t>(converted, add.lo, add.hi));
}

int32_t expected_requantize(int32_t acc, int32_t bias, float multiplier, int32_t zero_point,
                            int32_t lo, int32_t hi) {
  const auto value = static_cast<int32_t>(int64_t{acc} + bias);  // wraps at 32 bits
  const float scaled = static_cast<float>(value) * multiplier;
  if (std::isnan(scaled)) return std::clamp(zero_point, lo, hi);
  const float clamped = std::min(std::max(scaled, static_cast<float>(lo - zero_point)),
                                 static_cast<float>(hi - zero_point));
  return std::clamp(static_cast<int32_t>(std::nearbyint(clamped)) + zero_point, lo, hi);
}

TEST(ArithRows, FusedAddEqualsTheScalarFormulaOnEveryCodePair) {
  const float ratios[][3] = {
      // a_ratio, b_ratio, constant
      {0.73f, 1.21f, -3.5f},    {0.5f, 0.5f, 0.0f},  // exact ties of the rounding
      {1.0f, -1.0f, 127.5f},    {3e9f, 1.0f, 0.0f},  // beyond int32: INT32_MIN, i.e. lo
      {-3e9f, 2e9f, 1e9f},      {0.0f, 0.0f, -2147483648.0f}, {kInf, 1.0f, 0.0f},
      {kNan, 1.0f, 0.0f},       {1.0f, 1.0f, -kInf},          {1e-30f, 1e-30f, 254.5f},
      {-0.25f, 0.75f, 100.25f},
  };
  const int32_t ranges[][2] = {{0, 255}, {-128, 127}, {5, 200}, {-3, 127}};
  std::vector<uint8_t> a(256 * 256), b(256 * 256), out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<uint8_t>(i % 256);
    b[i] = static_cast<uint8_t>(i / 256);
  }
  int64_t checked = 0, at_lo = 0, inside = 0;
  for (const auto& ratio : ratios) {
    for (const auto& range : ranges) {
      for (int signs = 0; signs < 4; ++signs) {
        arith::QuantizedAdd add;
        add.a_ratio = ratio[0];
        add.b_ratio = ratio[1];
        add.constant = ratio[2];
        add.lo = range[0];
        add.hi = range[1];
        add.a_signed = (signs & 1) != 0;
        add.b_signed = (signs & 2) != 0;
        // Whole rows, an odd-length row (vector remainders), and b broadcast.
        arith::quantized_add_row(add, a.data(), b.data(), false, static_cast<int64_t>(a.size()),
                                 out.data());
        for (size_t i = 0; i < a.size(); ++i) {
          const int32_t expected = expected_add(add, a[i], b[i]);
          ASSERT_EQ(decode(out[i], add.lo < 0), expected)
              << "a " << int{a[i]} << " b " << int{b[i]} << " ratios " << ratio[0] << " "
              << ratio[1] << " " << ratio[2] << " signs " << signs;
          at_lo += expected == add.lo;
          inside += expected > add.lo && expected < add.hi;
          ++checked;
        }
        arith::quantized_add_row(add, a.data() + 3, b.data() + 777, true, 253, out.data());
        for (int64_t i = 0; i < 253; ++i) {
          ASSERT_EQ(decode(out[static_cast<size_t>(i)], add.lo < 0),
                    expected_add(add, a[static_cast<size_t>(i) + 3], b[777]));
        }
      }
    }
  }
  EXPECT_EQ(checked, 11 * 4 * 4 * 65536);
  EXPECT_GT(at_lo, 0);
  EXPECT_GT(inside, checked / 10);
}

TEST(ArithRows, RequantizeRowEqualsTheScalarStageOnExtremes) {
  const int32_t accumulators[] = {std::numeric_limits<int32_t>::min(),
                                  std::numeric_limits<int32_t>::max(),
                                  0,
                                  1,
                                  -1,
                                  2,
                                  -2,
                                  3,
                                  -3,
                                  127,
                                  -128,
                                  255,
                                  256,
                                  -257,
                                  1 << 24,
                                  (1 << 24) + 1,
                                  -(1 << 30),
                                  1000003};
  const float multipliers[] = {0.5f, 0.25f, 1.0f, 0.0123f, 3e-10f, 1e10f, -0.5f,
                               0.0f, -0.0f, kInf, -kInf,   kNan,   1.5f};
  const int32_t biases[] = {0, 1, -7, std::numeric_limits<int32_t>::max(),
                            std::numeric_limits<int32_t>::min()};
  const int32_t clamps[][3] = {
      // zero point, lo, hi
      {0, -128, 127}, {-3, -128, 127},   {128, 0, 255},
      {10, 10, 255},  {-200, -128, 127},  // zero point below the range: NaN gives lo
      {300, 0, 255},                      // above: NaN gives hi
  };
  // A row of every (accumulator, bias) pair, 90 columns (not a multiple of the vector width).
  std::vector<int32_t> acc, bias;
  for (int32_t a : accumulators) {
    for (int32_t b : biases) {
      acc.push_back(a);
      bias.push_back(b);
    }
  }
  const auto cols = static_cast<int64_t>(acc.size());
  std::vector<uint8_t> out(acc.size());
  std::vector<float> per_column(acc.size());
  int64_t checked = 0;
  for (const auto& clamp : clamps) {
    const bool is_signed = clamp[1] < 0;
    for (float multiplier : multipliers) {
      for (int variant = 0; variant < 4; ++variant) {
        const bool with_bias = (variant & 1) != 0, per = (variant & 2) != 0;
        // Per column: this multiplier and its neighbours in the list, by column.
        for (size_t c = 0; c < per_column.size(); ++c) {
          per_column[c] = per ? multipliers[c % std::size(multipliers)] : multiplier;
        }
        const float* m = per ? per_column.data() : &multiplier;
        arith::requantize_row_8bit(acc.data(), with_bias ? bias.data() : nullptr, m, per, cols,
                                   clamp[0], clamp[1], clamp[2], out.data());
        for (int64_t c = 0; c < cols; ++c) {
          const auto k = static_cast<size_t>(c);
          const int32_t expected =
              expected_requantize(acc[k], with_bias ? bias[k] : 0, per ? per_column[k] : multiplier,
                                  clamp[0], clamp[1], clamp[2]);
          ASSERT_EQ(decode(out[k], is_signed), expected)
              << "acc " << acc[k] << " bias " << (with_bias ? bias[k] : 0) << " multiplier "
              << (per ? per_column[k] : multiplier) << " zero point " << clamp[0];
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 6 * 13 * 4 * cols);
}

}  // namespace
}  // namespace cimtlm
