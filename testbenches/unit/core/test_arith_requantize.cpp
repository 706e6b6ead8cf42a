// The arithmetic unit's requantization of exact accumulators into 8-bit codes against the numeric
// contract (compiler/graph/quantized_math.h, graph::requantize), element by element: extreme
// accumulators (INT32_MIN/MAX, sums that wrap with the bias), exact ties of the rounding (round
// half to even), per-column and shared multipliers, fused ReLU clamps, both output layouts and
// more vectors than one block of the unit's loop.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "compiler/graph/quantized_math.h"
#include "models/arith/arith_map.h"
#include "models/arith/arith_unit.h"
#include "models/kernel/stats.h"

namespace cimtlm {
namespace {

struct Case {
  int64_t vectors, cols, stride;
  bool column_major, per_column, with_bias, signed_output;
};

// Returns the number of exact rounding ties met inside the output range.
int64_t check(const Case& shape, std::mt19937_64& random) {
  kernel::StatGroup stats("arith", "arith");
  arith::ArithParams params;
  params.accumulator_bytes = 1 << 20;
  arith::ArithUnit unit(params, stats, nullptr, {"core0", "arith"});
  core::Requantize command;
  command.vectors = shape.vectors;
  command.cols = shape.cols;
  command.accumulator_stride = shape.stride;
  command.accumulator = 16;
  command.output.type = shape.signed_output ? core::ElemType::Int8 : core::ElemType::UInt8;
  command.output_zero_point = shape.signed_output ? -3 : 128;
  // A fused ReLU narrows the range to [zero point, top] on half of the cases.
  const bool relu = (random() & 1) != 0;
  command.clamp_min = relu ? command.output_zero_point : (shape.signed_output ? -128 : 0);
  command.clamp_max = shape.signed_output ? 127 : 255;
  if (shape.column_major) {
    command.out_vector_stride = 1;
    command.out_column_stride = shape.vectors;
  } else {
    command.out_vector_stride = shape.cols;
    command.out_column_stride = 1;
  }
  EXPECT_EQ(arith::requantize_column_major(command), shape.column_major);
  // Multipliers of 1/2 and 1/4 make exact ties; the others are arbitrary.
  const float choices[] = {0.5f, 0.25f, 0.0123f, 3.7e-4f, 1.0f, 17.5f};
  auto multipliers = std::make_shared<std::vector<float>>(shape.per_column ? shape.cols : 1);
  for (float& m : *multipliers) m = choices[random() % 6];
  command.multipliers = multipliers;
  if (shape.with_bias) {
    auto bias = std::make_shared<std::vector<int32_t>>(shape.cols);
    for (int32_t& b : *bias) {
      b = (random() % 4 == 0) ? std::numeric_limits<int32_t>::max()
                              : static_cast<int32_t>(random() % 101) - 50;
    }
    command.bias = bias;
  }
  int32_t* acc = unit.accumulators(16, static_cast<uint64_t>(shape.vectors * shape.stride));
  const int32_t extremes[] = {std::numeric_limits<int32_t>::min(),
                              std::numeric_limits<int32_t>::max(),
                              0,
                              1,
                              -1,
                              3,
                              -3,
                              5,
                              -5,
                              255,
                              -256,
                              1 << 20};
  for (int64_t i = 0; i < shape.vectors * shape.stride; ++i) {
    acc[i] =
        (random() % 3 == 0) ? extremes[random() % 12] : static_cast<int32_t>(random() % 601) - 300;
  }
  std::vector<uint8_t> out;
  unit.requantize(command, shape.column_major, out);
  EXPECT_EQ(out.size(), static_cast<size_t>(shape.vectors * shape.cols));
  if (out.size() != static_cast<size_t>(shape.vectors * shape.cols)) return 0;
  int64_t ties = 0;
  for (int64_t v = 0; v < shape.vectors; ++v) {
    for (int64_t c = 0; c < shape.cols; ++c) {
      const int64_t sum = int64_t{acc[v * shape.stride + c]} +
                          (command.bias ? (*command.bias)[static_cast<size_t>(c)] : 0);
      const float multiplier = (*multipliers)[shape.per_column ? static_cast<size_t>(c) : 0];
      const float scaled = static_cast<float>(static_cast<int32_t>(sum)) * multiplier;
      const float lowest = static_cast<float>(command.clamp_min - command.output_zero_point);
      const float highest = static_cast<float>(command.clamp_max - command.output_zero_point);
      if (scaled > lowest && scaled < highest && std::fabs(scaled - std::trunc(scaled)) == 0.5f)
        ++ties;
      const int32_t expected =
          graph::requantize(static_cast<int32_t>(sum), multiplier, command.output_zero_point,
                            command.clamp_min, command.clamp_max);
      const size_t at =
          static_cast<size_t>(shape.column_major ? c * shape.vectors + v : v * shape.cols + c);
      const int32_t got =
          shape.signed_output ? int32_t{static_cast<int8_t>(out[at])} : int32_t{out[at]};
      EXPECT_EQ(got, expected) << "vector " << v << ", column " << c << ", sum " << sum
                               << ", multiplier " << multiplier;
      if (got != expected) return ties;
    }
  }
  return ties;
}

TEST(ArithRequantize, EightBitOutputsEqualTheNumericContract) {
  std::mt19937_64 random(7);
  const Case cases[] = {
      {200, 28, 32, true, true, true, false},  // NCHW conv output, several blocks of vectors
      {200, 28, 28, false, true, true, true},  // [M, N] output
      {1, 5, 5, false, false, false, false},   // one vector
      {130, 1, 4, true, false, true, true},    // one column, stride above it
      {64, 300, 300, false, false, false, false},
  };
  int64_t ties = 0;
  for (const Case& shape : cases) {
    for (int repeat = 0; repeat < 4; ++repeat) ties += check(shape, random);
  }
  EXPECT_GT(ties, 100) << "too few rounding ties exercised";
}

}  // namespace
}  // namespace cimtlm
