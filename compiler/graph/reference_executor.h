// The reference executor: the golden model that every simulated run is compared with.
//
// It interprets a Graph node by node with straightforward, independently written kernels
// (compiler/graph/kernels_*.cpp). Integer arithmetic follows compiler/graph/quantized_math.h.
#pragma once

#include <map>
#include <string>

#include "compiler/graph/graph.h"

namespace cimtlm::graph {

using ValueMap = std::map<std::string, Tensor>;

class ReferenceExecutor {
 public:
  // Checks that every op of the graph has a kernel (ModelError naming the node otherwise).
  explicit ReferenceExecutor(const Graph& graph);

  // Runs the graph. Returns the graph outputs, or every value when `keep_all` is set (the mapper
  // reads intermediate shapes from that). Throws ModelError on missing inputs or bad shapes.
  ValueMap run(const ValueMap& inputs, bool keep_all = false) const;

 private:
  const Graph& graph_;
};

}  // namespace cimtlm::graph
