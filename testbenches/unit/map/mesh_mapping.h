// A shipped network quantized, run through the reference executor and mapped with shared
// placement onto a side x side mesh of cores with square arrays: the fixture of the tests of
// the traffic between cores (test_transfer_ranges.cpp, test_forwarding_tree.cpp).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include "compiler/graph/lowering.h"
#include "compiler/map/mapper.h"
#include "compiler/onnx/onnx_io.h"

namespace cimtlm::map::test_support {

struct Mapped {
  graph::Graph graph;
  graph::ValueMap values;
  Mapping mapping;
};

struct MeshArrays {
  int macros_per_core = 4;
  int macro_size = 256;  // rows = columns
  bool forwarding_trees = true;
};

inline Mapped map_on_mesh(const std::string& name, int side, const MeshArrays& arrays = {}) {
  Mapped mapped;
  const std::string folder = std::string(CIMTLM_NETWORKS_DIR) + "/";
  mapped.graph = graph::lower_quantized(onnx::load_onnx(folder + name + ".onnx"));
  const graph::Tensor input = onnx::load_npy(folder + name + "_input.npy");
  mapped.values = graph::ReferenceExecutor(mapped.graph).run({{"input", input}}, true);
  ArchInfo arch;
  arch.cores = side * side;
  arch.mesh_rows = side;
  arch.mesh_cols = side;
  arch.macros_per_core = arrays.macros_per_core;
  arch.macro_rows = arrays.macro_size;
  arch.macro_cols = arrays.macro_size;
  const int64_t columns = arrays.macro_size;
  arch.logical_columns = [columns](int bits) { return columns / bits; };
  arch.weight_capacity = 1 << 20;
  arch.activation_base = 1 << 20;
  arch.activation_capacity = 1 << 20;
  MapOptions options;
  options.placement = "shared";
  options.forwarding_trees = arrays.forwarding_trees;
  mapped.mapping = map_network(mapped.graph, mapped.values, arch, options);
  return mapped;
}

// XY hops between two cores of a side x side mesh (core ids row-major).
inline int hops(int a, int b, int side) {
  return std::abs(a % side - b % side) + std::abs(a / side - b / side);
}

}  // namespace cimtlm::map::test_support
