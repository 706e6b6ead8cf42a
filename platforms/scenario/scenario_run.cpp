#include "platforms/scenario/scenario_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <memory>
#include <nlohmann/json.hpp>

#include "compiler/graph/graph.h"
#include "models/kernel/vcd.h"
#include "models/memory/memory_params.h"
#include "models/power/scenario_memories.h"
#include "platform_keys.h"
#include "platforms/run/child_process.h"
#include "platforms/run/output_files.h"
#include "platforms/scenario/scenario_spec.h"
#include "platforms/scenario/variant_profile.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadInput = 2;

double celsius(double kelvin) {
  return kelvin - memory::kZeroCelsiusK;
}

struct Variant {
  VariantSpec spec;
  VariantMeasurement measured;
  int platform_checked_samples = 0;  // validation images run bit-exact through the platform
};

// Everything one scenario run needs fresh: thermal state, power tallies, memories, policy.
struct RunOutcome {
  std::string label;
  power::ScenarioResult result;
  std::vector<memory::LevelActivity> levels;  // per core
  std::vector<double> component_leakage_j;    // per power-model component
};

class ScenarioRunner {
 public:
  ScenarioRunner(const ScenarioSpec& scenario, const PlatformSpec& platform)
      : scenario_(scenario), platform_(platform) {
    build_power();
  }

  void set_ladder(std::vector<power::VariantProfile> ladder) { ladder_ = std::move(ladder); }

  const power::PowerParams& power_params() const { return power_params_; }
  const std::vector<power::ScenarioMemoryLevel>& memory_levels() const { return levels_; }

  void set_resident_bytes(uint64_t per_core) {
    levels_[static_cast<size_t>(platform_.weights_level)].resident_bytes = per_core;
  }

  // The least power the chip can draw at `ambient_k`: leakage with the memories gated.
  double idle_floor_w(double ambient_k) const {
    power::PowerModel model(power_params_);
    return model.leakage_w(ambient_k, scenario_.gate_when_idle);
  }

  RunOutcome run(const std::string& label, power::VariantPolicy& policy, uint64_t seed) {
    RunOutcome outcome;
    outcome.label = label;
    power::ThermalModel thermal(scenario_.thermal);
    power::PowerModel power(power_params_);
    kernel::StatGroup stats(label, "scenario");
    power::ScenarioMemories memories(levels_, platform_.cores(), platform_.clock_hz, thermal, stats,
                                     seed, label + "_");
    outcome.result = power::run_scenario(scenario_.params, ladder_, scenario_.trace, thermal, power,
                                         policy, &memories);
    memories.finalize(outcome.result.duration_s);
    for (size_t c = 0; c < power.components(); ++c) {
      outcome.component_leakage_j.push_back(power.component_leakage_j(c));
    }
    for (size_t i = 0; i < memories.levels(); ++i)
      outcome.levels.push_back(memories.level(i).activity());
    return outcome;
  }

 private:
  double coefficient_of(const std::string& technology) const {
    if (technology == "nosram" || technology == "dosram") return scenario_.os_memory_coefficient;
    if (technology == "dram") return scenario_.dram_coefficient;
    return scenario_.silicon_coefficient;
  }

  void build_power() {
    const double cores = platform_.cores();
    const double reference_k = platform_.temperature_k;
    const double silicon = scenario_.silicon_coefficient;
    power_params_.components.push_back(
        {"cim", platform_.cim.leakage_mw * 1e-3 * platform_.core.macros * cores, reference_k,
         silicon, false});
    power_params_.components.push_back(
        {"arith", platform_.arith.leakage_mw * 1e-3 * cores, reference_k, silicon, false});
    power_params_.components.push_back(
        {"noc", platform_.noc.router_leakage_mw * 1e-3 * platform_.noc.routers(), reference_k,
         silicon, false});
    for (const auto& level : platform_.memory_levels) {
      power::ScenarioMemoryLevel entry;
      entry.params = level;
      const bool listed = std::find(scenario_.gate_levels.begin(), scenario_.gate_levels.end(),
                                    level.name) != scenario_.gate_levels.end();
      entry.gate_when_idle =
          scenario_.gate_when_idle &&
          (scenario_.gate_levels.empty() ? !level.static_cell && !level.off_chip : listed);
      levels_.push_back(entry);
      power_params_.components.push_back(
          {"memory." + level.name, level.leakage_pw_per_bit * 1e-12 * level.bits() * cores,
           reference_k, coefficient_of(level.technology), entry.gate_when_idle});
    }
    for (const auto& name : scenario_.gate_levels) {
      bool known = false;
      for (const auto& level : platform_.memory_levels) known = known || level.name == name;
      if (!known) {
        throw ConfigError(scenario_.gate_levels_where + ": no memory level named '" + name +
                          "' on " + scenario_.platform_path);
      }
    }
    const std::string problem = power_params_.validate();
    if (!problem.empty()) throw ConfigError(scenario_.platform_path + ": " + problem);
  }

  const ScenarioSpec& scenario_;
  const PlatformSpec& platform_;
  std::vector<power::VariantProfile> ladder_;
  power::PowerParams power_params_;
  std::vector<power::ScenarioMemoryLevel> levels_;
};

std::unique_ptr<power::VariantPolicy> make_policy(
    const PolicySpec& spec, const std::vector<power::VariantProfile>& ladder) {
  if (spec.type == "thresholds") return std::make_unique<power::ThresholdPolicy>(spec.thresholds);
  if (spec.type == "pi_budget") return std::make_unique<power::PiBudgetPolicy>(spec.pi);
  int index = 0;
  for (size_t v = 0; v < ladder.size(); ++v) {
    if (ladder[v].name == spec.variant) index = static_cast<int>(v);
  }
  return std::make_unique<power::FixedPolicy>(index);
}

// Sets a value under its flat key ("a.b.c") and nested (a -> b -> c), as the run's stats do.
void put(json& out, const std::string& key, const json& value) {
  out[key] = value;
  json* node = &out;
  size_t start = 0;
  for (size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', start)) {
    node = &(*node)[key.substr(start, dot - start)];
    start = dot + 1;
  }
  (*node)[key.substr(start)] = value;
}

// Writes a staged temporary (OutputFiles renames it over the target at the end).
void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!(file << text) || !file.flush()) throw std::runtime_error("cannot write " + path);
}

std::string csv_text(const RunOutcome& controlled, const std::vector<RunOutcome>& fixed,
                     const std::vector<power::VariantProfile>& ladder) {
  std::ostringstream csv;
  csv << "time_s,power_w,temperature_c,ambient_c,budget_w,rate_hz,variant_index,variant";
  for (const auto& run : fixed) csv << ",power_w." << run.label << ",temperature_c." << run.label;
  csv << '\n' << std::setprecision(9);
  const auto& series = controlled.result.series;
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    csv << s.time_s << ',' << s.power_w << ',' << celsius(s.temperature_k) << ','
        << celsius(s.ambient_k) << ',' << s.budget_w << ',' << s.rate_hz << ',' << s.variant << ','
        << ladder[static_cast<size_t>(s.variant)].name;
    for (const auto& run : fixed) {
      const auto& other = run.result.series;
      if (i < other.size()) {
        csv << ',' << other[i].power_w << ',' << celsius(other[i].temperature_k);
      } else {
        csv << ",,";
      }
    }
    csv << '\n';
  }
  return csv.str();
}

bool write_vcd(const std::string& path, const RunOutcome& run) {
  kernel::VcdTrace trace;
  auto* power_uw = trace.add_signal({"scenario"}, "power_uw", 32);
  auto* temperature_mc = trace.add_signal({"scenario"}, "temperature_mc", 32);
  auto* ambient_mc = trace.add_signal({"scenario"}, "ambient_mc", 32);
  auto* budget_uw = trace.add_signal({"scenario"}, "budget_uw", 32);
  auto* variant = trace.add_signal({"scenario"}, "variant", 8);
  auto milli = [](double value) {
    return static_cast<uint64_t>(std::llround(std::max(0.0, value) * 1e3));
  };
  double start = 0.0;
  for (const auto& s : run.result.series) {
    const auto at = static_cast<uint64_t>(std::llround(start * 1e12));
    power_uw->set(at, static_cast<uint64_t>(std::llround(s.power_w * 1e6)));
    temperature_mc->set(at, milli(celsius(s.temperature_k)));
    ambient_mc->set(at, milli(celsius(s.ambient_k)));
    budget_uw->set(at, static_cast<uint64_t>(std::llround(s.budget_w * 1e6)));
    variant->set(at, static_cast<uint64_t>(s.variant));
    start = s.time_s;
  }
  return trace.write_vcd(path);
}

json run_json(const RunOutcome& run, const std::vector<power::VariantProfile>& ladder) {
  const auto& r = run.result;
  json out;
  out["policy"] = r.policy;
  out["energy_j"] = r.energy_j;
  out["avg_w"] = r.avg_w;
  out["max_w"] = r.max_w;
  out["max_c"] = celsius(r.max_temperature_k);
  out["time_above_limit_s"] = r.time_above_limit_s;
  out["budget_violations"] = r.budget_violations;
  out["budget_windows"] = r.budget_windows;
  out["worst_budget_ratio"] = r.worst_budget_ratio;
  out["switches"] = r.switches;
  out["inferences"] = r.inferences;
  out["late_inferences"] = r.late_inferences;
  out["accuracy"] = r.accuracy_time_weighted;
  out["accuracy_per_inference"] = r.accuracy_per_inference;
  for (size_t v = 0; v < ladder.size(); ++v) {
    out["variant_time_s"][ladder[v].name] = r.variant_time_s[v];
  }
  return out;
}

}  // namespace

int run_scenario_file(const ScenarioOptions& options, std::ostream& out, std::ostream& err) {
  const auto wall_start = std::chrono::steady_clock::now();
  ScenarioSpec scenario;
  PlatformSpec platform;
  std::vector<Variant> variants;
  std::vector<power::VariantProfile> ladder;
  std::unique_ptr<ScenarioRunner> runner;
  const std::string stats_path =
      options.stats_path.empty()
          ? "traces/" + fs::path(options.scenario_path).stem().string() + ".stats.json"
          : options.stats_path;
  // Every output is checked before anything runs (a directory, a device or an unwritable folder
  // is bad input, and nothing is ever renamed over a device node) and written all or none at
  // the end. The plot reads the series CSV, written beside the stats when --csv is not given.
  OutputFiles outputs;
  const std::string plot_csv =
      options.plot_path.empty() || !options.csv_path.empty() ? "" : stats_path + ".series.csv";
  try {
    outputs.add(stats_path, "--stats");
    if (!options.csv_path.empty()) outputs.add(options.csv_path, "--csv");
    if (!plot_csv.empty()) outputs.add(plot_csv, "--plot (its series CSV)");
    if (!options.vcd_path.empty()) outputs.add(options.vcd_path, "--vcd");
    if (!options.plot_path.empty()) outputs.add(options.plot_path, "--plot");
    outputs.check();
  } catch (const std::exception& error) {
    err << "cimtlm scenario: " << error.what() << '\n';
    return kExitBadInput;
  }
  // The variants' profiling runs keep their stats beside the scenario's; a scenario refused as
  // bad input leaves nothing behind.
  std::string scratch;
  bool scratch_is_new = false;
  auto discard_scratch = [&] {
    std::error_code code;
    if (scratch_is_new) fs::remove_all(scratch, code);
  };
  try {
    scenario = load_scenario(options.scenario_path, options.overrides);
    Config platform_config = load_config(scenario.platform_path, platform_schema());
    platform = build_platform_spec(platform_config);
    runner = std::make_unique<ScenarioRunner>(scenario, platform);
    // A budget below what the chip draws doing nothing cannot be met by any policy.
    const auto& samples = scenario.trace.samples();
    for (size_t i = 0; i < samples.size(); ++i) {
      const double floor_w = runner->idle_floor_w(samples[i].ambient_k);
      if (samples[i].budget_w < floor_w) {
        std::ostringstream message;
        message << scenario.trace_where[i] << ": budget " << samples[i].budget_w * 1e3
                << " mW is below the idle power of the chip, " << floor_w * 1e3 << " mW at "
                << celsius(samples[i].ambient_k) << " C (leakage with the memories gated)";
        throw ConfigError(message.str());
      }
    }
    // Profiling runs: back to back, nothing gated (the scenario gates and times the gaps).
    std::vector<Override> run_overrides = {{keys::workload::inference_interval, "0 s"}};
    for (const auto& level : platform.memory_levels) {
      run_overrides.push_back({"core.memory.levels." + level.name + ".gate_when_idle", "false"});
    }
    const std::string weights_level =
        platform.memory_levels[static_cast<size_t>(platform.weights_level)].name;
    scratch = (fs::path(stats_path).parent_path() /
               (fs::path(options.scenario_path).stem().string() + "_variants"))
                  .string();
    std::error_code code;
    scratch_is_new = !fs::exists(scratch, code);
    for (const auto& spec : scenario.variants) {
      Variant variant;
      variant.spec = spec;
      variant.measured = measure_variant(scenario.platform_path, run_overrides, spec.network,
                                         weights_level, scratch, spec.where);
      auto& profile = variant.measured.profile;
      profile.name = spec.name;
      if (spec.accuracy) {
        profile.accuracy = *spec.accuracy;
      } else if (fs::path(spec.network).extension() != ".onnx") {
        throw ConfigError(spec.where +
                          ": give `accuracy` for a layer-list network (it has no labels)");
      } else {
        profile.accuracy =
            measure_accuracy(spec.network, scenario.accuracy_inputs, scenario.accuracy_labels,
                             scenario.accuracy_samples, spec.where);
        variant.platform_checked_samples = check_on_platform(
            scenario.platform_path, run_overrides, spec.network, scenario.accuracy_inputs,
            scenario.accuracy_labels, scenario.accuracy_platform_samples, scratch, spec.where);
      }
      variants.push_back(variant);
    }
    // The ladder: richest (most energy per inference) first; ties keep the file order.
    std::stable_sort(variants.begin(), variants.end(), [](const Variant& a, const Variant& b) {
      return a.measured.profile.energy_j > b.measured.profile.energy_j;
    });
    // Residency: variants stay in the weight level while they fit together (ladder order);
    // the others are written again (from off-chip or the host) when switched to.
    const auto& weight_params = platform.memory_levels[static_cast<size_t>(platform.weights_level)];
    double capacity = static_cast<double>(weight_params.capacity_bytes) * platform.cores();
    if (platform.weights_level == platform.activations_level) capacity /= 2;
    double used = 0.0;
    double off_chip_read_pj_per_bit = 0.0;
    for (const auto& level : platform.memory_levels) {
      if (level.off_chip) off_chip_read_pj_per_bit = level.read_energy_pj_per_bit;
    }
    for (auto& variant : variants) {
      auto& p = variant.measured.profile;
      p.weight_bytes = static_cast<uint64_t>(variant.measured.weight_bytes_loaded);
      p.resident = used + variant.measured.weight_bytes_loaded <= capacity;
      if (p.resident) used += variant.measured.weight_bytes_loaded;
      const double bits = variant.measured.weight_bytes_loaded * 8.0;
      p.reload_energy_j =
          bits * (weight_params.write_energy_pj_per_bit + off_chip_read_pj_per_bit) * 1e-12;
      p.reload_latency_s = variant.measured.weight_bytes_loaded /
                           (static_cast<double>(weight_params.bytes_per_cycle) * platform.cores()) /
                           platform.clock_hz;
      ladder.push_back(p);
    }
    runner->set_ladder(ladder);
    runner->set_resident_bytes(static_cast<uint64_t>(used / platform.cores()));
  } catch (const ConfigError& error) {
    err << error.what() << '\n';
    discard_scratch();
    return kExitBadInput;
  } catch (const graph::ModelError& error) {
    err << error.what() << '\n';
    discard_scratch();
    return kExitBadInput;
  }

  // The controlled run, then every variant fixed on the same trace.
  std::unique_ptr<power::VariantPolicy> policy = make_policy(scenario.policy, ladder);
  RunOutcome controlled = runner->run("controller", *policy, platform.seed);
  std::vector<RunOutcome> fixed;
  if (scenario.compare_fixed) {
    for (size_t v = 0; v < ladder.size(); ++v) {
      power::FixedPolicy fixed_policy(static_cast<int>(v));
      fixed.push_back(runner->run("fixed_" + ladder[v].name, fixed_policy, platform.seed));
    }
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // Stats.
  const auto& r = controlled.result;
  json stats = json::object();
  put(stats, "scenario", scenario.name);
  put(stats, keys::platform::kPath, platform.name);
  put(stats, "seed", platform.seed);
  put(stats, "sim.simulated_s", r.duration_s);
  put(stats, "sim.inferences", r.inferences);
  put(stats, "sim.wall_s", wall_s);
  put(stats, "power.avg_w", r.avg_w);
  put(stats, "power.max_w", r.max_w);
  put(stats, "power.energy_j", r.energy_j);
  put(stats, "power.dynamic_j", r.dynamic_j);
  put(stats, "power.leakage_j", r.leakage_j);
  put(stats, "power.refresh_j", r.refresh_j);
  put(stats, "power.wakeup_j", r.wakeup_j);
  put(stats, "power.switch_j", r.switch_j);
  put(stats, "thermal.max_c", celsius(r.max_temperature_k));
  put(stats, "thermal.limit_c", celsius(scenario.temperature_limit_k));
  put(stats, "thermal.time_above_limit_s", r.time_above_limit_s);
  put(stats, "controller.policy", scenario.policy.name);
  put(stats, "controller.policy_type", scenario.policy.type);
  put(stats, "controller.switches", r.switches);
  put(stats, "controller.reloads", r.reloads);
  put(stats, "controller.budget_violations", r.budget_violations);
  put(stats, "controller.budget_windows", r.budget_windows);
  put(stats, "controller.worst_budget_ratio", r.worst_budget_ratio);
  put(stats, "controller.accuracy", r.accuracy_time_weighted);
  put(stats, "controller.accuracy_per_inference", r.accuracy_per_inference);
  put(stats, "controller.late_inferences", r.late_inferences);
  put(stats, "controller.gated_gaps", r.gated_gaps);
  for (size_t v = 0; v < ladder.size(); ++v) {
    put(stats, "controller.variant_time_s." + ladder[v].name, r.variant_time_s[v]);
    put(stats, "controller.variant_inferences." + ladder[v].name, r.variant_inferences[v]);
  }
  // Per component: leakage from the power model, dynamic energy from the variants' profiles.
  const auto& components = runner->power_params().components;
  for (size_t c = 0; c < components.size(); ++c) {
    put(stats, "power.components." + components[c].name + ".leakage_j",
        controlled.component_leakage_j[c]);
  }
  for (size_t k = 0; k < variants.front().measured.component_energy_j.size(); ++k) {
    double joules = 0.0;
    for (size_t v = 0; v < variants.size(); ++v) {
      joules += static_cast<double>(r.variant_inferences[v]) *
                variants[v].measured.component_energy_j[k].second;
    }
    put(stats,
        "power.components." + variants.front().measured.component_energy_j[k].first + ".dynamic_j",
        joules);
  }
  const double cores = platform.cores();
  bool retention_failed = false;
  const auto& levels = runner->memory_levels();
  for (size_t i = 0; i < levels.size(); ++i) {
    const auto& a = controlled.levels[i];
    const std::string base = "memory." + levels[i].params.name;
    put(stats, base + ".refreshes", static_cast<uint64_t>(a.refreshes * cores));
    put(stats, base + ".wakeups", static_cast<uint64_t>(a.wakeups * cores));
    put(stats, base + ".retention_violations",
        static_cast<uint64_t>(a.retention_violations * cores));
    put(stats, base + ".power_gated_ns", a.gated_ns * cores);
    put(stats, base + ".gated", levels[i].gate_when_idle);
    put(stats, base + ".resident_bytes", static_cast<uint64_t>(levels[i].resident_bytes * cores));
    put(stats, base + ".energy_pj.refresh", a.refresh_energy_pj * cores);
    put(stats, base + ".energy_pj.wakeup", a.wakeup_energy_pj * cores);
    retention_failed = retention_failed || a.retention_violations > 0;
  }
  for (const auto& variant : variants) {
    const auto& p = variant.measured.profile;
    const std::string base = "variants." + p.name;
    put(stats, base + ".network", variant.spec.network);
    put(stats, base + ".energy_pj", p.energy_j * 1e12);
    put(stats, base + ".latency_ns", p.latency_s * 1e9);
    put(stats, base + ".cycles", variant.measured.cycles_per_inference);
    put(stats, base + ".switch_energy_pj", p.switch_energy_j * 1e12);
    put(stats, base + ".switch_latency_ns", p.switch_latency_s * 1e9);
    put(stats, base + ".weight_bytes", p.weight_bytes);
    put(stats, base + ".resident", p.resident);
    put(stats, base + ".accuracy", p.accuracy);
    put(stats, base + ".match_reference", variant.measured.match_reference);
    put(stats, base + ".platform_checked_samples", variant.platform_checked_samples);
  }
  stats["runs"]["controller"] = run_json(controlled, ladder);
  for (const auto& run : fixed) stats["runs"][run.label] = run_json(run, ladder);

  try {
    outputs.stage(stats_path, [&](const std::string& temporary) {
      write_text(temporary, stats.dump(2) + "\n");
    });
    const std::string series = csv_text(controlled, fixed, ladder);
    for (const std::string& csv : {options.csv_path, plot_csv}) {
      if (!csv.empty())
        outputs.stage(csv, [&](const std::string& temporary) { write_text(temporary, series); });
    }
    if (!options.vcd_path.empty()) {
      outputs.stage(options.vcd_path, [&](const std::string& temporary) {
        if (!write_vcd(temporary, controlled))
          throw std::runtime_error("cannot write " + options.vcd_path);
      });
    }
    outputs.commit();
    if (!options.plot_path.empty()) {
      // matplotlib picks the format from the name, so the plot is drawn straight to its target,
      // which check() found to be a regular file or a new name in a writable folder.
      const std::string csv = options.csv_path.empty() ? plot_csv : options.csv_path;
      const std::vector<std::string> plot_args = {csv, options.plot_path, scenario.name};
      if (!run_python_script(options.plot_script, plot_args))
        throw std::runtime_error("plotting failed: " +
                                 python_command_text(options.plot_script, plot_args));
    }
  } catch (const std::exception& error) {
    err << "cimtlm scenario: " << error.what() << '\n';
    return kExitBadInput;
  }

  if (!options.quiet) {
    out << "scenario " << scenario.name << " on " << platform.name << " (" << platform.cores()
        << " cores), " << r.duration_s << " s simulated in " << std::setprecision(3) << wall_s
        << " s\n\nvariants (ladder, richest first; measured by simulating each on the platform):\n";
    out << "  " << std::left << std::setw(12) << "variant" << std::right << std::setw(12)
        << "energy" << std::setw(12) << "latency" << std::setw(12) << "switch" << std::setw(10)
        << "resident" << std::setw(10) << "accuracy" << '\n';
    for (const auto& p : ladder) {
      out << "  " << std::left << std::setw(12) << p.name << std::right << std::fixed
          << std::setprecision(3) << std::setw(9) << p.energy_j * 1e6 << " uJ" << std::setw(9)
          << p.latency_s * 1e6 << " us" << std::setw(9) << p.switch_energy_j * 1e9 << " nJ"
          << std::setw(10) << (p.resident ? "yes" : "no") << std::setw(9) << std::setprecision(2)
          << p.accuracy * 100 << "%\n";
    }
    out << "\nruns on the same trace (budget windows " << scenario.params.budget_window_s
        << " s, tolerance " << scenario.params.budget_tolerance * 100 << " %; temperature limit "
        << celsius(scenario.temperature_limit_k) << " C):\n";
    out << "  " << std::left << std::setw(16) << "run" << std::right << std::setw(12) << "energy"
        << std::setw(11) << "avg" << std::setw(11) << "max" << std::setw(12) << "violations"
        << std::setw(10) << "max T" << std::setw(11) << "T > limit" << std::setw(10) << "accuracy"
        << std::setw(10) << "switches" << '\n';
    auto row = [&](const RunOutcome& run) {
      const auto& x = run.result;
      out << "  " << std::left << std::setw(16) << run.label << std::right << std::fixed
          << std::setprecision(3) << std::setw(9) << x.energy_j * 1e3 << " mJ" << std::setw(8)
          << x.avg_w * 1e3 << " mW" << std::setw(8) << x.max_w * 1e3 << " mW" << std::setw(7)
          << x.budget_violations << "/" << std::left << std::setw(4) << x.budget_windows
          << std::right << std::setprecision(1) << std::setw(8) << celsius(x.max_temperature_k)
          << " C" << std::setw(9) << x.time_above_limit_s << " s" << std::setprecision(2)
          << std::setw(9) << x.accuracy_time_weighted * 100 << "%" << std::setw(10) << x.switches
          << '\n';
    };
    row(controlled);
    for (const auto& run : fixed) row(run);
    out << "\nstats: " << stats_path << '\n';
    if (!options.csv_path.empty()) out << "csv: " << options.csv_path << '\n';
    if (!options.vcd_path.empty()) out << "vcd: " << options.vcd_path << '\n';
    if (!options.plot_path.empty()) out << "plot: " << options.plot_path << '\n';
  }
  if (retention_failed) {
    err << "cimtlm scenario: retention violations in the OS memories (see "
           "memory.*.retention_violations)\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace cimtlm::platforms
