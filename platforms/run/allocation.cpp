#include "platforms/run/allocation.h"

#include <numeric>

namespace cimtlm::platforms {

namespace {

std::string binding_prefix(const std::vector<PreparedNetwork>& networks, size_t index) {
  return networks.size() > 1 ? networks[index].name + ":" : std::string();
}

}  // namespace

const core::IoBinding& Allocation::output_binding(size_t network, const std::string& value) const {
  for (const auto& binding : program.outputs) {
    auto owner = network_of_binding.find(binding.name);
    if (owner != network_of_binding.end() && owner->second == static_cast<int>(network) &&
        value_of_binding.at(binding.name) == value) {
      return binding;
    }
  }
  throw std::out_of_range("no output binding for '" + value + "'");
}

Allocation allocate_cores(const std::vector<PreparedNetwork>& networks, const PlatformSpec& spec,
                          const map::ArchInfo& arch) {
  Allocation allocation;
  const int cores = spec.cores();
  if (static_cast<int>(networks.size()) > cores) {
    throw graph::ModelError(std::to_string(networks.size()) + " networks need at least as many cores; the platform has " +
                            std::to_string(cores));
  }
  allocation.program.cores.resize(static_cast<size_t>(cores));
  // Even shares, the remainder to the first networks.
  int next = 0;
  for (size_t index = 0; index < networks.size(); ++index) {
    const int share = cores / static_cast<int>(networks.size()) +
                      (static_cast<int>(index) < cores % static_cast<int>(networks.size()) ? 1 : 0);
    std::vector<int> mine(static_cast<size_t>(share));
    std::iota(mine.begin(), mine.end(), next);
    next += share;
    map::MapOptions options;
    options.cores = mine;
    options.name_prefix = binding_prefix(networks, index);
    options.tag_base = static_cast<int>(index) * 1000000;
    options.placement = spec.placement;
    options.accumulation = spec.accumulation;
    options.compact = spec.compact;
    options.inferences = spec.inferences;
    options.memory_target_bytes = spec.memory_target_bytes;
    map::Mapping mapping = map::map_network(networks[index].graph, networks[index].values, arch, options);
    for (int core : mine) {
      allocation.program.cores[static_cast<size_t>(core)] =
          std::move(mapping.program.cores[static_cast<size_t>(core)]);
    }
    for (auto& binding : mapping.program.inputs) {
      allocation.network_of_binding[binding.name] = static_cast<int>(index);
      allocation.value_of_binding[binding.name] = binding.name.substr(options.name_prefix.size());
      allocation.program.inputs.push_back(binding);
    }
    for (auto& binding : mapping.program.outputs) {
      allocation.network_of_binding[binding.name] = static_cast<int>(index);
      allocation.value_of_binding[binding.name] = binding.name.substr(options.name_prefix.size());
      allocation.program.outputs.push_back(binding);
    }
    int bits = 1;
    for (const auto& layer : mapping.report.layers) bits = std::max(bits, layer.weight_bits);
    allocation.cores.push_back(mine);
    allocation.precision_bits.push_back(bits);
    allocation.mappings.push_back(mapping.report);
    allocation.schedules.push_back({
        {"placement", mapping.report.placement},
        {"accumulation", spec.accumulation},
        {"accumulator_peak_bytes", mapping.report.accumulator_peak_bytes},
        {"accumulator_exact_bytes", mapping.report.accumulator_exact_bytes},
        {"accumulator_limit_bytes", spec.arith.accumulator_bytes},
        {"rescaled_batches", mapping.report.rescaled_batches},
        {"branch_order", mapping.report.branch_order},
        {"peak_activation_bytes", mapping.report.peak_activation_bytes},
        {"naive_peak_activation_bytes", mapping.report.naive_peak_activation_bytes},
        {"memory_target_met", mapping.report.memory_target_met},
        {"activation_memory_bytes", mapping.report.activation_bytes},
        {"unplanned_buffers", mapping.report.unplanned_buffers},
    });
    allocation.report[networks[index].name] = {{"cores", share}, {"precision_bits", bits}};
  }
  // Cores no network uses still run (and idle): an empty program ends at once.
  for (auto& program : allocation.program.cores) {
    if (program.body.empty()) program.body.push_back(core::InferenceDone{});
    // Levels gated between inferences: wake before the work, gate after it.
    if (!spec.gated_levels.empty()) {
      std::vector<core::Command> body;
      for (int level : spec.gated_levels) body.push_back(core::PowerGate{level, false});
      body.insert(body.end(), program.body.begin(), program.body.end() - 1);
      for (int level : spec.gated_levels) body.push_back(core::PowerGate{level, true});
      body.push_back(program.body.back());  // InferenceDone
      program.body = std::move(body);
    }
  }
  return allocation;
}

}  // namespace cimtlm::platforms
