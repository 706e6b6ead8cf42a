// Mapping a quantized network onto the many-core platform: tiling onto CIM macros, placement on
// cores, buffer allocation, and emission of one Program per core (models/core/program.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"
#include "compiler/map/arch.h"
#include "models/core/program.h"

namespace cimtlm::map {

struct MapOptions {
  std::vector<int> cores;  // cores this network may use (empty: all)
  std::string name_prefix;  // prefixes IoBinding names (several networks on one chip)
  int tag_base = 0;         // NoC message tags start here (unique per chip)
};

struct LayerMapping {
  std::string layer;
  std::string op;
  int core = 0;
  int weight_bits = 8;
  int64_t rows = 0, cols = 0;  // weight matrix of the layer (per group)
  int64_t groups = 1;
  int64_t tiles = 0;        // tiles that take array space
  int64_t tiles_dense = 0;  // tiles an unpruned mapping would take
  int64_t vectors = 0;      // input vectors per inference
  bool stationary = true;   // weights stay in the arrays across inferences
  int64_t macs = 0;
};

struct MappingReport {
  std::vector<LayerMapping> layers;
  int64_t tiles = 0;
  int64_t tiles_dense = 0;
  int cores_used = 0;
  int64_t weight_loads_per_inference = 0;  // array rewrites in the body (0: all stationary)
  int64_t weight_loads_once = 0;           // stationary loads in the prologues
  std::vector<uint64_t> activation_bytes;  // per core
  std::vector<uint64_t> weight_bytes;      // per core
};

struct Mapping {
  core::ChipProgram program;
  MappingReport report;
};

// Maps a lowered graph (every node a cimtlm op or an integer data-movement op). `values` holds
// every tensor of one reference run (ReferenceExecutor::run(.., keep_all = true)): the mapper
// reads shapes from it. Throws graph::ModelError when a node cannot run on the platform.
Mapping map_network(const graph::Graph& graph, const graph::ValueMap& values, const ArchInfo& arch,
                    const MapOptions& options = {});

}  // namespace cimtlm::map
