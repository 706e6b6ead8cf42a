// The fused column popcount + ideal ADC kernels (cim_column_kernels.h) against the definition:
// a partial sum per (plane, column) counted bit by bit, read by adc_ideal_reading(), times the
// plane's place value. Both kernels where the host has them (the AVX-512 one is skipped, and
// says so, on a host without VPOPCNTQ; the portable one always runs).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "models/cim/cim_array_model.h"
#include "models/cim/cim_column_kernels.h"

namespace cimtlm::cim {
namespace {

struct RandomStep {
  std::vector<uint64_t> cells;   // [word][bit][column], the whole array
  std::vector<uint64_t> active;  // [plane][step word]
  std::vector<int32_t> plane_value;
  StepColumns step;
};

// Bits with density `ones` in [0, 1]: dense words reach the top code and clip.
uint64_t random_word(std::mt19937_64& rng, double ones) {
  if (ones >= 1.0) return ~uint64_t{0};
  std::bernoulli_distribution bit(ones);
  uint64_t word = 0;
  for (int b = 0; b < 64; ++b) word |= uint64_t{bit(rng)} << b;
  return word;
}

RandomStep random_step(std::mt19937_64& rng, int trial) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  RandomStep r;
  StepColumns& s = r.step;
  s.columns = pick(1, 3) == 1 ? pick(1, 7) : pick(8, 300);  // with and without a tail
  s.cell_bits = pick(1, 2);
  const int64_t array_words = pick(1, 6);
  s.first_word = pick(0, static_cast<int>(array_words) - 1);
  s.last_word = pick(static_cast<int>(s.first_word) + 1, static_cast<int>(array_words));
  s.planes = pick(1, 8);
  const int adc_bits = pick(1, 8);
  s.top_code = (int32_t{1} << adc_bits) - 1;
  s.shift = trial % 5 == 0 ? 0 : pick(1, 6);
  const double density = trial % 7 == 0 ? 1.0 : std::uniform_real_distribution<double>(0, 1)(rng);
  r.cells.resize(static_cast<size_t>(array_words * s.cell_bits * s.columns));
  for (auto& word : r.cells) word = random_word(rng, density);
  const int64_t step_words = s.last_word - s.first_word;
  r.active.resize(static_cast<size_t>(s.planes * step_words));
  for (auto& word : r.active) word = random_word(rng, density);
  for (int j = 0; j < s.planes; ++j) {
    // Place values of unsigned and signed planes, and the mask plane's 1.
    const int32_t magnitude = int32_t{1} << pick(0, 7);
    r.plane_value.push_back(pick(0, 3) == 0 ? -magnitude : magnitude);
  }
  s.cells_by_word = r.cells.data();
  s.active = r.active.data();
  s.plane_value = r.plane_value.data();
  return r;
}

std::vector<int32_t> by_definition(const StepColumns& s, std::vector<int32_t> readings) {
  const int64_t words = s.last_word - s.first_word;
  int adc_bits = 0;
  while ((int32_t{1} << adc_bits) - 1 < s.top_code) ++adc_bits;
  AdcRange range;
  range.shift = s.shift;
  for (int64_t p = 0; p < s.columns; ++p) {
    for (int j = 0; j < s.planes; ++j) {
      int64_t partial = 0;
      for (int64_t w = 0; w < words; ++w) {
        for (int bit = 0; bit < s.cell_bits; ++bit) {
          const uint64_t stored =
              s.cells_by_word[((s.first_word + w) * s.cell_bits + bit) * s.columns + p];
          const uint64_t rows = s.active[j * words + w];
          for (int b = 0; b < 64; ++b) partial += ((stored & rows) >> b & 1u) << bit;
        }
      }
      // A lossless step reads the sum unclipped (its full scale fits the ADC).
      const int64_t reading = s.shift == 0 ? partial : adc_ideal_reading(partial, range, adc_bits);
      readings[static_cast<size_t>(p)] += static_cast<int32_t>(s.plane_value[j] * reading);
    }
  }
  return readings;
}

void expect_kernel_matches_definition(ColumnKernel kernel) {
  std::mt19937_64 rng(7707);
  int64_t clipped = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const RandomStep r = random_step(rng, trial);
    std::vector<int32_t> start(static_cast<size_t>(r.step.columns));
    for (auto& value : start) value = std::uniform_int_distribution<int32_t>(-1000, 1000)(rng);
    const auto expected = by_definition(r.step, start);
    std::vector<int32_t> readings = start;
    accumulate_step_ideal_with(kernel, r.step, readings.data());
    ASSERT_EQ(readings, expected) << "trial " << trial;
    if (r.step.shift > 0 &&
        (r.step.last_word - r.step.first_word) * 64 * ((1 << r.step.cell_bits) - 1) >
            (int64_t{r.step.top_code} << r.step.shift))
      ++clipped;
  }
  EXPECT_GT(clipped, 50);  // the top code is reached, not only the rounding
}

TEST(CimColumnKernels, PortableKernelEqualsTheDefinition) {
  expect_kernel_matches_definition(ColumnKernel::Portable);
}

TEST(CimColumnKernels, Avx512KernelEqualsTheDefinition) {
  if (!column_kernel_available(ColumnKernel::Avx512))
    GTEST_SKIP() << "no AVX-512 VPOPCNTQ on this host";
  expect_kernel_matches_definition(ColumnKernel::Avx512);
}

TEST(CimColumnKernels, Avx2KernelEqualsTheDefinition) {
  if (!column_kernel_available(ColumnKernel::Avx2)) GTEST_SKIP() << "no AVX2 on this host";
  expect_kernel_matches_definition(ColumnKernel::Avx2);
}

// The AVX2 and AVX-512 kernels' specialisations for 1-bit cells and steps of one and two row
// words (the default macro's steps) against the definition, each on many random steps, including
// the lossless ones (shift 0) and the clipped ones.
void expect_one_bit_steps_match(ColumnKernel kernel) {
  std::mt19937_64 rng(5151);
  int checked[3] = {0, 0, 0};
  for (int trial = 0; checked[1] < 150 || checked[2] < 150; ++trial) {
    RandomStep r = random_step(rng, trial);
    r.step.cell_bits = 1;
    r.step.first_word = 0;
    const int64_t words = 1 + trial % 2;
    r.step.last_word = words;
    r.cells.resize(static_cast<size_t>(words * r.step.columns));
    r.step.cells_by_word = r.cells.data();
    if (static_cast<int64_t>(r.active.size()) < r.step.planes * words) continue;
    std::vector<int32_t> start(static_cast<size_t>(r.step.columns));
    for (auto& value : start) value = std::uniform_int_distribution<int32_t>(-1000, 1000)(rng);
    const auto expected = by_definition(r.step, start);
    std::vector<int32_t> readings = start;
    accumulate_step_ideal_with(kernel, r.step, readings.data());
    ASSERT_EQ(readings, expected) << "trial " << trial << ", " << words << " words";
    ++checked[words];
  }
}

TEST(CimColumnKernels, Avx2OneBitStepsOfOneAndTwoWordsEqualTheDefinition) {
  if (!column_kernel_available(ColumnKernel::Avx2)) GTEST_SKIP() << "no AVX2 on this host";
  expect_one_bit_steps_match(ColumnKernel::Avx2);
}

TEST(CimColumnKernels, Avx512OneBitStepsOfOneAndTwoWordsEqualTheDefinition) {
  if (!column_kernel_available(ColumnKernel::Avx512))
    GTEST_SKIP() << "no AVX-512 VPOPCNTQ on this host";
  expect_one_bit_steps_match(ColumnKernel::Avx512);
}

// Rounding half to even on the decision levels: with shift 2, partial sums 2, 6 and 10 (1/2,
// 3/2 and 5/2 steps) read 0, 8 and 8; the top code clips a full column.
TEST(CimColumnKernels, TiesGoToEvenAndTheTopCodeClips) {
  for (ColumnKernel kernel : {ColumnKernel::Portable, ColumnKernel::Avx2, ColumnKernel::Avx512}) {
    if (!column_kernel_available(kernel)) continue;
    // Seventeen columns (sixteen or two eights in vectors, one in the tail) of 1-bit cells.
    const int64_t columns = 17;
    const uint64_t sums[] = {2, 6, 10, 64, 5, 7, 0, 63, 6, 2, 6, 10, 64, 5, 7, 0, 63};
    std::vector<uint64_t> cells(columns);
    for (int64_t p = 0; p < columns; ++p)
      cells[static_cast<size_t>(p)] = sums[p] == 64 ? ~uint64_t{0} : (uint64_t{1} << sums[p]) - 1;
    const uint64_t all_rows = ~uint64_t{0};
    const int32_t plane_value = 1;
    StepColumns step;
    step.cells_by_word = cells.data();
    step.columns = columns;
    step.cell_bits = 1;
    step.first_word = 0;
    step.last_word = 1;
    step.active = &all_rows;
    step.planes = 1;
    step.plane_value = &plane_value;
    step.shift = 2;
    step.top_code = 15;  // 4-bit ADC: at most 60
    std::vector<int32_t> readings(columns, 0);
    accumulate_step_ideal_with(kernel, step, readings.data());
    EXPECT_EQ(readings,
              (std::vector<int32_t>{0, 8, 8, 60, 4, 8, 0, 60, 8, 0, 8, 8, 60, 4, 8, 0, 60}));
  }
}

}  // namespace
}  // namespace cimtlm::cim
