// Property tests of the accumulator (issue 16): partial sums that would overflow the
// accumulator width are saturated and counted, never wrapped, whatever the width, the rescaling
// shift, the data and the order of accumulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "models/arith/arith_unit.h"
#include "models/kernel/stats.h"

namespace cimtlm {
namespace {

// The exact result: round half to even of value / 2^shift in unbounded (int64) arithmetic.
int64_t rescaled(int64_t value, int shift) {
  if (shift == 0) return value;
  const int64_t floor = value >> shift;  // arithmetic shift: floor division
  const int64_t remainder = value - floor * (int64_t{1} << shift);
  const int64_t half = int64_t{1} << (shift - 1);
  return floor + ((remainder > half || (remainder == half && (floor & 1))) ? 1 : 0);
}

class AccumulatorProperty : public ::testing::TestWithParam<uint64_t> {};

TEST_P(AccumulatorProperty, OverflowSaturatesIsCountedAndNeverWraps) {
  std::mt19937_64 random(GetParam());
  kernel::StatGroup stats("arith", "arith");
  arith::ArithParams params;
  params.accumulator_bytes = 4096;
  arith::ArithUnit unit(params, stats, nullptr, {"core0", "arith"});
  const int widths[] = {8, 12, 16, 24, 32};
  uint64_t expected_saturations = 0, near_limit = 0;
  for (int round = 0; round < 200; ++round) {
    const int bits = widths[random() % 5];
    const int shift = static_cast<int>(random() % 5);
    const int64_t vectors = 1 + static_cast<int64_t>(random() % 4);
    const int64_t cols = 1 + static_cast<int64_t>(random() % 32);
    const int64_t highest = (int64_t{1} << (bits - 1)) - 1, lowest = -highest - 1;
    // Partials from the whole int32 range and from around the accumulator's limits, so that
    // both saturating and non-saturating sums are common.
    std::vector<int32_t> partials(static_cast<size_t>(vectors * cols));
    std::uniform_int_distribution<int32_t> full(INT32_MIN, INT32_MAX);
    std::uniform_int_distribution<int64_t> limit(lowest * (int64_t{1} << shift),
                                                 highest * (int64_t{1} << shift));
    for (auto& partial : partials) {
      partial =
          (random() & 1)
              ? full(random)
              : static_cast<int32_t>(std::clamp<int64_t>(limit(random), INT32_MIN, INT32_MAX));
    }
    std::vector<int32_t> accumulators(static_cast<size_t>(vectors * cols));
    for (auto& acc : accumulators) {
      acc = static_cast<int32_t>(std::uniform_int_distribution<int64_t>(lowest, highest)(random));
    }
    const bool accumulate = (random() % 3) != 0;
    std::vector<int32_t> expected(accumulators.size());
    for (size_t i = 0; i < partials.size(); ++i) {
      const int64_t sum =
          (accumulate ? int64_t{accumulators[i]} : 0) + rescaled(partials[i], shift);
      if (sum > highest || sum < lowest) ++expected_saturations;
      if (sum == highest || sum == lowest) ++near_limit;
      expected[i] = static_cast<int32_t>(std::clamp(sum, lowest, highest));
    }
    unit.accumulate_rescaled(partials.data(), vectors, cols, accumulators.data(), cols, shift, bits,
                             accumulate);
    ASSERT_EQ(accumulators, expected)
        << "round " << round << ", " << bits << " bits, shift " << shift;
  }
  const kernel::Stat* counted = stats.find("accumulator_saturations");
  ASSERT_NE(counted, nullptr);
  EXPECT_EQ(counted->count, expected_saturations);
  // The property is exercised, not vacuous: many sums saturate and many do not.
  EXPECT_GT(expected_saturations, 500u);
  EXPECT_LT(expected_saturations, 200u * 64u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, AccumulatorProperty, ::testing::Values(1u, 2u, 3u, 4u));

TEST(AccumulatorProperty, ExactlyAtTheLimitIsNotASaturation) {
  kernel::StatGroup stats("arith", "arith");
  arith::ArithUnit unit(arith::ArithParams{}, stats, nullptr, {"core0", "arith"});
  // 8-bit accumulators: 127 and -128 fit; 128 and -129 saturate.
  const std::vector<int32_t> partials = {127, -128, 128, -129};
  std::vector<int32_t> accumulators(4, 0);
  unit.accumulate_rescaled(partials.data(), 1, 4, accumulators.data(), 4, 0, 8, false);
  EXPECT_EQ(accumulators, (std::vector<int32_t>{127, -128, 127, -128}));
  EXPECT_EQ(stats.find("accumulator_saturations")->count, 2u);
}

}  // namespace
}  // namespace cimtlm
