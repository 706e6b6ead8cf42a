#include "platforms/run/allocation.h"

#include <algorithm>
#include <numeric>

#include "compiler/map/cim_tiling.h"
#include "compiler/quant/precision_allocation.h"

namespace cimtlm::platforms {

namespace {

std::string binding_prefix(const std::vector<PreparedNetwork>& networks, size_t index) {
  return networks.size() > 1 ? networks[index].name + ":" : std::string();
}

// Tiles of a network's CIM layers (compacted as the mapper does) and its largest weight width.
struct Footprint {
  int64_t tiles = 0;
  int bits = 1;
  int64_t macs = 0;
};

Footprint footprint_of(const graph::Graph& graph, const graph::ValueMap& values,
                       const map::ArchInfo& arch, bool compact) {
  Footprint footprint;
  for (const auto& node : graph.nodes) {
    if (node.domain != "cimtlm" || (node.op_type != "QConv" && node.op_type != "QGemm")) continue;
    // A product of two activations runs on the arithmetic unit (compiler/map/kernel_emission.cpp).
    if (node.inputs.size() < 2 || !graph.is_initializer(node.inputs[1])) continue;
    const map::CimLayer layer = map::analyse_cim_layer(node, graph, values);
    footprint.tiles += static_cast<int64_t>(
        map::tile_layer(layer, arch.macro_rows, std::max<int64_t>(1, arch.logical_columns(layer.weight_bits)),
                        compact, /*with_codes=*/false)
            .tiles.size());
    footprint.bits = std::max(footprint.bits, layer.weight_bits);
    footprint.macs += layer.macs_per_inference;
  }
  return footprint;
}

int cores_for(int64_t tiles, int macros_per_core) {
  return static_cast<int>(std::max<int64_t>(1, (tiles + macros_per_core - 1) / macros_per_core));
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

Allocation allocate_cores(std::vector<PreparedNetwork>& networks, const PlatformSpec& spec,
                          const map::ArchInfo& arch) {
  Allocation allocation;
  const int cores = spec.cores();
  if (static_cast<int>(networks.size()) > cores) {
    throw graph::ModelError(std::to_string(networks.size()) + " networks need at least as many cores; the platform has " +
                            std::to_string(cores));
  }
  allocation.program.cores.resize(static_cast<size_t>(cores));
  std::vector<Footprint> footprints;
  for (const auto& network : networks) {
    footprints.push_back(footprint_of(network.graph, network.values, arch, spec.compact));
  }

  // Several networks whose weights do not all fit in the arrays at their own precision: the
  // precision allocation of compiler/quant (the seed "NETWORK ACCURACY QUANTIFICATION") lowers
  // the weight precision of the networks where it costs least accuracy until all fit.
  std::vector<int> share(networks.size(), 0);
  if (networks.size() > 1 && spec.precision_allocation == "auto") {
    int64_t native_cores = 0;
    for (const auto& footprint : footprints) native_cores += cores_for(footprint.tiles, arch.macros_per_core);
    if (native_cores > cores) {
      std::vector<quant::NetworkDemand> demands;
      std::vector<std::map<int, graph::Graph>> variants(networks.size());
      for (size_t index = 0; index < networks.size(); ++index) {
        quant::NetworkDemand demand;
        demand.name = networks[index].name;
        for (int bits : {8, 4, 2}) {
          graph::Graph variant = bits >= footprints[index].bits
                                     ? networks[index].graph
                                     : quant::requantize_cim_weights(networks[index].graph, {}, bits);
          const Footprint at = footprint_of(variant, networks[index].values, arch, spec.compact);
          demand.cores[bits] = cores_for(at.tiles, arch.macros_per_core);
          demand.accuracy_cost[bits] =
              quant::weight_error_proxy(networks[index].graph, bits, &networks[index].values);
          variants[index].emplace(bits, std::move(variant));
        }
        // A lower precision never needs more cores (compaction can only gain).
        demand.cores[4] = std::min(demand.cores[4], demand.cores[8]);
        demand.cores[2] = std::min(demand.cores[2], demand.cores[4]);
        demands.push_back(demand);
      }
      const quant::PrecisionAllocation decision = quant::allocate_precision(cores, demands);
      allocation.report["reference_bits"] = decision.reference_bits;
      allocation.report["fits"] = decision.fits;
      allocation.report["log"] = decision.log;
      for (size_t index = 0; index < networks.size(); ++index) {
        const int bits = decision.target_bits[index];
        if (bits < footprints[index].bits) {
          // The network runs with fewer weight bits: a new network, with its own reference.
          networks[index].graph = std::move(variants[index].at(bits));
          networks[index].values =
              graph::ReferenceExecutor(networks[index].graph).run(networks[index].inputs, true);
          footprints[index] = footprint_of(networks[index].graph, networks[index].values, arch, spec.compact);
        }
        share[index] = decision.fits ? decision.cores[index] : 0;
        allocation.report["networks"][networks[index].name] = {
            {"cores_needed", {{"8", demands[index].cores[8]}, {"4", demands[index].cores[4]},
                              {"2", demands[index].cores[2]}}},
            {"accuracy_cost", {{"8", demands[index].accuracy_cost[8]}, {"4", demands[index].accuracy_cost[4]},
                               {"2", demands[index].accuracy_cost[2]}}}};
      }
    }
  }
  // Cores not yet given out go in proportion to the networks' MACs (largest remainder), every
  // network getting at least one.
  for (auto& cores_of_network : share) cores_of_network = std::max(cores_of_network, 1);
  int given = std::accumulate(share.begin(), share.end(), 0);
  if (given > cores) {
    // Not even the lowest precision fits: MAC-proportional shares, weights streamed.
    std::fill(share.begin(), share.end(), 1);
    given = static_cast<int>(networks.size());
  }
  int64_t total_macs = 0;
  for (const auto& footprint : footprints) total_macs += std::max<int64_t>(footprint.macs, 1);
  const int spare = cores - given;
  std::vector<std::pair<double, size_t>> remainders;
  for (size_t index = 0; index < networks.size(); ++index) {
    const double exact = static_cast<double>(spare) * static_cast<double>(std::max<int64_t>(footprints[index].macs, 1)) /
                         static_cast<double>(total_macs);
    share[index] += static_cast<int>(exact);
    given += static_cast<int>(exact);
    remainders.emplace_back(exact - static_cast<int>(exact), index);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < cores; ++k, ++given) ++share[remainders[k % remainders.size()].second];

  int next = 0;
  for (size_t index = 0; index < networks.size(); ++index) {
    std::vector<int> mine(static_cast<size_t>(share[index]));
    std::iota(mine.begin(), mine.end(), next);
    next += share[index];
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
    allocation.report[networks[index].name]["cores"] = share[index];
    allocation.report[networks[index].name]["precision_bits"] = bits;
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
