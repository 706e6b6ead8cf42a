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
  const auto cores = static_cast<size_t>(arch_.cores);
  mapping_.report.activation_bytes_needed.assign(cores, 0);
  mapping_.report.activation_bytes_spilled.assign(cores, 0);
  activation_address_.assign(cores, {});
  for (const auto& plan : activation_plans_) {
    const auto core = static_cast<size_t>(plan.core);
    CoreState& state = state_[core];
    auto& address = activation_address_[core];
    const uint64_t needed = plan.plan.arena_bytes;
    mapping_.report.activation_bytes_needed[core] = needed;
    if (needed <= arch_.activation_capacity) {
      state.activation_used = needed;  // buffers outside the plan go above it
      for (const auto& [name, offset] : plan.offset_of_value) {
        address[name] = arch_.activation_base + offset;
      }
      mapping_.report.activation_bytes[core] = needed;
      continue;
    }
    // Too small: the buffers above the capacity line spill to the off-chip level.
    const std::string shortage = "core " + std::to_string(plan.core) + ": activations need " +
                                 std::to_string(needed) + " bytes at their peak; the " +
                                 "activation memory holds " +
                                 std::to_string(arch_.activation_capacity);
    if (arch_.activation_spill.capacity == 0) {
      throw CapacityError(shortage + ", and the platform names no off-chip level to spill to");
    }
    MemoryPlanOptions memory;
    memory.alignment_bytes = kAlignment;
    memory.steps = static_cast<int>(plan.nodes.size());
    const SpillPlan split =
        split_at_capacity(plan.requests, plan.plan, arch_.activation_capacity, memory);
    if (split.spill_bytes > arch_.activation_spill.capacity) {
      throw ModelError(shortage + "; the " + std::to_string(split.spill_bytes) +
                       " bytes that spill exceed the off-chip level (" +
                       std::to_string(arch_.activation_spill.capacity) +
                       " bytes): the platform cannot run this network");
    }
    state.activation_used = split.on_chip_bytes;
    state.spill_used = align_up(split.spill_bytes);
    for (size_t i = 0; i < plan.requests.size(); ++i) {
      const BufferRequest& request = plan.requests[i];
      const bool spilled = split.spilled[i] != 0;
      address[request.name] =
          (spilled ? arch_.activation_spill.base : arch_.activation_base) + split.offsets[i];
      if (!spilled) continue;
      spilled_values_.insert({request.name, plan.core});
      if (request.alias_of < 0) {
        mapping_.report.spilled_buffers.push_back({plan.core, request.name, request.bytes});
      }
    }
    // Overflowing weights go above the spilled activations in a region they share.
    state.overflow_used.assign(arch_.weight_overflow.size(), 0);
    for (size_t region = 0; region < arch_.weight_overflow.size(); ++region) {
      if (arch_.weight_overflow[region].base == arch_.activation_spill.base) {
        state.overflow_used[region] = state.spill_used;
      }
    }
    mapping_.report.activation_bytes[core] = split.on_chip_bytes;
    mapping_.report.activation_bytes_spilled[core] = split.spill_bytes;
  }
}

core::TensorRef Mapper::allocate_activation(int core, core::ElemType type, const Shape& shape,
                                            const std::string& what) {
  CoreState& state = state_[static_cast<size_t>(core)];
  core::TensorRef tensor;
  tensor.type = type;
  tensor.shape = shape;
  if (static_cast<size_t>(core) < activation_address_.size()) {
    const auto& planned = activation_address_[static_cast<size_t>(core)];
    auto found = planned.find(what);
    if (found != planned.end()) {
      tensor.addr = found->second;
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
    bool placed = false, off_chip = false;
    for (size_t region = 0; region < arch_.weight_overflow.size() && !placed; ++region) {
      const auto& area = arch_.weight_overflow[region];
      off_chip = off_chip || area.off_chip;
      if (state.overflow_used[region] + size <= area.capacity) {
        addr = area.base + state.overflow_used[region];
        state.overflow_used[region] += size;
        mapping_.report.weight_bytes_overflow += size;
        if (area.off_chip) mapping_.report.weight_bytes_off_chip += size;
        placed = true;
      }
    }
    if (!placed) {
      const std::string shortage = "core " + std::to_string(core) + ": the weights of '" + what +
                                   "' fit in no memory of the core (weight memory " +
                                   std::to_string(arch_.weight_capacity) + " bytes full";
      if (!off_chip) {
        throw CapacityError(shortage + ", and the platform names no off-chip level)");
      }
      throw ModelError(shortage + ", the off-chip level too): the platform cannot run this " +
                       "network");
    }
  }
  mapping_.report.weight_bytes[static_cast<size_t>(core)] += size;
  mapping_.program.cores[static_cast<size_t>(core)].images.push_back(
      {addr, std::move(bytes), what});
  return addr;
}

uint64_t Mapper::spilled_bytes(const std::string& value, int core) const {
  if (!spilled_values_.count({value, core})) return 0;
  return this->value(value).bytes();
}

}  // namespace detail

}  // namespace cimtlm::map
