// The mapper's state and its jobs, shared by the files that implement them (internal to
// compiler/map; the interface is mapper.h):
//   mapper.cpp          the pass order, per-node dispatch, outputs and program ends;
//   placement.cpp       CIM layers analysed, tiled and placed on cores (pipelined/partitioned);
//   core_memory.cpp     where every core's activations and weights live (liveness plan, spill);
//   transfers.cpp       values moved between cores, with flow-control credit tokens;
//   cim_emission.cpp    CIM layers as weight loads, matrix-vector passes and requantization;
//   arith_emission.cpp  every other op on the arithmetic unit;
//   kernel_emission.cpp float-island ops and activation x activation products on the arithmetic
//                       unit, computed by the reference kernels.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/map/cim_tiling.h"
#include "compiler/map/liveness.h"
#include "compiler/map/mapper.h"
#include "compiler/map/memory_plan.h"
#include "compiler/map/schedule.h"

namespace cimtlm::map::detail {

using graph::DataType;
using graph::ModelError;
using graph::Node;
using graph::Shape;
using graph::Tensor;

constexpr uint64_t kAlignment = 64;  // buffer alignment in bytes (one memory word line)

inline uint64_t align_up(uint64_t value) {
  return (value + kAlignment - 1) / kAlignment * kAlignment;
}

inline core::ElemType elem_type(const Node& node, DataType type) {
  switch (type) {
    case DataType::Int8:
      return core::ElemType::Int8;
    case DataType::UInt8:
      return core::ElemType::UInt8;
    case DataType::Int32:
      return core::ElemType::Int32;
    case DataType::Float:
      return core::ElemType::Float32;
    case DataType::Int64:
      return core::ElemType::Int64;
    case DataType::Bool:  // one byte per element, as uint8 (a Where's condition in an island)
      return core::ElemType::UInt8;
    default:
      throw ModelError(node.describe() + ": tensors of type " +
                       std::string(graph::to_string(type)) +
                       " cannot live in the platform's memories");
  }
}

inline bool is_cim(const Node& node) {
  return node.domain == "cimtlm" && (node.op_type == "QConv" || node.op_type == "QGemm");
}

inline bool is_alias(const Node& node) {
  return node.domain.empty() &&
         (node.op_type == "Flatten" || node.op_type == "Reshape" || node.op_type == "Identity" ||
          node.op_type == "Squeeze" || node.op_type == "Unsqueeze");
}

inline int bits_for_magnitude(int64_t magnitude) {
  int bits = 1;  // sign bit
  while (bits < 63 && (int64_t{1} << (bits - 1)) <= magnitude) ++bits;
  return bits;
}

class Mapper {
 public:
  Mapper(const graph::Graph& graph, const graph::ValueMap& values, const ArchInfo& arch,
         const MapOptions& options);
  Mapping run();

 private:
  struct CoreState {
    uint64_t activation_used = 0;
    uint64_t weight_used = 0;
    std::vector<uint64_t> overflow_used;
    int streaming_macro = 0;
    int64_t stationary_tiles = 0;
    int64_t planned_tiles = 0;
    bool used = false;
    int accumulator_half = 0;
    uint64_t spill_used = 0;  // bytes of spilled activations at the start of the spill region
  };
  // A share of a layer's work: the tiles of one block and column chunk, over a range of the
  // input vectors (output positions), [first_vector, end_vector) with end -1 meaning all.
  struct WorkItem {
    int64_t block = 0;
    int64_t chunk = 0;
    int64_t first_vector = 0;
    int64_t end_vector = -1;
  };
  // A CIM layer and how its tiles are shared among cores.
  struct CimPlan {
    CimLayer layer;
    LayerTiling tiling;
    std::vector<int> cores;  // cores[0] is the home core (assembles the output)
    // Work items per core.
    std::vector<std::vector<WorkItem>> items;
  };
  // Requantization parameters of a CIM node.
  struct OutputParams {
    DataType y_type = DataType::Int8;
    std::vector<float> w_scales;
    float x_scale = 1, y_scale = 1;
    int32_t y_zero_point = 0, clamp_min = -128, clamp_max = 127;
    int32_t x_zero_point = 0;
    int input_bits = 8;
    const Tensor* bias = nullptr;
  };
  struct Credit {
    int consumers_left = 0;
    std::vector<core::Send> tokens;
  };

  const Tensor& value(const std::string& name) const {
    auto found = values_.find(name);
    if (found != values_.end()) return found->second;
    if (const Tensor* constant = graph_.initializer(name)) return *constant;
    throw ModelError("mapper: no value for tensor '" + name + "'");
  }
  int64_t logical_columns(int bits) const {
    return std::max<int64_t>(1, arch_.logical_columns(bits));
  }
  core::Program& program(int core) { return mapping_.program.cores[static_cast<size_t>(core)]; }

  // ---- pass order and dispatch (mapper.cpp)
  void emit(size_t index);
  void account_layer(const Node& node);
  core::TensorRef output_buffer(const Node& node, int core, size_t output = 0);
  void bind_outputs();
  void finish();

  // ---- analysis and placement (placement.cpp)
  void analyse();
  std::vector<WorkItem> work_items(const CimPlan& plan, size_t cores) const;
  int64_t vectors_per_image(const Node& node, const CimLayer& layer) const;
  int64_t layer_steps(const Node* node, size_t cores) const;
  bool partition_pays(const std::vector<const Node*>& order, int64_t total,
                      int64_t core_count) const;
  void place();
  std::vector<int> cores_of(const Node* node) const;
  std::vector<int> along_mesh_curve(const std::vector<int>& cores) const;

  // ---- activation and weight memory (core_memory.cpp)
  void plan_activations();
  core::TensorRef allocate_activation(int core, core::ElemType type, const Shape& shape,
                                      const std::string& what);
  core::Addr store_weights(int core, std::vector<uint8_t> bytes, const std::string& what);
  // Bytes of `value` kept off chip on `core` (0 when on chip).
  uint64_t spilled_bytes(const std::string& value, int core) const;

  // ---- transfers between cores and flow control (transfers.cpp)
  core::TensorRef on_core(const std::string& name, int core, const Node& user);
  void emit_pending_receives(const std::string& name, int core);
  void transfer(const std::string& name, int from, core::Addr source, int to,
                core::Addr destination, uint64_t bytes);
  // Byte ranges (offset, length) of a value, sent under one flow-control token.
  using ByteRanges = std::vector<std::pair<uint64_t, uint64_t>>;
  void transfer_ranges(const std::string& name, int from, core::Addr source, int to,
                       core::Addr destination, const ByteRanges& ranges);
  ByteRanges needed_ranges(const std::string& name, int core, const core::TensorRef& ref) const;
  int local_consumers(const std::string& name, int core) const;
  void release_tokens(const std::string& name, int core);
  void distribute(const std::string& name, int core, const core::TensorRef& ref);
  // Edges (parent, child) of a tree rooted at `root` that reaches every core of `members` once,
  // at most two children per core, in an order where a parent's own edge comes first.
  std::vector<std::pair<int, int>> forwarding_tree(int root, const std::vector<int>& members) const;
  int mesh_hops(int a, int b) const;
  void return_credits(const Node& node, int core);

  // ---- CIM emission (cim_emission.cpp)
  OutputParams output_params(const Node& node) const;
  core::Requantize make_requantize(const OutputParams& p, const std::vector<int64_t>& channels,
                                   const std::string& layer) const;
  int64_t partial_sum_bound(const CimPlan& plan, const std::vector<int64_t>& channels,
                            DataType x_type, int32_t x_zero_point) const;
  void emit_cim(const Node& node);
  static void place_output(core::Requantize& requant, const core::TensorRef& output, bool conv,
                           int64_t image, int64_t image_elements, int64_t vectors_per_image,
                           int64_t out_channels, int64_t first_vector);
  core::LoadWeights load_command(const Tile& tile, const CimLayer& layer, core::Addr image,
                                 const std::string& name) const;
  int macro_for(int core, const Tile& tile, const CimLayer& layer, LayerMapping& report);
  int load_streamed(int core, const Tile& tile, const CimLayer& layer, LayerMapping& report);

  // ---- arithmetic emission (arith_emission.cpp)
  void emit_arith(const Node& node, int core);
  static int64_t broadcast_inner(const Node& node, const Shape& b, const Shape& y);
  static std::array<int64_t, 4> resolved_pads(const Node& node, const Tensor& x, const Tensor& y,
                                              const std::vector<int64_t>& kernel,
                                              const std::vector<int64_t>& strides,
                                              const std::vector<int64_t>& dilations);
  void emit_transpose(const Node& node, int core);
  void emit_concat(const Node& node, int core);

  // ---- ops computed by the arithmetic unit with reference kernels (kernel_emission.cpp)
  bool runs_as_kernel(const Node& node) const;
  void kernel_costs(const Node& node, core::KernelOp& command) const;
  void emit_kernel_op(const Node& node, int core);

  const graph::Graph& graph_;
  const graph::ValueMap& values_;
  const ArchInfo& arch_;
  MapOptions options_;
  std::vector<int> cores_;
  Mapping mapping_;
  std::vector<CoreState> state_;
  std::map<const Node*, CimPlan> plans_;
  std::map<const Node*, int> core_of_node_;
  std::map<std::pair<std::string, int>, core::TensorRef> located_;
  std::map<std::pair<std::string, int>, std::vector<core::Receive>> pending_receives_;
  std::map<std::pair<std::string, int>, Credit> credits_;
  std::map<const Tile*, std::map<int, core::Addr>> tile_images_;
  Liveness liveness_;
  ScheduleResult schedule_;
  std::vector<CoreActivationPlan> activation_plans_;
  // Per core: the address of every planned activation buffer (on chip or spilled).
  std::vector<std::map<std::string, core::Addr>> activation_address_;
  std::set<std::pair<std::string, int>> spilled_values_;  // (value, core) kept off chip
  int next_tag_ = 0;
};

}  // namespace cimtlm::map::detail
