// The controller's im2col transposition (models/core/vector_gather.h) against the byte-by-byte
// definition, on shapes around the 16x16 blocks (tails of rows and of positions), offsets in any
// order, every byte value, and nothing written past the vectors.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "models/core/vector_gather.h"

namespace cimtlm::core {
namespace {

TEST(VectorGather, TransposeEqualsTheByteByByteGather) {
  std::mt19937_64 random(11);
  std::vector<uint8_t> input(1 << 16);
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<uint8_t>(random());
  for (size_t i = 0; i < 256; ++i) input[i] = static_cast<uint8_t>(i);  // every code
  const int64_t row_counts[] = {1, 9, 15, 16, 17, 32, 33, 252, 256};
  const int64_t position_counts[] = {1, 7, 8, 12, 16, 17, 24, 31, 112};
  for (int64_t rows : row_counts) {
    for (int64_t count : position_counts) {
      std::vector<int64_t> offsets(static_cast<size_t>(rows));
      for (auto& offset : offsets) {
        offset = static_cast<int64_t>(random() % (input.size() - static_cast<size_t>(count)));
      }
      if (rows > 1) offsets[1] = offsets[0];  // two rows reading the same bytes
      const size_t size = static_cast<size_t>(rows * count);
      std::vector<uint8_t> vectors(size + 64, 0xa5), expected(size + 64, 0xa5);
      for (int64_t v = 0; v < count; ++v) {
        for (int64_t r = 0; r < rows; ++r) {
          expected[static_cast<size_t>(v * rows + r)] =
              input[static_cast<size_t>(offsets[static_cast<size_t>(r)] + v)];
        }
      }
      gather_transposed(input.data(), offsets.data(), rows, count, vectors.data());
      ASSERT_EQ(vectors, expected) << rows << " rows, " << count << " positions";
    }
  }
}

}  // namespace
}  // namespace cimtlm::core
