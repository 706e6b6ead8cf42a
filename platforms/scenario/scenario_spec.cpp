#include "platforms/scenario/scenario_spec.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "models/memory/memory_params.h"
#include "scenario_schema_yaml.h"

namespace cimtlm::platforms {

const Schema& scenario_schema() {
  static const Schema schema(embedded::scenario_schema_yaml, "platforms/scenario_schema.yaml");
  return schema;
}

namespace {

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// Keys that belong to each policy type (besides `type`).
bool parameter_belongs(const std::string& type, const std::string& key) {
  if (key == "type") return true;
  if (type == "fixed") return key == "variant";
  if (type == "thresholds") {
    return key == "temperature_high" || key == "temperature_low" || key == "budget_high" ||
           key == "budget_low" || key == "min_dwell";
  }
  return key == "setpoint" || key == "kp" || key == "ki" || key == "integral_limit" ||
         key == "min_dwell";
}

PolicySpec build_policy(const Config& config, const std::string& name) {
  const std::string base = "policies." + name;
  PolicySpec policy;
  policy.name = name;
  policy.type = config.string(base + ".type");
  policy.where = config.where(base + ".type");
  static const char* kKeys[] = {"variant",
                                "temperature_high",
                                "temperature_low",
                                "budget_high",
                                "budget_low",
                                "setpoint",
                                "kp",
                                "ki",
                                "integral_limit",
                                "min_dwell"};
  for (const char* key : kKeys) {
    const std::string path = base + "." + key;
    if (!config.has(path) || config.at(path).source == "default") continue;
    if (!parameter_belongs(policy.type, key)) {
      throw ConfigError(config.where(path) + ": '" + key + "' is not a parameter of policy type '" +
                        policy.type + "'");
    }
  }
  if (policy.type == "fixed") {
    if (!config.has(base + ".variant")) {
      throw ConfigError(config.where(base + ".type") + ": policy type fixed needs `variant`");
    }
    policy.variant = config.string(base + ".variant");
  }
  auto& t = policy.thresholds;
  t.temperature_high_k = config.number(base + ".temperature_high");
  t.temperature_low_k = config.number(base + ".temperature_low");
  t.budget_high = config.number(base + ".budget_high");
  t.budget_low = config.number(base + ".budget_low");
  t.min_dwell_s = config.number(base + ".min_dwell");
  auto& pi = policy.pi;
  pi.setpoint = config.number(base + ".setpoint");
  pi.kp = config.number(base + ".kp");
  pi.ki = config.number(base + ".ki");
  pi.integral_limit = config.number(base + ".integral_limit");
  pi.min_dwell_s = config.number(base + ".min_dwell");
  const std::string problem = policy.type == "thresholds"  ? t.validate()
                              : policy.type == "pi_budget" ? pi.validate()
                                                           : "";
  if (!problem.empty()) throw ConfigError(config.where(base + ".type") + ": " + problem);
  return policy;
}

}  // namespace

power::EnvironmentTrace load_trace_csv(const std::string& path, std::vector<std::string>& where) {
  std::ifstream file(path);
  if (!file) throw ConfigError(path + ": cannot read the trace file");
  std::string line;
  int number = 0;
  std::vector<std::string> columns;
  std::vector<power::EnvironmentSample> samples;
  static const std::vector<std::string> kHeader = {"time_s", "ambient_c", "budget_w", "rate_hz"};
  while (std::getline(file, line)) {
    ++number;
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream row(text);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(trim(cell));
    const std::string at = path + ":" + std::to_string(number);
    if (columns.empty()) {
      columns = cells;
      for (const auto& name : kHeader) {
        if (std::find(columns.begin(), columns.end(), name) == columns.end()) {
          throw ConfigError(at + ": header has no column '" + name +
                            "' (expected time_s,ambient_c,budget_w,rate_hz)");
        }
      }
      continue;
    }
    if (cells.size() != columns.size()) {
      throw ConfigError(at + ": " + std::to_string(cells.size()) + " values, the header has " +
                        std::to_string(columns.size()));
    }
    power::EnvironmentSample sample;
    for (size_t c = 0; c < cells.size(); ++c) {
      double value = 0.0;
      size_t used = 0;
      try {
        value = std::stod(cells[c], &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != cells[c].size()) {
        throw ConfigError(at + ": " + columns[c] + ": '" + cells[c] + "' is not a number");
      }
      if (columns[c] == "time_s") sample.time_s = value;
      if (columns[c] == "ambient_c") sample.ambient_k = value + memory::kZeroCelsiusK;
      if (columns[c] == "budget_w") sample.budget_w = value;
      if (columns[c] == "rate_hz") sample.rate_hz = value;
    }
    samples.push_back(sample);
    where.push_back(at);
  }
  return power::EnvironmentTrace(std::move(samples));
}

ScenarioSpec load_scenario(const std::string& path, const std::vector<Override>& overrides) {
  return build_scenario_spec(load_config(path, scenario_schema(), overrides));
}

ScenarioSpec build_scenario_spec(const Config& config) {
  ScenarioSpec spec;
  spec.file = config.file();
  spec.name = config.string("scenario.name");
  spec.platform_path = config.string("scenario.platform");
  spec.params.duration_s = config.number("scenario.duration");

  for (const auto& name : config.items("variants")) {
    VariantSpec variant;
    variant.name = name;
    variant.network = config.string("variants." + name + ".network");
    variant.where = config.where("variants." + name + ".network");
    if (config.has("variants." + name + ".accuracy")) {
      variant.accuracy = config.number("variants." + name + ".accuracy");
    }
    spec.variants.push_back(variant);
  }
  if (config.has("accuracy.inputs")) spec.accuracy_inputs = config.string("accuracy.inputs");
  if (config.has("accuracy.labels")) spec.accuracy_labels = config.string("accuracy.labels");
  spec.accuracy_samples = static_cast<int>(config.integer("accuracy.samples"));
  if (spec.accuracy_inputs.empty()) {
    for (const auto& variant : spec.variants) {
      if (!variant.accuracy) {
        throw ConfigError(variant.where +
                          ": no `accuracy` given and no `accuracy.inputs` to measure it on");
      }
    }
  }

  // The trace: inline samples or a CSV file, not both.
  const auto sample_items = config.items("trace.samples");
  const bool has_file = config.has("trace.file");
  if (has_file == !sample_items.empty()) {
    throw ConfigError(config.file() + ": trace: give either `samples` or `file`");
  }
  if (has_file) {
    spec.trace = load_trace_csv(config.string("trace.file"), spec.trace_where);
  } else {
    std::vector<power::EnvironmentSample> samples;
    for (const auto& index : sample_items) {
      const std::string base = "trace.samples." + index;
      power::EnvironmentSample sample;
      sample.time_s = config.number(base + ".time");
      sample.ambient_k = config.number(base + ".ambient");
      sample.budget_w = config.number(base + ".budget");
      sample.rate_hz = config.number(base + ".rate");
      samples.push_back(sample);
      spec.trace_where.push_back(config.where(base + ".budget"));
    }
    spec.trace = power::EnvironmentTrace(std::move(samples));
  }
  const std::string trace_problem = spec.trace.validate();
  if (!trace_problem.empty()) {
    // "sample <i>: ..." -> the file, line and key of that sample.
    size_t index = 0;
    std::sscanf(trace_problem.c_str(), "sample %zu", &index);
    std::string where = index < spec.trace_where.size() ? spec.trace_where[index] : config.file();
    if (!has_file && index < sample_items.size()) {
      where = config.where("trace.samples." + sample_items[index] + ".time");
    }
    throw ConfigError(where + ": " + trace_problem.substr(trace_problem.find(':') + 2));
  }

  spec.thermal.nodes.clear();
  for (const auto& name : config.items("thermal.nodes")) {
    power::ThermalNodeParams node;
    node.name = name;
    node.resistance_k_per_w = config.number("thermal.nodes." + name + ".resistance");
    node.capacitance_j_per_k = config.number("thermal.nodes." + name + ".capacitance");
    spec.thermal.nodes.push_back(node);
  }
  spec.thermal.initial_temperature_k = config.has("thermal.initial_temperature")
                                           ? config.number("thermal.initial_temperature")
                                           : spec.trace.samples().front().ambient_k;
  spec.temperature_limit_k = config.number("thermal.limit");
  spec.params.temperature_limit_k = spec.temperature_limit_k;

  spec.silicon_coefficient = config.number("power.silicon_coefficient");
  spec.os_memory_coefficient = config.number("power.os_memory_coefficient");
  spec.dram_coefficient = config.number("power.dram_coefficient");

  const std::string policy_name = config.string("controller.policy");
  const auto policy_names = config.items("policies");
  if (std::find(policy_names.begin(), policy_names.end(), policy_name) == policy_names.end()) {
    std::string known;
    for (const auto& name : policy_names) known += (known.empty() ? "" : ", ") + name;
    throw ConfigError(config.where("controller.policy") + ": no policy named '" + policy_name +
                      "' (policies: " + known + ")");
  }
  // Every named policy is checked, not only the one that runs.
  for (const auto& name : policy_names) {
    PolicySpec policy = build_policy(config, name);
    if (policy.type == "fixed") {
      bool known = false;
      for (const auto& variant : spec.variants) known = known || variant.name == policy.variant;
      if (!known) {
        throw ConfigError(config.where("policies." + name + ".variant") + ": no variant named '" +
                          policy.variant + "'");
      }
    }
    if (name == policy_name) spec.policy = policy;
  }
  spec.params.average_time_constant_s = config.number("controller.average_time_constant");
  spec.compare_fixed = config.boolean("controller.compare_fixed");

  spec.gate_when_idle = config.boolean("gating.when_idle");
  spec.params.gate_when_idle = spec.gate_when_idle;
  spec.params.gate_min_idle_s = config.number("gating.min_idle");
  spec.gate_levels = config.list("gating.levels");
  spec.gate_levels_where = config.where("gating.levels");

  spec.params.window_s = config.number("output.window");
  spec.params.budget_window_s = config.number("output.budget_window");
  spec.params.budget_tolerance = config.number("output.budget_tolerance");
  const std::string problem = spec.params.validate();
  if (!problem.empty()) throw ConfigError(config.file() + ": " + problem);
  return spec;
}

}  // namespace cimtlm::platforms
