// Mapping a quantized network onto the many-core platform: tiling onto CIM macros, placement on
// cores, buffer allocation, and emission of one Program per core (models/core/program.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"
#include "compiler/map/arch.h"
#include "models/core/program.h"

namespace cimtlm::map {

struct MapOptions {
  std::vector<int> cores;   // cores this network may use (empty: all)
  std::string name_prefix;  // prefixes IoBinding names (several networks on one chip)
  int tag_base = 0;         // NoC message tags start here (unique per chip)
  // Placement of CIM layers: "pipelined" (each layer on one core, consecutive layers grouped),
  // "partitioned" (every layer's output channels split over all cores), or "auto" (pipelined
  // when there are at least as many layers as cores, else cores shared out in proportion to the
  // layers' MACs and each layer partitioned over its share).
  std::string placement = "auto";
  // Partial sums that exceed the accumulator memory: "exact" computes the outputs in batches of
  // input vectors (more passes), "rescale" keeps every vector in one pass and stores partial sums
  // rescaled to a narrower precision (the seed's batched accumulation; error is measured).
  std::string accumulation = "exact";
  bool compact = true;  // leave all-zero rows, columns and tiles out of the arrays
  int inferences = 1;   // inferences the program runs (placement weighs latency and throughput)
  // Peak activation memory the branch order should stay under (none: the minimal peak).
  std::optional<uint64_t> memory_target_bytes;
  // Three or more destinations that need the same bytes of a value receive it along a tree (the
  // producer sends to at most two, each forwards to at most two) instead of one send each from
  // the producer. Off: the producer sends to every destination (for comparisons).
  bool forwarding_trees = true;
};

struct LayerMapping {
  std::string layer;
  std::string op;
  int core = 0;            // home core (where the output is assembled)
  std::vector<int> cores;  // every core computing part of the layer
  int weight_bits = 8;
  int64_t rows = 0, cols = 0;  // weight matrix of the layer (per group)
  int64_t groups = 1;
  int64_t tiles = 0;        // tiles that take array space
  int64_t tiles_dense = 0;  // tiles an unpruned mapping would take
  int64_t vectors = 0;      // input vectors per inference
  bool stationary = true;   // weights stay in the arrays across inferences
  int64_t macs = 0;
  int64_t blocks = 1;                    // packed group blocks
  int64_t rows_removed = 0;              // array rows saved by compaction of pruned weights
  int64_t columns_removed = 0;           // array columns saved by compaction
  int64_t vector_batches = 1;            // passes over the input vectors (accumulator memory)
  int accumulator_bits = 32;             // width partial sums are kept at
  int rescale_shift = 0;                 // rescaling of partial sums (0: exact)
  uint64_t accumulator_bytes = 0;        // peak accumulator memory the layer uses
  uint64_t accumulator_bytes_exact = 0;  // what one exact pass over every vector would need
  uint64_t spilled_bytes = 0;            // bytes of this layer's inputs and output kept off chip
};

// The network does not fit the chip's memories and the platform has no off-chip level to spill
// to (the caller may add one and map again). A platform whose off-chip level is too small too
// gets a plain graph::ModelError: it cannot run the network at all.
class CapacityError : public graph::ModelError {
 public:
  using graph::ModelError::ModelError;
};

// An activation buffer placed in the off-chip level because the activation memory is too small.
struct SpilledBuffer {
  int core = 0;
  std::string value;
  uint64_t bytes = 0;
};

// Every node of the network, for the per-layer account.
struct NodeLayer {
  std::string layer;  // the node's name (as its commands carry it), else its first output
  std::string op;
  std::vector<int> cores;      // home core first
  uint64_t spilled_bytes = 0;  // bytes of its inputs and outputs kept off chip, over its cores
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
  uint64_t weight_bytes_overflow = 0;      // weights stored outside the weight memory
  uint64_t weight_bytes_off_chip = 0;      // ... of which in the off-chip level
  // Activation spill: per core the on-chip arena the liveness plan needs (what the activation
  // memory must hold for nothing to spill) and the bytes of the spill arena off chip.
  std::vector<uint64_t> activation_bytes_needed;
  std::vector<uint64_t> activation_bytes_spilled;
  std::vector<SpilledBuffer> spilled_buffers;
  std::vector<NodeLayer> nodes;                       // in execution order
  std::map<std::string, std::string> layer_of_value;  // value -> the layer that produced it
  uint64_t accumulator_peak_bytes = 0;
  uint64_t accumulator_exact_bytes = 0;  // peak an exact single pass would need
  int64_t rescaled_batches = 0;          // CIM passes whose partial sums were rescaled
  std::string placement;                 // the placement chosen
  // Branch ordering (compiler/map/schedule.h): the order chosen for parallel branches, and the
  // peak live activation bytes of that order against the graph's own order.
  std::string branch_order;
  uint64_t peak_activation_bytes = 0;
  uint64_t naive_peak_activation_bytes = 0;
  bool memory_target_met = true;
  int64_t unplanned_buffers = 0;  // buffers the liveness plan did not foresee (0 expected)
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
