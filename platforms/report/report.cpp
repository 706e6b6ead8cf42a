#include "platforms/report/report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "models/memory/memory_report.h"

namespace cimtlm::platforms {

namespace {

using nlohmann::json;

const kernel::StatGroup* child(const kernel::StatGroup* group, const std::string& name) {
  return group ? group->find_child(name) : nullptr;
}

double stat(const kernel::StatGroup* group, const std::string& name) {
  if (!group) return 0.0;
  const kernel::Stat* found = group->find(name);
  return found ? found->as_double() : 0.0;
}

std::vector<const kernel::StatGroup*> cores_of(const kernel::StatGroup& chip) {
  std::vector<const kernel::StatGroup*> cores;
  for (const auto& group : chip.children()) {
    if (group->name().rfind("core", 0) == 0) cores.push_back(group.get());
  }
  return cores;
}

// What a level did summed over every core.
memory::LevelActivity level_activity(const kernel::StatGroup& chip, const std::string& level,
                                     double simulated_ns) {
  memory::LevelActivity total;
  for (const auto* core : cores_of(chip)) {
    const kernel::StatGroup* group = child(child(core, "memory"), level);
    if (!group) continue;
    total.reads += static_cast<uint64_t>(stat(group, "reads"));
    total.writes += static_cast<uint64_t>(stat(group, "writes"));
    total.bytes_read += static_cast<uint64_t>(stat(group, "bytes_read"));
    total.bytes_written += static_cast<uint64_t>(stat(group, "bytes_written"));
    total.refreshes += static_cast<uint64_t>(stat(group, "refreshes"));
    total.wakeups += static_cast<uint64_t>(stat(group, "wakeups"));
    total.retention_violations += static_cast<uint64_t>(stat(group, "retention_violations"));
    total.gated_ns += stat(group, "power_gated_ns");
    total.access_energy_pj += stat(group, "access_energy_pj");
    total.vertical_hop_energy_pj += stat(group, "vertical_hop_energy_pj");
    total.refresh_energy_pj += stat(group, "refresh_energy_pj");
    total.wakeup_energy_pj += stat(group, "wakeup_energy_pj");
    total.gate_entry_energy_pj += stat(group, "gate_entry_energy_pj");
    total.leakage_energy_pj += stat(group, "leakage_energy_pj");
  }
  total.simulated_ns = simulated_ns;
  return total;
}

// Every number of the report, once; the JSON and the table both read it.
json summary_json(const RunSummary& summary, const kernel::StatGroup& chip) {
  json out;
  out["platform"] = summary.platform;
  out["config"] = summary.config_file;
  std::string names;
  for (const auto& network : summary.networks) names += (names.empty() ? "" : "+") + network.name;
  out["network"] = names;
  out["seed"] = summary.seed;
  out["cores"] = summary.cores;

  json& sim = out["sim"];
  sim["cycles"] = summary.cycles;
  sim["simulated_ns"] = summary.simulated_ns;
  sim["wall_s"] = summary.wall_s;
  sim["inferences"] = summary.inferences;
  sim["clock_hz"] = summary.clock_hz;
  sim["cycles_per_inference"] =
      summary.inferences > 0 ? static_cast<double>(summary.cycles) / summary.inferences : 0.0;
  // Host-time figures differ between identical runs: kept apart under "host" (and sim.wall_s, a
  // key of the user contract), so that everything else can be compared exactly.
  json& host = out["host"];
  host["wall_s"] = summary.wall_s;
  host["cycles_per_s"] =
      summary.wall_s > 0 ? static_cast<double>(summary.cycles) / summary.wall_s : 0.0;

  json& energy = out["energy_pj"];
  energy["cim"] = chip.energy_pj(kernel::EnergyCategory::Cim);
  energy["memory"] = chip.energy_pj(kernel::EnergyCategory::Memory);
  energy["arith"] = chip.energy_pj(kernel::EnergyCategory::Arith);
  energy["noc"] = chip.energy_pj(kernel::EnergyCategory::Noc);
  energy["leakage"] = chip.energy_pj(kernel::EnergyCategory::Leakage);
  energy["total"] = chip.total_energy_pj();
  energy["per_inference"] =
      summary.inferences > 0 ? chip.total_energy_pj() / summary.inferences : 0.0;

  json& cim = out["cim"];
  const double applied = chip.sum("rows_applied", "cim");
  cim["macs"] = static_cast<uint64_t>(chip.sum("macs", "cim"));
  cim["vectors"] = static_cast<uint64_t>(chip.sum("vectors", "cim"));
  cim["input_sparsity"] = applied > 0 ? chip.sum("zero_inputs", "cim") / applied : 0.0;
  cim["rows_disabled_fraction"] = applied > 0 ? chip.sum("rows_disabled", "cim") / applied : 0.0;
  cim["adc_conversions"] = static_cast<uint64_t>(chip.sum("adc_conversions", "cim"));
  cim["compensations"] = static_cast<uint64_t>(chip.sum("compensations", "cim"));
  cim["weight_writes"] = static_cast<uint64_t>(chip.sum("weight_writes", "cim"));
  json& cim_energy = cim["energy_pj"];
  for (const char* part : {"array", "adc", "digital", "detection", "compensation", "write"}) {
    cim_energy[part] = chip.sum(std::string("energy_") + part + "_pj", "cim");
  }
  cim["busy_ns"] = chip.sum("busy_ns", "cim");

  json& memory = out["memory"];
  json comparison = json::array();
  for (const auto& level : summary.memory_levels) {
    const memory::LevelActivity activity = level_activity(chip, level.name, summary.simulated_ns);
    json& entry = memory[level.name];
    entry["technology"] = level.technology;
    entry["stack_layer"] = level.stack_layer;
    entry["reads"] = activity.reads;
    entry["writes"] = activity.writes;
    entry["bytes_read"] = activity.bytes_read;
    entry["bytes_written"] = activity.bytes_written;
    entry["refreshes"] = activity.refreshes;
    entry["retention_violations"] = activity.retention_violations;
    entry["power_gated_ns"] = activity.gated_ns;
    entry["wakeups"] = activity.wakeups;
    entry["energy_pj"] = {{"access", activity.access_energy_pj + activity.vertical_hop_energy_pj},
                          {"refresh", activity.refresh_energy_pj},
                          {"leakage", activity.leakage_energy_pj},
                          {"wakeup", activity.wakeup_energy_pj},
                          {"gate_entry", activity.gate_entry_energy_pj},
                          {"total", activity.total_energy_pj()}};
    // Per core the level is its own array: compare per core and sum.
    memory::LevelActivity per_core = activity;
    const double cores = std::max(1, summary.cores);
    per_core.gated_ns /= cores;
    const memory::SramComparison sram =
        memory::sram_equivalent(level, per_core, summary.sram_reference, summary.temperature_k);
    entry["sram_equivalent_energy_pj"] = {{"access", sram.sram_access_pj},
                                          {"leakage", sram.sram_leakage_pj * cores},
                                          {"total", sram.sram_access_pj + sram.sram_leakage_pj * cores}};
  }
  // The CIM macros are silicon logic on the base layer, under the OS memories.
  const cim::CimAreaUm2& macro = summary.cim_area_um2;
  const double macros = summary.cim_macros_per_core;
  json& cim_area = out["area_um2"]["cim"];
  cim_area["array"] = macro.array * macros;
  cim_area["adc"] = macro.adc * macros;
  cim_area["shift_add"] = macro.shift_add * macros;
  cim_area["mux"] = macro.mux * macros;
  cim_area["drivers"] = macro.drivers * macros;
  cim_area["buffers"] = macro.buffers * macros;
  cim_area["per_macro"] = macro.total();
  cim_area["per_core"] = macro.total() * macros;
  cim_area["chip"] = macro.total() * macros * summary.cores;
  // The arithmetic unit is silicon logic on the base layer too.
  json& arith_area = out["area_um2"]["arith"];
  const double arith_um2 = summary.arith_datapath_um2 + summary.arith_accumulator_um2;
  arith_area["datapath"] = summary.arith_datapath_um2;
  arith_area["accumulator"] = summary.arith_accumulator_um2;
  arith_area["per_core"] = arith_um2;
  arith_area["chip"] = arith_um2 * summary.cores;
  const memory::StackFootprint footprint =
      memory::stack_footprint(summary.memory_levels, (macro.total() * macros + arith_um2) * 1e-6);
  json& stack = out["footprint_mm2"];
  stack["stacked_per_core"] = footprint.stacked_mm2;
  stack["planar_per_core"] = footprint.planar_mm2;
  stack["stacked_chip"] = footprint.stacked_mm2 * summary.cores;
  stack["planar_chip"] = footprint.planar_mm2 * summary.cores;
  for (const auto& layer : footprint.layers) {
    stack["layers"].push_back({{"layer", layer.layer}, {"area_mm2", layer.area_mm2}, {"levels", layer.levels}});
  }

  json& noc = out["noc"];
  const kernel::StatGroup* network = chip.find_child("noc");
  noc["packets"] = static_cast<uint64_t>(stat(network, "packets"));
  noc["flits"] = static_cast<uint64_t>(stat(network, "flits"));
  noc["avg_latency_cycles"] = stat(network, "avg_latency_cycles");
  noc["max_latency_cycles"] = stat(network, "max_latency_cycles");
  noc["bytes"] = static_cast<uint64_t>(stat(network, "bytes"));

  json& outputs = out["outputs"];
  outputs["checked"] = summary.check_reference;
  outputs["match_reference"] = summary.match_reference();
  outputs["mismatches"] = summary.mismatches();
  double max_error = 0;
  for (const auto& network_summary : summary.networks) {
    max_error = std::max(max_error, network_summary.max_abs_error);
  }
  outputs["max_abs_error"] = max_error;
  outputs["tolerance"] = summary.tolerance;

  json& mapping = out["map"];
  int64_t tiles = 0, tiles_dense = 0, loads = 0, stationary_loads = 0;
  std::vector<int> used;
  for (const auto& network_summary : summary.networks) {
    tiles += network_summary.mapping.tiles;
    tiles_dense += network_summary.mapping.tiles_dense;
    loads += network_summary.mapping.weight_loads_per_inference;
    stationary_loads += network_summary.mapping.weight_loads_once;
  }
  mapping["tiles"] = tiles;
  mapping["tiles_dense"] = tiles_dense;
  int cores_used = 0;
  for (const auto* core : cores_of(chip)) {
    if (stat(child(core, "controller"), "commands") > 1) ++cores_used;
  }
  mapping["cores_used"] = cores_used;
  mapping["weight_loads_per_inference"] = loads;
  mapping["weight_loads_stationary"] = stationary_loads;
  mapping["array_rewrites"] = loads * summary.inferences;
  uint64_t overflow = 0;
  for (const auto& network_summary : summary.networks) overflow += network_summary.mapping.weight_bytes_overflow;
  mapping["weight_bytes_outside_weight_memory"] = overflow;

  // Spill: what does not fit on chip and went to the off-chip level, the traffic, time and energy
  // of that level, and the on-chip capacities that would keep everything on chip.
  json& spill = out["spill"];
  std::string off_chip_level;
  for (const auto& level : summary.memory_levels) {
    if (level.off_chip && off_chip_level.empty()) off_chip_level = level.name;
  }
  uint64_t spilled_activations = 0, off_chip_weights = 0, activation_needed = 0, weight_needed = 0;
  int64_t spilled_buffers = 0;
  for (const auto& network_summary : summary.networks) {
    const map::MappingReport& report = network_summary.mapping;
    for (uint64_t bytes : report.activation_bytes_spilled) spilled_activations += bytes;
    for (uint64_t bytes : report.activation_bytes_needed) activation_needed = std::max(activation_needed, bytes);
    for (uint64_t bytes : report.weight_bytes) weight_needed = std::max(weight_needed, bytes);
    spilled_buffers += static_cast<int64_t>(report.spilled_buffers.size());
    off_chip_weights += report.weight_bytes_off_chip;
  }
  spill["level"] = off_chip_level;
  spill["level_added"] = !summary.added_level.empty();
  if (!summary.added_level.empty()) spill["level_added_because"] = summary.added_level_reason;
  spill["activation_bytes"] = spilled_activations;
  spill["activation_buffers"] = spilled_buffers;
  spill["weight_bytes"] = off_chip_weights;
  // Per core: the largest activation arena and weight store any core needs.
  spill["activation_memory_needed_bytes"] = activation_needed;
  spill["weight_memory_needed_bytes"] = weight_needed;
  if (!off_chip_level.empty()) {
    const memory::LevelActivity activity =
        level_activity(chip, off_chip_level, summary.simulated_ns);
    spill["bytes_read"] = activity.bytes_read;
    spill["bytes_written"] = activity.bytes_written;
    spill["energy_pj"] = activity.access_energy_pj;
    double busy_ns = 0;
    for (const auto* core : cores_of(chip)) {
      busy_ns += stat(child(child(core, "memory"), off_chip_level), "bank_busy_ns");
    }
    spill["bank_busy_ns"] = busy_ns;
  }

  // Per-layer account: layers.<network>.<layer>, from the cores' command streams (layer_account.h)
  // and the mapping. Commands of transfers carry value names: they count for the layer that
  // produced the value. NoC energy is shared out by the bytes each layer sent.
  json& layers = out["layers"];
  layers = json::object();
  {
    double bytes_sent = 0;
    for (const auto& entry : summary.layer_accounts) bytes_sent += entry.second.bytes_sent;
    const double noc_pj = chip.energy_pj(kernel::EnergyCategory::Noc);
    for (const auto& network_summary : summary.networks) {
      const map::MappingReport& report = network_summary.mapping;
      std::map<std::string, const map::NodeLayer*> node_of;
      for (const auto& node : report.nodes) node_of[node.layer] = &node;
      std::map<std::string, const map::LayerMapping*> cim_of;
      for (const auto& layer : report.layers) cim_of[layer.layer] = &layer;
      auto on_network = [&](int core) {
        return std::find(network_summary.cores.begin(), network_summary.cores.end(), core) !=
               network_summary.cores.end();
      };
      std::map<std::string, LayerCounters> sums;
      std::map<std::string, double> longest_ps;  // the layer's busiest core
      for (const auto& [key, counters] : summary.layer_accounts) {
        if (!on_network(key.second)) continue;
        std::string name = key.first;
        const std::string credit = " (credit)";
        if (name.size() > credit.size() &&
            name.compare(name.size() - credit.size(), credit.size(), credit) == 0) {
          name.resize(name.size() - credit.size());
        }
        if (!node_of.count(name)) {
          auto producer = report.layer_of_value.find(name);
          if (producer == report.layer_of_value.end()) continue;
          name = producer->second;
        }
        LayerCounters& sum = sums[name];
        sum.cim_pj += counters.cim_pj;
        sum.memory_pj += counters.memory_pj;
        sum.arith_pj += counters.arith_pj;
        sum.macs += counters.macs;
        sum.rows_applied += counters.rows_applied;
        sum.zero_inputs += counters.zero_inputs;
        sum.rows_disabled += counters.rows_disabled;
        sum.bytes_sent += counters.bytes_sent;
        sum.busy_ps += counters.busy_ps;
        // Views and transfers of one layer on a core are separate entries: per core first.
        longest_ps[name + "\n" + std::to_string(key.second)] += counters.busy_ps;
      }
      std::map<std::string, double> critical_ps;
      for (const auto& [key, ps] : longest_ps) {
        const std::string name = key.substr(0, key.find('\n'));
        critical_ps[name] = std::max(critical_ps[name], ps);
      }
      json& own = layers[network_summary.name];
      own = json::object();
      int64_t position = 0;
      for (const auto& node : report.nodes) {
        const LayerCounters sum = sums.count(node.layer) ? sums[node.layer] : LayerCounters{};
        json& entry = own[node.layer];
        entry["op"] = node.op;
        entry["position"] = position++;  // in execution order (JSON objects sort their keys)
        entry["cycles"] = static_cast<uint64_t>(
            std::llround(critical_ps[node.layer] * 1e-12 * summary.clock_hz));
        entry["busy_cycles"] =
            static_cast<uint64_t>(std::llround(sum.busy_ps * 1e-12 * summary.clock_hz));
        const double noc = bytes_sent > 0 ? noc_pj * sum.bytes_sent / bytes_sent : 0.0;
        entry["energy_pj"] = {{"cim", sum.cim_pj},
                              {"memory", sum.memory_pj},
                              {"arith", sum.arith_pj},
                              {"noc", noc},
                              {"total", sum.cim_pj + sum.memory_pj + sum.arith_pj + noc}};
        entry["macs"] = static_cast<uint64_t>(sum.macs);
        entry["input_sparsity"] = sum.rows_applied > 0 ? sum.zero_inputs / sum.rows_applied : 0.0;
        entry["rows_disabled_fraction"] =
            sum.rows_applied > 0 ? sum.rows_disabled / sum.rows_applied : 0.0;
        auto cim_layer = cim_of.find(node.layer);
        entry["tiles"] = cim_layer != cim_of.end() ? cim_layer->second->tiles : 0;
        entry["cores"] = static_cast<int64_t>(node.cores.size());
        entry["spilled_bytes"] = node.spilled_bytes;
      }
    }
  }

  // Schedule keys for the whole run (several networks: orders joined, peaks and batches summed
  // over the networks, which run side by side), and per network.
  json& schedule = out["schedule"];
  schedule = json::object();
  std::string branch_orders;
  uint64_t peak = 0, naive_peak = 0, accumulator_peak = 0;
  int64_t rescaled = 0;
  for (const auto& network_summary : summary.networks) {
    const json& own = network_summary.schedule;
    if (own.contains("branch_order") && !own["branch_order"].get<std::string>().empty()) {
      branch_orders += (branch_orders.empty() ? "" : "; ") +
                       (summary.networks.size() > 1 ? network_summary.name + ": " : std::string()) +
                       own["branch_order"].get<std::string>();
    }
    peak += own.value("peak_activation_bytes", uint64_t{0});
    naive_peak += own.value("naive_peak_activation_bytes", uint64_t{0});
    accumulator_peak = std::max(accumulator_peak, own.value("accumulator_peak_bytes", uint64_t{0}));
    rescaled += own.value("rescaled_batches", int64_t{0});
    for (auto it = own.begin(); it != own.end(); ++it) {
      if (summary.networks.size() > 1) schedule["networks"][network_summary.name][it.key()] = it.value();
    }
    if (summary.networks.size() == 1) schedule = own;
  }
  schedule["branch_order"] = branch_orders;
  schedule["peak_activation_bytes"] = peak;
  schedule["naive_peak_activation_bytes"] = naive_peak;
  schedule["accumulator_peak_bytes"] = accumulator_peak;
  schedule["rescaled_batches"] = rescaled;
  if (!summary.allocation.empty()) out["allocation"] = summary.allocation;

  json networks = json::array();
  for (const auto& network_summary : summary.networks) {
    json entry = {{"name", network_summary.name},
                  {"path", network_summary.path},
                  {"cores", network_summary.cores},
                  {"precision_bits", network_summary.precision_bits},
                  {"outputs_compared", network_summary.outputs_compared},
                  {"mismatches", network_summary.mismatches},
                  {"values_different", network_summary.values_different},
                  {"max_abs_error", network_summary.max_abs_error},
                  {"match_reference", network_summary.match_reference},
                  {"tiles", network_summary.mapping.tiles},
                  {"tiles_dense", network_summary.mapping.tiles_dense}};
    json layers = json::array();
    for (const auto& layer : network_summary.mapping.layers) {
      layers.push_back({{"layer", layer.layer}, {"op", layer.op}, {"core", layer.core},
                        {"weight_bits", layer.weight_bits}, {"rows", layer.rows},
                        {"cols", layer.cols}, {"groups", layer.groups}, {"tiles", layer.tiles},
                        {"tiles_dense", layer.tiles_dense}, {"vectors", layer.vectors},
                        {"stationary", layer.stationary}, {"macs", layer.macs},
                        {"cores", layer.cores}, {"blocks", layer.blocks},
                        {"rows_removed", layer.rows_removed}, {"columns_removed", layer.columns_removed},
                        {"vector_batches", layer.vector_batches},
                        {"accumulator_bits", layer.accumulator_bits},
                        {"rescale_shift", layer.rescale_shift},
                        {"accumulator_bytes", layer.accumulator_bytes},
                        {"spilled_bytes", layer.spilled_bytes}});
    }
    entry["layers"] = layers;
    json spilled = json::array();
    for (const auto& buffer : network_summary.mapping.spilled_buffers) {
      spilled.push_back({{"core", buffer.core}, {"value", buffer.value}, {"bytes", buffer.bytes}});
    }
    entry["spilled"] = spilled;
    networks.push_back(entry);
  }
  out["networks"] = networks;
  if (!summary.failure.empty()) out["failure"] = summary.failure;
  return out;
}

// "a.b.c": value for every leaf under the contract's top-level keys.
void flatten(const json& node, const std::string& prefix, json& flat) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), flat);
    }
  } else if (!prefix.empty() && prefix.find('.') != std::string::npos) {
    flat[prefix] = node;
  }
}

std::string with_unit(double value, const char* unit) {
  std::ostringstream text;
  const double magnitude = std::fabs(value);
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  int index = 0;
  double scaled = value;
  while (std::fabs(scaled) >= 1000.0 && index < 4) {
    scaled /= 1000.0;
    ++index;
  }
  (void)magnitude;
  text << std::setprecision(4) << scaled << ' ' << prefixes[index] << unit;
  return text.str();
}

std::string time_text(double ns) {
  std::ostringstream text;
  text << std::setprecision(4);
  if (ns >= 1e9) {
    text << ns / 1e9 << " s";
  } else if (ns >= 1e6) {
    text << ns / 1e6 << " ms";
  } else if (ns >= 1e3) {
    text << ns / 1e3 << " us";
  } else {
    text << ns << " ns";
  }
  return text.str();
}

std::string energy_text(double pj) {
  const double magnitude = std::fabs(pj);
  std::ostringstream text;
  text << std::setprecision(4);
  if (magnitude >= 1e9) {
    text << pj / 1e9 << " mJ";
  } else if (magnitude >= 1e6) {
    text << pj / 1e6 << " uJ";
  } else if (magnitude >= 1e3) {
    text << pj / 1e3 << " nJ";
  } else {
    text << pj << " pJ";
  }
  return text.str();
}

std::string byte_text(uint64_t bytes) {
  std::ostringstream text;
  text << std::setprecision(4);
  if (bytes >= (uint64_t{1} << 20)) {
    text << static_cast<double>(bytes) / (1 << 20) << " MiB";
  } else if (bytes >= 1024) {
    text << static_cast<double>(bytes) / 1024 << " KiB";
  } else {
    text << bytes << " B";
  }
  return text.str();
}

}  // namespace

bool RunSummary::match_reference() const {
  return std::all_of(networks.begin(), networks.end(),
                     [](const NetworkSummary& network) { return network.match_reference; });
}

int64_t RunSummary::mismatches() const {
  int64_t total = 0;
  for (const auto& network : networks) total += network.mismatches;
  return total;
}

json stats_json(const RunSummary& summary, const kernel::StatGroup& chip) {
  json out = summary_json(summary, chip);
  json flat = json::object();
  for (const char* key : {"sim", "host", "energy_pj", "cim", "memory", "noc", "outputs", "map",
                          "schedule", "allocation", "footprint_mm2", "spill", "layers",
                          "area_um2"}) {
    if (out.contains(key)) flatten(out[key], key, flat);
  }
  for (auto it = flat.begin(); it != flat.end(); ++it) out[it.key()] = it.value();
  out["modules"] = chip.to_json();
  // Counts, times and energies summed over the instances of each component (all CIM macros, all
  // memory levels of one name, ...); other values (means, fractions) are per instance only,
  // under "modules".
  json components = json::object();
  chip.for_each([&](const kernel::StatGroup& group, const std::string&) {
    if (group.component().empty() || group.component() == "chip") return;
    std::string key = group.component();
    if (key == "memory" && group.name() != "memory") key = "memory." + group.name();
    for (const auto& stat : group.stats()) {
      if (stat->kind == kernel::StatKind::Value) continue;
      json& slot = components[key][stat->name];
      slot = (slot.is_null() ? 0.0 : slot.get<double>()) + stat->as_double();
    }
  });
  out["components"] = components;
  return out;
}

void print_report(std::ostream& out, const RunSummary& summary, const kernel::StatGroup& chip) {
  const json s = summary_json(summary, chip);
  const auto line = [&](const std::string& label, const std::string& value) {
    out << "  " << std::left << std::setw(30) << label << (label.size() >= 30 ? " " : "") << value << '\n';
  };
  out << "\ncimtlm report: platform '" << summary.platform << "' (" << summary.config_file << "), "
      << summary.cores << " cores, seed " << summary.seed << '\n';
  out << "\nSimulation\n";
  line("networks", s["network"].get<std::string>());
  line("inferences", std::to_string(summary.inferences));
  line("simulated time", time_text(summary.simulated_ns));
  line("cycles", std::to_string(summary.cycles) + " (" +
                     std::to_string(static_cast<uint64_t>(s["sim"]["cycles_per_inference"].get<double>())) +
                     " per inference)");
  {
    std::ostringstream speed;
    speed << std::setprecision(3) << summary.wall_s << " s ("
          << with_unit(s["host"]["cycles_per_s"].get<double>(), "cycles/s") << ")";
    line("host time", speed.str());
  }
  out << "\nEnergy\n";
  for (const char* part : {"cim", "memory", "arith", "noc", "leakage", "total", "per_inference"}) {
    line(part, energy_text(s["energy_pj"][part].get<double>()));
  }
  out << "\nCIM macros\n";
  line("MACs", std::to_string(s["cim"]["macs"].get<uint64_t>()));
  {
    std::ostringstream text;
    text << std::fixed << std::setprecision(3) << s["cim"]["input_sparsity"].get<double>();
    line("input sparsity", text.str());
    text.str("");
    text << s["cim"]["rows_disabled_fraction"].get<double>();
    line("rows disabled (fraction)", text.str());
  }
  line("ADC conversions", std::to_string(s["cim"]["adc_conversions"].get<uint64_t>()));
  line("compensations", std::to_string(s["cim"]["compensations"].get<uint64_t>()));
  line("tiles (dense mapping)", std::to_string(s["map"]["tiles"].get<int64_t>()) + " (" +
                                    std::to_string(s["map"]["tiles_dense"].get<int64_t>()) + ")");
  line("array rewrites", std::to_string(s["map"]["array_rewrites"].get<int64_t>()));

  out << "\nMemory (summed over cores)   reads      writes     refreshes  violations  "
         "access     refresh    leakage    gating     | SRAM instead\n";
  for (const auto& level : summary.memory_levels) {
    const json& m = s["memory"][level.name];
    std::ostringstream row;
    row << "  " << std::left << std::setw(26) << (level.name + " (" + level.technology + ", L" + std::to_string(level.stack_layer) + ")")
        << std::right << std::setw(10) << m["reads"].get<uint64_t>() << ' ' << std::setw(10)
        << m["writes"].get<uint64_t>() << ' ' << std::setw(10) << m["refreshes"].get<uint64_t>()
        << ' ' << std::setw(11) << m["retention_violations"].get<uint64_t>() << "  " << std::left
        << std::setw(10) << energy_text(m["energy_pj"]["access"].get<double>()) << ' ' << std::setw(10)
        << energy_text(m["energy_pj"]["refresh"].get<double>()) << ' ' << std::setw(10)
        << energy_text(m["energy_pj"]["leakage"].get<double>()) << ' ' << std::setw(10)
        << energy_text(m["energy_pj"]["wakeup"].get<double>() +
                       m["energy_pj"]["gate_entry"].get<double>())
        << " | access "
        << energy_text(m["sram_equivalent_energy_pj"]["access"].get<double>()) << ", leakage "
        << energy_text(m["sram_equivalent_energy_pj"]["leakage"].get<double>()) << '\n';
    out << row.str();
  }
  {
    std::ostringstream text;
    text << std::setprecision(4) << s["footprint_mm2"]["stacked_per_core"].get<double>()
         << " mm2 stacked, " << s["footprint_mm2"]["planar_per_core"].get<double>()
         << " mm2 planar (per core: CIM macros and arithmetic unit on the silicon base, memories "
            "stacked)";
    line("footprint", text.str());
    text.str("");
    const json& area = s["area_um2"]["cim"];
    text << std::setprecision(4) << area["per_macro"].get<double>() << " um2 per macro (array "
         << area["array"].get<double>() / std::max(1, summary.cim_macros_per_core) << ", ADCs "
         << area["adc"].get<double>() / std::max(1, summary.cim_macros_per_core) << ")";
    line("CIM area", text.str());
  }
  const json& spill = s["spill"];
  if (spill["activation_bytes"].get<uint64_t>() > 0 || spill["weight_bytes"].get<uint64_t>() > 0 ||
      spill["level_added"].get<bool>()) {
    out << "\nSpill to off-chip memory\n";
    if (spill["level_added"].get<bool>()) {
      line("level added", "'" + spill["level"].get<std::string>() +
                              "' (LPDDR4 defaults): the platform names no off-chip level");
      line("because", spill["level_added_because"].get<std::string>());
    } else {
      line("level", spill["level"].get<std::string>());
    }
    line("activations spilled", byte_text(spill["activation_bytes"].get<uint64_t>()) + " in " +
                                    std::to_string(spill["activation_buffers"].get<int64_t>()) +
                                    " buffers");
    // The largest spilled buffers (the full list is in the stats under networks[].spilled).
    std::vector<map::SpilledBuffer> largest;
    for (const auto& network : summary.networks) {
      largest.insert(largest.end(), network.mapping.spilled_buffers.begin(),
                     network.mapping.spilled_buffers.end());
    }
    std::stable_sort(largest.begin(), largest.end(),
                     [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
    const size_t shown = std::min<size_t>(largest.size(), 8);
    for (size_t k = 0; k < shown; ++k) {
      out << "    core " << largest[k].core << ": " << largest[k].value << " ("
          << byte_text(largest[k].bytes) << ")\n";
    }
    if (largest.size() > shown) out << "    ... and " << largest.size() - shown << " more\n";
    line("weights off chip", byte_text(spill["weight_bytes"].get<uint64_t>()));
    line("off-chip traffic", byte_text(spill["bytes_read"].get<uint64_t>()) + " read, " +
                                 byte_text(spill["bytes_written"].get<uint64_t>()) + " written, " +
                                 energy_text(spill["energy_pj"].get<double>()) + ", banks busy " +
                                 time_text(spill["bank_busy_ns"].get<double>()));
    line("on chip instead, per core", byte_text(spill["activation_memory_needed_bytes"].get<uint64_t>()) +
                                          " activation memory, " +
                                          byte_text(spill["weight_memory_needed_bytes"].get<uint64_t>()) +
                                          " weight memory");
  }
  out << "\nNetwork-on-chip\n";
  line("packets / flits", std::to_string(s["noc"]["packets"].get<uint64_t>()) + " / " +
                              std::to_string(s["noc"]["flits"].get<uint64_t>()));
  {
    std::ostringstream text;
    text << std::setprecision(4) << s["noc"]["avg_latency_cycles"].get<double>() << " avg, "
         << s["noc"]["max_latency_cycles"].get<double>() << " max";
    line("packet latency (cycles)", text.str());
  }
  if (summary.allocation.contains("reference_bits")) {
    out << "\nPrecision allocation (the networks do not fit at their own precision together)\n";
    line("reference precision", std::to_string(summary.allocation["reference_bits"].get<int>()) + " bits" +
                                    (summary.allocation.value("fits", false) ? "" : " (nothing fits: weights streamed)"));
    for (const auto& network : summary.networks) {
      const json& entry = summary.allocation[network.name];
      line(network.name, std::to_string(entry["precision_bits"].get<int>()) + "-bit weights on " +
                             std::to_string(entry["cores"].get<int>()) + " cores");
    }
    for (const auto& step : summary.allocation["log"]) out << "    " << step.get<std::string>() << '\n';
  }
  // The layers that take most time first (the whole account is in the stats, layers.*).
  for (const auto& network : summary.networks) {
    const json& own = s["layers"][network.name];
    std::vector<std::pair<uint64_t, std::string>> by_time;
    uint64_t total_cycles = 0;
    for (auto it = own.begin(); it != own.end(); ++it) {
      by_time.emplace_back(it.value()["cycles"].get<uint64_t>(), it.key());
      total_cycles += it.value()["cycles"].get<uint64_t>();
    }
    if (by_time.empty()) continue;
    std::stable_sort(by_time.begin(), by_time.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    out << "\nLayers of " << network.name << " (most time first)\n";
    out << "  " << std::left << std::setw(28) << "layer" << std::setw(20) << "op" << std::right
        << std::setw(11) << "cycles" << std::setw(7) << "time%" << std::setw(12) << "energy"
        << std::setw(12) << "cim" << std::setw(12) << "memory" << std::setw(12) << "arith"
        << std::setw(12) << "noc" << std::setw(13) << "MACs" << std::setw(7) << "cores"
        << std::setw(11) << "spilled" << '\n';
    const size_t shown = std::min<size_t>(by_time.size(), 15);
    for (size_t k = 0; k < shown; ++k) {
      const json& layer = own[by_time[k].second];
      const json& energy = layer["energy_pj"];
      std::ostringstream share;
      share << std::fixed << std::setprecision(1)
            << (total_cycles ? 100.0 * static_cast<double>(by_time[k].first) /
                                   static_cast<double>(total_cycles)
                             : 0.0);
      std::string name = by_time[k].second;
      if (name.size() > 27) name = name.substr(0, 24) + "...";
      std::string op = layer["op"].get<std::string>();
      if (op.size() > 19) op = op.substr(0, 16) + "...";
      out << "  " << std::left << std::setw(28) << name << std::setw(20) << op << std::right << std::setw(11) << by_time[k].first
          << std::setw(7) << share.str() << std::setw(12) << energy_text(energy["total"].get<double>())
          << std::setw(12) << energy_text(energy["cim"].get<double>()) << std::setw(12)
          << energy_text(energy["memory"].get<double>()) << std::setw(12)
          << energy_text(energy["arith"].get<double>()) << std::setw(12)
          << energy_text(energy["noc"].get<double>()) << std::setw(13)
          << layer["macs"].get<uint64_t>() << std::setw(7) << layer["cores"].get<int64_t>()
          << std::setw(11) << byte_text(layer["spilled_bytes"].get<uint64_t>()) << '\n';
    }
    if (by_time.size() > shown) out << "  ... and " << by_time.size() - shown << " more layers\n";
  }
  out << "\nOutputs\n";
  for (const auto& network : summary.networks) {
    std::ostringstream text;
    if (!summary.check_reference) {
      text << "not compared (simulation.check_reference is off)";
    } else if (network.match_reference && network.values_different == 0) {
      text << "bit-exact with the reference executor (" << network.outputs_compared << " values)";
    } else if (network.match_reference) {
      text << "within the tolerance of " << summary.tolerance << ": " << network.values_different
           << " of " << network.outputs_compared << " values differ (max |error| "
           << network.max_abs_error << ")";
    } else {
      text << network.mismatches << " of " << network.outputs_compared
           << " values differ from the reference (max |error| " << network.max_abs_error << ")";
    }
    line(network.name + " (cores " + [&] {
      std::string list;
      for (int core : network.cores) list += (list.empty() ? "" : ",") + std::to_string(core);
      return list;
    }() + ")", text.str());
  }
  if (!summary.failure.empty()) out << "\nFAILURE: " << summary.failure << '\n';
  out << '\n';
}

}  // namespace cimtlm::platforms
