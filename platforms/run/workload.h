// The networks of a run, prepared for mapping: loaded (layer-list YAML or ONNX), lowered to the
// platform's quantized ops, given inputs (files or seeded random), and run once through the
// reference executor (its values give the mapper every shape and the expected outputs).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::platforms {

struct PreparedNetwork {
  std::string name;
  std::string path;
  graph::Graph graph;     // lowered: what the platform runs
  graph::ValueMap inputs;
  graph::ValueMap values;  // every tensor of one reference run of `graph`
};

// Loads a network file. Throws ConfigError (YAML) or graph::ModelError (ONNX, layers).
graph::Graph load_network(const std::string& path);

// Prepares every network. `inputs` are NAME=FILE pairs (NAME may be prefixed "network:" when
// several networks run); names that match no network input are an error.
std::vector<PreparedNetwork> prepare_networks(
    const std::vector<std::string>& paths, const std::vector<std::pair<std::string, std::string>>& inputs,
    uint64_t seed);

}  // namespace cimtlm::platforms
