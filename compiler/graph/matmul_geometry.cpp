#include "compiler/graph/matmul_geometry.h"

#include "compiler/graph/broadcast.h"

namespace cimtlm::graph {

MatMulGeometry resolve_matmul(const Node& node, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) throw ModelError(node.describe() + ": scalar matmul operand");
  Shape a_shape = a;
  Shape b_shape = b;
  const bool a_vector = a_shape.size() == 1;
  const bool b_vector = b_shape.size() == 1;
  if (a_vector) a_shape.insert(a_shape.begin(), 1);
  if (b_vector) b_shape.push_back(1);
  MatMulGeometry g;
  g.rows = a_shape[a_shape.size() - 2];
  g.inner = a_shape.back();
  g.cols = b_shape.back();
  if (b_shape[b_shape.size() - 2] != g.inner) {
    throw ModelError(node.describe() + ": inner dimensions differ: " + to_string(a) + " x " +
                     to_string(b));
  }
  const Shape a_batch(a_shape.begin(), a_shape.end() - 2);
  const Shape b_batch(b_shape.begin(), b_shape.end() - 2);
  g.output = broadcast_shape(node, a_batch, b_batch);
  g.a_batch = broadcast_index(a_batch, g.output);
  g.b_batch = broadcast_index(b_batch, g.output);
  if (!a_vector) g.output.push_back(g.rows);
  if (!b_vector) g.output.push_back(g.cols);
  return g;
}

}  // namespace cimtlm::graph
