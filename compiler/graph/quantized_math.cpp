#include "compiler/graph/quantized_math.h"

#include <cmath>
#include <limits>

namespace cimtlm::graph {

std::vector<float> softmax_exp_table(float x_scale, int64_t extent, bool is_signed) {
  double shift = std::log(static_cast<double>(std::numeric_limits<float>::max()) /
                          static_cast<double>(extent));
  shift = std::max(0.0, shift - 5.0) / static_cast<double>(x_scale);
  std::vector<float> table(256);
  for (int32_t i = 0; i < 256; ++i) {
    const double value =
        std::exp((static_cast<double>(i) - 255.0 + shift) * static_cast<double>(x_scale));
    const auto index = static_cast<uint8_t>(is_signed ? i - 128 : i);
    table[index] = static_cast<float>(value);
  }
  return table;
}

}  // namespace cimtlm::graph
