// NumPy-style broadcasting for element-wise kernels.
#pragma once

#include <vector>

#include "compiler/graph/graph.h"

namespace cimtlm::graph {

// Output shape of broadcasting a with b; throws ModelError naming the node when incompatible.
Shape broadcast_shape(const Node& node, const Shape& a, const Shape& b);

// For every output element (row-major), the linear index of the element of `input` it reads.
// Computed once per kernel call; cheap next to the arithmetic for the sizes cimtlm runs.
std::vector<int64_t> broadcast_index(const Shape& input, const Shape& output);

}  // namespace cimtlm::graph
