// The per-vector kernels (cim_vector_kernels.h) against their definitions, row by row: random
// vectors of every length around the 16-, 32- and 64-row boundaries, block sizes that take each
// kernel's fast and fallback paths, and the extremes (every code the zero code, every bit set,
// the largest 16-bit cells). The AVX2 kernels are skipped, and say so, on a host without AVX2.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "models/cim/cim_vector_kernels.h"

namespace cimtlm::cim {
namespace {

int popcount8(uint8_t value) {
  int ones = 0;
  for (int bit = 0; bit < 8; ++bit) ones += (value >> bit) & 1;
  return ones;
}

struct BlockCase {
  std::vector<uint8_t> codes;
  std::vector<int16_t> cells16;
  std::vector<int32_t> cells32;
  BlockSumsJob job;
};

enum class Cells { None, Narrow, Wide };

// Codes drawn from a few values (so that zero codes and equal runs occur) or uniformly.
BlockCase random_case(std::mt19937_64& rng, int trial, Cells cells) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  BlockCase c;
  BlockSumsJob& job = c.job;
  job.rows = trial % 3 == 0 ? pick(1, 70) : pick(1, 600);
  const int block_choices[] = {16, 16, 32, 64, 96, 8, 1, 7, 48};
  job.block_rows = block_choices[pick(0, 8)];
  const int input_bits = pick(1, 8);
  job.code_mask = static_cast<uint8_t>((1u << input_bits) - 1);
  job.zero_code = static_cast<uint8_t>(pick(0, 255));
  job.codes_signed = pick(0, 1) == 1;
  c.codes.resize(static_cast<size_t>(job.rows));
  const int style = trial % 4;
  for (auto& code : c.codes) {
    if (style == 0) {
      code = job.zero_code;  // every row zero
    } else if (style == 1) {
      code = pick(0, 2) == 0 ? job.zero_code : static_cast<uint8_t>(pick(0, 255));
    } else if (style == 2) {
      code = 0xff;
    } else {
      code = static_cast<uint8_t>(pick(0, 255));
    }
  }
  job.codes = c.codes.data();
  if (cells == Cells::Narrow) {
    // The largest cells whose block sums (rows x 8 planes x cells) fit int32, as the model checks.
    const int32_t most =
        trial % 5 == 0 ? static_cast<int32_t>(std::min<int64_t>(32767, INT32_MAX / (8 * job.rows)))
                       : pick(0, 3000);
    c.cells16.resize(c.codes.size());
    for (auto& cell : c.cells16) cell = static_cast<int16_t>(trial % 5 == 0 ? most : pick(0, most));
    job.cells16 = c.cells16.data();
  } else if (cells == Cells::Wide) {
    c.cells32.resize(c.codes.size());
    for (auto& cell : c.cells32) cell = pick(0, 1 << 20);
    job.cells32 = c.cells32.data();
  }
  return c;
}

struct Sums {
  std::vector<int64_t> zeros, ones, signal, zero_cells;
  VectorSums vector;
  bool operator==(const Sums& o) const {
    return zeros == o.zeros && ones == o.ones && signal == o.signal && zero_cells == o.zero_cells &&
           vector.zeros == o.vector.zeros && vector.code_sum == o.vector.code_sum;
  }
};

Sums by_definition(const BlockSumsJob& job) {
  const int64_t blocks = (job.rows + job.block_rows - 1) / job.block_rows;
  Sums s;
  s.zeros.assign(blocks, 0);
  s.ones.assign(blocks, 0);
  const bool cells = job.cells16 != nullptr || job.cells32 != nullptr;
  if (cells) {
    s.signal.assign(blocks, 0);
    s.zero_cells.assign(blocks, 0);
  }
  for (int64_t r = 0; r < job.rows; ++r) {
    const int64_t b = r / job.block_rows;
    const int ones = popcount8(job.codes[r] & job.code_mask);
    const bool zero = job.codes[r] == job.zero_code;
    s.ones[b] += ones;
    s.zeros[b] += zero;
    s.vector.zeros += zero;
    s.vector.code_sum += job.codes_signed ? static_cast<int8_t>(job.codes[r]) : job.codes[r];
    if (cells) {
      const int64_t cell = job.cells16 != nullptr ? job.cells16[r] : job.cells32[r];
      s.signal[b] += ones * cell;
      s.zero_cells[b] += zero ? cell : 0;
    }
  }
  return s;
}

Sums run(VectorKernel kernel, BlockSumsJob job) {
  const int64_t blocks = (job.rows + job.block_rows - 1) / job.block_rows;
  Sums s;
  s.zeros.assign(blocks, -7);
  s.ones.assign(blocks, -7);
  job.zeros = s.zeros.data();
  job.ones = s.ones.data();
  if (job.cells16 != nullptr || job.cells32 != nullptr) {
    s.signal.assign(blocks, -7);
    s.zero_cells.assign(blocks, -7);
    job.signal = s.signal.data();
    job.zero_cells = s.zero_cells.data();
  }
  s.vector = block_sums_with(kernel, job);
  return s;
}

void expect_block_sums_match(VectorKernel kernel) {
  std::mt19937_64 rng(9901);
  for (Cells cells : {Cells::None, Cells::Narrow, Cells::Wide}) {
    for (int trial = 0; trial < 400; ++trial) {
      const BlockCase c = random_case(rng, trial, cells);
      ASSERT_TRUE(run(kernel, c.job) == by_definition(c.job))
          << "trial " << trial << " rows " << c.job.rows << " block " << c.job.block_rows
          << " cells " << static_cast<int>(cells);
    }
  }
}

TEST(CimVectorKernels, PortableBlockSumsEqualTheDefinition) {
  expect_block_sums_match(VectorKernel::Portable);
}

TEST(CimVectorKernels, Avx2BlockSumsEqualTheDefinition) {
  if (!vector_kernel_available(VectorKernel::Avx2)) GTEST_SKIP() << "host has no AVX2";
  expect_block_sums_match(VectorKernel::Avx2);
}

void expect_planes_match(VectorKernel kernel) {
  std::mt19937_64 rng(4242);
  for (int trial = 0; trial < 400; ++trial) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const int64_t rows = trial % 2 == 0 ? pick(1, 130) : pick(1, 700);
    PlanePackJob job;
    job.rows = rows;
    job.input_bits = pick(1, 8);
    job.zero_code = static_cast<uint8_t>(trial % 3 == 0 ? 0 : pick(0, 255));
    std::vector<uint8_t> codes(static_cast<size_t>(rows));
    for (auto& code : codes)
      code = pick(0, 2) == 0 ? job.zero_code : static_cast<uint8_t>(pick(0, 255));
    job.codes = codes.data();
    const int64_t words = (rows + 63) / 64;
    // Filled with garbage: every word must be written.
    std::vector<uint64_t> planes(static_cast<size_t>(job.input_bits * words), 0x5a5a5a5a5a5a5a5a);
    std::vector<uint64_t> zero_rows(static_cast<size_t>(words), 0xa5a5a5a5a5a5a5a5);
    job.planes = planes.data();
    const bool with_zeros = trial % 4 != 1;
    job.zero_rows = with_zeros ? zero_rows.data() : nullptr;
    pack_planes_with(kernel, job);
    for (int64_t r = 0; r < words * 64; ++r) {
      const int64_t w = r / 64;
      const uint64_t bit = uint64_t{1} << (r % 64);
      for (int plane = 0; plane < job.input_bits; ++plane) {
        const bool expected = r < rows && ((codes[r] >> plane) & 1);
        ASSERT_EQ((planes[plane * words + w] & bit) != 0, expected)
            << "trial " << trial << " row " << r << " plane " << plane;
      }
      if (with_zeros) {
        const bool expected = r < rows && codes[r] == job.zero_code;
        ASSERT_EQ((zero_rows[w] & bit) != 0, expected) << "trial " << trial << " row " << r;
      }
    }
  }
}

TEST(CimVectorKernels, PortablePlanePackingEqualsTheDefinition) {
  expect_planes_match(VectorKernel::Portable);
}

TEST(CimVectorKernels, Avx2PlanePackingEqualsTheDefinition) {
  if (!vector_kernel_available(VectorKernel::Avx2)) GTEST_SKIP() << "host has no AVX2";
  expect_planes_match(VectorKernel::Avx2);
}

void expect_shift_add_matches(VectorKernel kernel) {
  std::mt19937_64 rng(1717);
  for (int trial = 0; trial < 300; ++trial) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    // Slices x polarities as the macro lays them out: 1..8 slices of 1- or 2-bit cells, one or
    // two polarities (per column 1..16, with and without multiples of four).
    const int cell_bits = pick(1, 2);
    const int slices = pick(1, 8 / cell_bits);
    const int polarities = pick(1, 2);
    const int64_t per_column = slices * polarities;
    std::vector<int64_t> place;
    for (int polarity = 0; polarity < polarities; ++polarity) {
      for (int slice = 0; slice < slices; ++slice)
        place.push_back((polarity == 0 ? 1 : -1) * (int64_t{1} << (slice * cell_bits)));
    }
    const int64_t columns = pick(0, 3) == 0 ? pick(1, 5) : pick(1, 200);
    std::vector<int32_t> readings(static_cast<size_t>(columns * per_column));
    // Readings up to the int32 bound of a column (and negative: signed planes subtract).
    for (auto& reading : readings)
      reading =
          trial % 6 == 0 ? (pick(0, 1) ? INT32_MAX : INT32_MIN + 1) : pick(-(1 << 24), 1 << 24);
    std::vector<int64_t> out(static_cast<size_t>(columns), -3);
    shift_add_columns_with(kernel, readings.data(), columns, per_column, place.data(), out.data());
    for (int64_t c = 0; c < columns; ++c) {
      int64_t expected = 0;
      for (int64_t k = 0; k < per_column; ++k)
        expected += int64_t{readings[c * per_column + k]} * place[k];
      ASSERT_EQ(out[c], expected) << "trial " << trial << " column " << c;
    }
  }
}

TEST(CimVectorKernels, PortableShiftAddEqualsTheDefinition) {
  expect_shift_add_matches(VectorKernel::Portable);
}

TEST(CimVectorKernels, Avx2ShiftAddEqualsTheDefinition) {
  if (!vector_kernel_available(VectorKernel::Avx2)) GTEST_SKIP() << "host has no AVX2";
  expect_shift_add_matches(VectorKernel::Avx2);
}

}  // namespace
}  // namespace cimtlm::cim
