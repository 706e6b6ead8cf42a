// Networks described as a list of layers (configs/networks/*.yaml): a quantized graph with seeded
// random weights and biases. Output scales are calibrated on the network's own seeded input so
// that every layer uses its 8-bit range well (no layer saturates or collapses to zero).
#pragma once

#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::graph {

struct LayerSpec {
  std::string type;  // dense, conv, maxpool, avgpool, global_avgpool, flatten, add
  std::string name;
  int64_t units = 0;
  int64_t channels = 0;
  int64_t kernel = 3;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t groups = 1;
  std::string activation = "none";  // none, relu, relu6
  int weight_bits = 8;
  double weight_sparsity = 0.0;       // unstructured: single weights set to zero
  double structured_sparsity = 0.0;   // structured: whole input channels/rows and output
                                      // channels pruned so that this fraction of weights is zero
  std::string from;  // add: the earlier layer added to the previous output
  std::string where;  // "file:line" of the layer, for error messages
};

struct LayeredNetworkSpec {
  std::string name = "network";
  uint64_t seed = 1;
  Shape input_shape;
  DataType input_type = DataType::UInt8;
  float input_scale = 0.05f;
  int32_t input_zero_point = 0;
  double input_sparsity = 0.5;
  std::vector<LayerSpec> layers;
};

// Builds the quantized graph (ops of domain "cimtlm" plus MaxPool/Flatten). Throws ModelError
// naming the layer (and spec.where) when layers do not fit together.
Graph build_layered_network(const LayeredNetworkSpec& spec);

// Seeded inputs for any graph: 8-bit inputs uniform over their range with the fraction
// `cimtlm.input_sparsity` (graph metadata, default 0) set to `cimtlm.input_zero_point`; float
// inputs uniform in [-1, 1); integer index inputs uniform over [0, 8).
ValueMap random_inputs(const Graph& graph, uint64_t seed);

}  // namespace cimtlm::graph
