// Shapes of numpy.matmul (ONNX MatMul, QLinearMatMul, MatMulInteger): 1-D operands are promoted
// to matrices and the added axis removed again; batch dimensions broadcast.
#pragma once

#include <vector>

#include "compiler/graph/graph.h"

namespace cimtlm::graph {

struct MatMulGeometry {
  int64_t rows = 0, inner = 0, cols = 0;
  Shape output;                  // the product's shape
  std::vector<int64_t> a_batch;  // for each output matrix, the index of A's matrix it reads
  std::vector<int64_t> b_batch;  // ... and of B's
};

// ModelError naming the node for scalars or mismatched inner dimensions.
MatMulGeometry resolve_matmul(const Node& node, const Shape& a, const Shape& b);

}  // namespace cimtlm::graph
