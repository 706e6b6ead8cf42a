#include "compiler/graph/broadcast.h"

namespace cimtlm::graph {

Shape broadcast_shape(const Node& node, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t axis = 0; axis < rank; ++axis) {
    const int64_t da = axis < rank - a.size() ? 1 : a[axis - (rank - a.size())];
    const int64_t db = axis < rank - b.size() ? 1 : b[axis - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw ModelError(node.describe() + ": shapes " + to_string(a) + " and " + to_string(b) +
                       " cannot be broadcast");
    }
    out[axis] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_index(const Shape& input, const Shape& output) {
  const size_t rank = output.size();
  const size_t offset = rank - input.size();
  // Stride of each output axis in the input (0 where the input broadcasts).
  std::vector<int64_t> stride(rank, 0);
  int64_t running = 1;
  for (size_t axis = rank; axis-- > offset;) {
    const int64_t extent = input[axis - offset];
    stride[axis] = extent == 1 ? 0 : running;
    running *= extent;
  }
  const int64_t total = element_count(output);
  std::vector<int64_t> index(static_cast<size_t>(total));
  std::vector<int64_t> counter(rank, 0);
  int64_t position = 0;
  for (int64_t linear = 0; linear < total; ++linear) {
    index[static_cast<size_t>(linear)] = position;
    for (size_t axis = rank; axis-- > 0;) {
      position += stride[axis];
      if (++counter[axis] < output[axis]) break;
      position -= stride[axis] * output[axis];
      counter[axis] = 0;
    }
  }
  return index;
}

}  // namespace cimtlm::graph
