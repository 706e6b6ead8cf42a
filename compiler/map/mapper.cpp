// The mapper's pass order: schedule, placement, memory plan, emission node by node, outputs.
#include "compiler/map/mapper.h"

#include <algorithm>
#include <numeric>

#include "compiler/map/mapper_internal.h"

namespace cimtlm::map {
namespace detail {

Mapper::Mapper(const graph::Graph& graph, const graph::ValueMap& values, const ArchInfo& arch,
               const MapOptions& options)
    : graph_(graph), values_(values), arch_(arch), options_(options) {
  if (arch_.cores < 1 || arch_.macros_per_core < 1 || !arch_.logical_columns) {
    throw std::invalid_argument("map_network: incomplete ArchInfo");
  }
  cores_ = options_.cores;
  if (cores_.empty()) {
    cores_.resize(static_cast<size_t>(arch_.cores));
    std::iota(cores_.begin(), cores_.end(), 0);
  }
  mapping_.program.cores.resize(static_cast<size_t>(arch_.cores));
  state_.resize(static_cast<size_t>(arch_.cores));
  mapping_.report.activation_bytes.assign(static_cast<size_t>(arch_.cores), 0);
  mapping_.report.weight_bytes.assign(static_cast<size_t>(arch_.cores), 0);
  next_tag_ = options_.tag_base;
}

Mapping Mapper::run() {
  // The node order first: branches of parallel regions in the order of least peak memory.
  // Liveness is analysed once and serves both the branch order and the per-core buffer plans.
  ScheduleOptions schedule_options;
  schedule_options.memory_target_bytes = options_.memory_target_bytes;
  schedule_options.alignment_bytes = kAlignment;
  liveness_ = analyse_liveness(graph_, value_bytes(values_), schedule_options);
  schedule_ = plan_schedule(liveness_, schedule_options);
  mapping_.report.branch_order = schedule_.branch_order;
  mapping_.report.peak_activation_bytes = schedule_.peak_bytes;
  mapping_.report.naive_peak_activation_bytes = schedule_.naive_peak_bytes;
  mapping_.report.memory_target_met = schedule_.target_met;
  analyse();
  place();
  plan_activations();
  for (int index : schedule_.node_order) emit(static_cast<size_t>(index));
  bind_outputs();
  finish();
  return std::move(mapping_);
}

void Mapper::emit(size_t index) {
  const Node& node = graph_.nodes[index];
  const int core = core_of_node_.at(&node);
  state_[static_cast<size_t>(core)].used = true;
  if (runs_as_kernel(node)) {
    emit_kernel_op(node, core);
  } else if (is_cim(node)) {
    emit_cim(node);
  } else if (is_alias(node)) {
    const core::TensorRef input = on_core(node.inputs[0], core, node);
    core::TensorRef output = input;
    output.shape = value(node.outputs[0]).shape();
    distribute(node.outputs[0], core, output);
  } else {
    emit_arith(node, core);
  }
  for (int worker : cores_of(&node)) return_credits(node, worker);
  account_layer(node);
}

// The node in the per-layer account: its name (as its commands carry it), cores, the bytes of its
// operands kept off chip, and which layer produced each value (transfers carry value names).
void Mapper::account_layer(const Node& node) {
  NodeLayer entry;
  entry.layer =
      node.name.empty() ? (node.outputs.empty() ? node.op_type : node.outputs[0]) : node.name;
  entry.op = node.op_type;
  entry.cores = cores_of(&node);
  for (int core : entry.cores) {
    for (const auto& input : node.inputs) {
      if (!input.empty() && !graph_.is_initializer(input))
        entry.spilled_bytes += spilled_bytes(input, core);
    }
  }
  for (const auto& output : node.outputs) {
    if (output.empty()) continue;
    entry.spilled_bytes += spilled_bytes(output, entry.cores.front());
    mapping_.report.layer_of_value[output] = entry.layer;
  }
  mapping_.report.nodes.push_back(std::move(entry));
}

core::TensorRef Mapper::output_buffer(const Node& node, int core, size_t output) {
  const Tensor& tensor = value(node.outputs[output]);
  return allocate_activation(core, elem_type(node, tensor.type()), tensor.shape(),
                             node.outputs[output]);
}

void Mapper::bind_outputs() {
  for (const auto& output : graph_.outputs) {
    const int producer = graph_.producer(output.name);
    int core = producer >= 0 ? core_of_node_.at(&graph_.nodes[static_cast<size_t>(producer)])
                             : cores_.front();
    auto found = located_.find({output.name, core});
    if (found == located_.end()) {
      throw ModelError("graph output '" + output.name + "' has no buffer (mapper defect)");
    }
    mapping_.program.outputs.push_back({options_.name_prefix + output.name, core, found->second});
  }
}

void Mapper::finish() {
  for (int core : cores_) {
    CoreState& state = state_[static_cast<size_t>(core)];
    for (auto it = pending_receives_.begin(); it != pending_receives_.end();) {
      if (it->first.second == core) {
        for (const auto& receive : it->second) program(core).body.push_back(receive);
        it = pending_receives_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = credits_.begin(); it != credits_.end();) {
      if (it->first.second == core) {
        for (const auto& token : it->second.tokens) program(core).body.push_back(token);
        it = credits_.erase(it);
      } else {
        ++it;
      }
    }
    program(core).body.push_back(core::InferenceDone{});
    if (state.used) ++mapping_.report.cores_used;
  }
  for (const auto& layer : mapping_.report.layers) {
    mapping_.report.tiles += layer.tiles;
    mapping_.report.tiles_dense += layer.tiles_dense;
  }
}

}  // namespace detail

Mapping map_network(const graph::Graph& graph, const graph::ValueMap& values, const ArchInfo& arch,
                    const MapOptions& options) {
  return detail::Mapper(graph, values, arch, options).run();
}

}  // namespace cimtlm::map
