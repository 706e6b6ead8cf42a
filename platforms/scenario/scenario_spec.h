// A scenario file (platforms/scenario_schema.yaml) checked and turned into the power models'
// parameter structs. Only this layer reads YAML and CSV; models/power receives plain structs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/power/controller.h"
#include "models/power/environment_trace.h"
#include "models/power/scenario_engine.h"
#include "models/power/thermal_model.h"
#include "platforms/config/config.h"

namespace cimtlm::platforms {

struct VariantSpec {
  std::string name;
  std::string network;             // resolved path
  std::optional<double> accuracy;  // given instead of measured
  std::string where;               // "file:line:col: variants.<name>.network"
};

struct PolicySpec {
  std::string name;
  std::string type;     // fixed | thresholds | pi_budget
  std::string variant;  // fixed
  power::ThresholdParams thresholds;
  power::PiBudgetParams pi;
  std::string where;
};

struct ScenarioSpec {
  std::string name;
  std::string file;
  std::string platform_path;
  std::vector<VariantSpec> variants;
  std::string accuracy_inputs;  // empty: every variant gives its accuracy
  std::string accuracy_labels;
  int accuracy_samples = 0;
  int accuracy_platform_samples = 0;  // checked bit-exact through the platform
  power::EnvironmentTrace trace;
  std::vector<std::string> trace_where;  // per sample: where its budget was given
  power::ThermalParams thermal;
  double temperature_limit_k = 358.15;
  double silicon_coefficient = 0.015;
  double os_memory_coefficient = 0.015;
  double dram_coefficient = 0.0;
  PolicySpec policy;
  bool compare_fixed = true;
  bool gate_when_idle = true;
  std::vector<std::string> gate_levels;
  std::string gate_levels_where;
  power::ScenarioParams params;
};

const Schema& scenario_schema();
// Markdown reference of the scenario format (configs/scenarios/README.md, `cimtlm docs
// --scenario`).
std::string scenario_reference();

// Loads and checks a scenario file. Throws ConfigError naming the file, line and key path.
ScenarioSpec load_scenario(const std::string& path, const std::vector<Override>& overrides = {});
ScenarioSpec build_scenario_spec(const Config& config);

// Reads a trace CSV (header time_s,ambient_c,budget_w,rate_hz). Throws ConfigError naming the
// file, line and column of a bad value. `where` receives "file:line" per sample.
power::EnvironmentTrace load_trace_csv(const std::string& path, std::vector<std::string>& where);

}  // namespace cimtlm::platforms
