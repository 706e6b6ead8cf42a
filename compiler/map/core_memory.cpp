// Where a core's data live: activation buffers from the liveness plan, weights in the weight
// memory and then in the overflow regions.
#include <algorithm>

#include "compiler/map/mapper_internal.h"

namespace cimtlm::map {
namespace detail {

// Liveness-based placement of every core's activation buffers (compiler/map/memory_plan.h):
// buffers that are never live together share bytes, so a core needs its peak, not the sum.
void Mapper::plan_activations() {
  std::vector<std::vector<int>> cores_of_node(graph_.nodes.size());
  std::vector<ScratchBuffer> scratch;
  for (size_t index = 0; index < graph_.nodes.size(); ++index) {
    const Node& node = graph_.nodes[index];
    cores_of_node[index] = cores_of(&node);
    if (node.domain == "cimtlm" && node.op_type == "QConcat") {
      // Inputs whose scale or zero point differ from the output's are requantized first.
      const auto x_scales = node.get_floats("x_scales", {});
      const auto x_zero_points = node.get_ints("x_zero_points", {});
      const float y_scale = node.get_float("y_scale", 1.0f);
      const int64_t y_zero_point = node.get_int("y_zero_point", 0);
      for (size_t input = 0; input < node.inputs.size() && input < x_scales.size(); ++input) {
        if (x_scales[input] != y_scale || x_zero_points.at(input) != y_zero_point) {
          scratch.push_back({static_cast<int>(index), core_of_node_.at(&node),
                             node.inputs[input] + ".requantized",
                             value(node.inputs[input]).bytes()});
        }
      }
    }
  }
  CoreActivationOptions options;
  options.alignment_bytes = kAlignment;
  options.received = ReceivedLifetime::WholeProgram;  // flow-control tokens: see transfer()
  activation_plans_ = plan_core_activations(graph_, liveness_, schedule_.node_order, cores_of_node,
                                            arch_.cores, options, scratch);
  for (const auto& plan : activation_plans_) {
    CoreState& state = state_[static_cast<size_t>(plan.core)];
    state.activation_used = plan.plan.arena_bytes;  // buffers outside the plan go above it
    if (plan.plan.arena_bytes > arch_.activation_capacity) {
      throw ModelError("core " + std::to_string(plan.core) + ": activations need " +
                       std::to_string(plan.plan.arena_bytes) + " bytes at their peak; the " +
                       "activation memory holds " + std::to_string(arch_.activation_capacity));
    }
    mapping_.report.activation_bytes[static_cast<size_t>(plan.core)] = plan.plan.arena_bytes;
  }
}

core::TensorRef Mapper::allocate_activation(int core, core::ElemType type, const Shape& shape,
                                            const std::string& what) {
  CoreState& state = state_[static_cast<size_t>(core)];
  core::TensorRef tensor;
  tensor.type = type;
  tensor.shape = shape;
  if (static_cast<size_t>(core) < activation_plans_.size()) {
    const auto& offsets = activation_plans_[static_cast<size_t>(core)].offset_of_value;
    auto planned = offsets.find(what);
    if (planned != offsets.end()) {
      tensor.addr = arch_.activation_base + planned->second;
      return tensor;
    }
  }
  // Not in the plan (should not happen): a buffer of its own above the planned arena.
  const uint64_t bytes = align_up(std::max<uint64_t>(tensor.bytes(), 1));
  if (state.activation_used + bytes > arch_.activation_capacity) {
    throw ModelError("core " + std::to_string(core) + ": activations do not fit in the " +
                     std::to_string(arch_.activation_capacity) + "-byte activation memory (at '" +
                     what + "', " + std::to_string(state.activation_used + bytes) +
                     " bytes needed)");
  }
  tensor.addr = arch_.activation_base + state.activation_used;
  state.activation_used += bytes;
  mapping_.report.activation_bytes[static_cast<size_t>(core)] = state.activation_used;
  ++mapping_.report.unplanned_buffers;
  return tensor;
}

// Weights go to the weight memory, then to the overflow regions in order.
core::Addr Mapper::store_weights(int core, std::vector<uint8_t> bytes, const std::string& what) {
  CoreState& state = state_[static_cast<size_t>(core)];
  const uint64_t size = align_up(std::max<size_t>(bytes.size(), 1));
  core::Addr addr = 0;
  if (state.weight_used + size <= arch_.weight_capacity) {
    addr = arch_.weight_base + state.weight_used;
    state.weight_used += size;
  } else {
    state.overflow_used.resize(arch_.weight_overflow.size(), 0);
    bool placed = false;
    for (size_t region = 0; region < arch_.weight_overflow.size() && !placed; ++region) {
      const auto& area = arch_.weight_overflow[region];
      if (state.overflow_used[region] + size <= area.capacity) {
        addr = area.base + state.overflow_used[region];
        state.overflow_used[region] += size;
        mapping_.report.weight_bytes_overflow += size;
        placed = true;
      }
    }
    if (!placed) {
      throw ModelError("core " + std::to_string(core) + ": the weights of '" + what +
                       "' fit in no memory of the core (weight memory " +
                       std::to_string(arch_.weight_capacity) +
                       " bytes full; add an off-chip DRAM level or more capacity)");
    }
  }
  mapping_.report.weight_bytes[static_cast<size_t>(core)] += size;
  mapping_.program.cores[static_cast<size_t>(core)].images.push_back(
      {addr, std::move(bytes), what});
  return addr;
}

}  // namespace detail

}  // namespace cimtlm::map
