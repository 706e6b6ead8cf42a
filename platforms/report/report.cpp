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
                          {"total", activity.total_energy_pj()}};
    // Per core the level is its own array: compare per core and sum.
    memory::LevelActivity per_core = activity;
    const double cores = std::max(1, summary.cores);
    per_core.gated_ns /= cores;
    const memory::SramComparison sram =
        memory::sram_equivalent(level, per_core, summary.sram_reference);
    entry["sram_equivalent_energy_pj"] = {{"access", sram.sram_access_pj},
                                          {"leakage", sram.sram_leakage_pj * cores},
                                          {"total", sram.sram_access_pj + sram.sram_leakage_pj * cores}};
  }
  const memory::StackFootprint footprint = memory::stack_footprint(summary.memory_levels);
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
                        {"accumulator_bytes", layer.accumulator_bytes}});
    }
    entry["layers"] = layers;
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
                          "schedule", "allocation", "footprint_mm2"}) {
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
         "access     refresh    leakage    | SRAM instead\n";
  for (const auto& level : summary.memory_levels) {
    const json& m = s["memory"][level.name];
    std::ostringstream row;
    row << "  " << std::left << std::setw(26) << (level.name + " (" + level.technology + ", L" + std::to_string(level.stack_layer) + ")")
        << std::right << std::setw(10) << m["reads"].get<uint64_t>() << ' ' << std::setw(10)
        << m["writes"].get<uint64_t>() << ' ' << std::setw(10) << m["refreshes"].get<uint64_t>()
        << ' ' << std::setw(11) << m["retention_violations"].get<uint64_t>() << "  " << std::left
        << std::setw(10) << energy_text(m["energy_pj"]["access"].get<double>()) << ' ' << std::setw(10)
        << energy_text(m["energy_pj"]["refresh"].get<double>()) << ' ' << std::setw(10)
        << energy_text(m["energy_pj"]["leakage"].get<double>()) << " | access "
        << energy_text(m["sram_equivalent_energy_pj"]["access"].get<double>()) << ", leakage "
        << energy_text(m["sram_equivalent_energy_pj"]["leakage"].get<double>()) << '\n';
    out << row.str();
  }
  {
    std::ostringstream text;
    text << std::setprecision(4) << s["footprint_mm2"]["stacked_per_core"].get<double>()
         << " mm2 stacked, " << s["footprint_mm2"]["planar_per_core"].get<double>()
         << " mm2 planar (memory per core)";
    line("footprint", text.str());
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
