// `cimtlm scenario` as a user runs it: the documented example (the controller holds the budget
// that the fixed int8 model breaks, at a stated accuracy cost), its outputs, and bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "expected '" << part << "' in:\n" << text;
}

std::string output(const std::string& name) {
  return std::string(CIMTLM_TEST_OUTPUT_DIR) + "/" + name;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file);
}

const char* kConfigs = "testbenches/regression/configs/";

// The example of configs/scenarios/ (docs/power.md): the fixed int8 model breaks the budget in
// most 1 s windows; the PI controller keeps every window within 2 % of the budget while its
// time-weighted accuracy stays within 1 point of int8's.
TEST(ScenarioCli, ControllerHoldsTheBudgetTheFixedInt8ModelBreaks) {
  const std::string stats = output("digits_env.stats.json");
  const std::string csv = output("digits_env.csv");
  const std::string vcd = output("digits_env.vcd");
  const CliResult result = run_cimtlm({"scenario", "configs/scenarios/digits_env.yaml", "--stats",
                                       stats, "--csv", csv, "--vcd", vcd});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const nlohmann::json s = read_json(stats);
  for (const char* key : {"power.avg_w", "power.max_w", "thermal.max_c", "controller.switches",
                          "controller.budget_violations", "controller.accuracy",
                          "controller.variant_time_s.int8", "controller.variant_time_s.int2"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  const auto& runs = s["runs"];
  const auto& int8 = runs["fixed_int8"];
  EXPECT_GT(int8["budget_violations"].get<int>(), 10);
  EXPECT_EQ(s["controller.budget_violations"].get<int>(), 0);
  EXPECT_LE(s["controller.worst_budget_ratio"].get<double>(), 1.02);
  EXPECT_GT(s["controller.accuracy"].get<double>(), int8["accuracy"].get<double>() - 0.01);
  EXPECT_GT(s["controller.switches"].get<int>(), 0);
  // Per component: the leakage and dynamic parts add up to the totals.
  double leakage = 0.0, dynamic = 0.0;
  for (const auto& key :
       {"power.components.cim.leakage_j", "power.components.arith.leakage_j",
        "power.components.noc.leakage_j", "power.components.memory.weights.leakage_j",
        "power.components.memory.activations.leakage_j"}) {
    leakage += s[key].get<double>();
  }
  for (const auto& key : {"power.components.cim.dynamic_j", "power.components.memory.dynamic_j",
                          "power.components.arith.dynamic_j", "power.components.noc.dynamic_j"}) {
    dynamic += s[key].get<double>();
  }
  EXPECT_NEAR(leakage, s["power.leakage_j"].get<double>(), 1e-9);
  EXPECT_NEAR(dynamic, s["power.dynamic_j"].get<double>(), 1e-3 * dynamic);
  // Every variant was simulated bit-exact with the reference executor.
  for (const char* variant : {"int8", "search", "int4", "pruned", "int2"}) {
    EXPECT_TRUE(s["variants"][variant]["match_reference"].get<bool>()) << variant;
    // ... and on the first 8 validation images, each simulated through the platform.
    EXPECT_EQ(s["variants"][variant]["platform_checked_samples"].get<int>(), 8) << variant;
  }
  // Times add up to the scenario's minute; 60 s of series at 100 ms.
  double total = 0.0;
  for (const auto& item : s["controller"]["variant_time_s"].items())
    total += item.value().get<double>();
  EXPECT_NEAR(total, 60.0, 1e-6);
  std::ifstream series(csv);
  int lines = 0;
  for (std::string line; std::getline(series, line);) ++lines;
  EXPECT_EQ(lines, 601);
  expect_contains(read_text(vcd), "temperature_mc");
}

TEST(ScenarioCli, SameScenarioSameStats) {
  const std::string a = output("small_a.stats.json"), b = output("small_b.stats.json");
  ASSERT_EQ(
      run_cimtlm({"scenario", std::string(kConfigs) + "scenario_small.yaml", "--stats", a, "-q"})
          .exit_status,
      0);
  ASSERT_EQ(
      run_cimtlm({"scenario", std::string(kConfigs) + "scenario_small.yaml", "--stats", b, "-q"})
          .exit_status,
      0);
  nlohmann::json x = read_json(a), y = read_json(b);
  for (auto* j : {&x, &y}) {
    j->erase("sim.wall_s");
    (*j)["sim"].erase("wall_s");
  }
  EXPECT_EQ(x, y);
  EXPECT_EQ(x["sim.inferences"].get<int>(), 100 + 200);
}

// configs/scenarios/README.md is generated from the schema and kept up to date.
TEST(ScenarioCli, ReferenceIsUpToDate) {
  const CliResult result = run_cimtlm({"docs", "--scenario"});
  ASSERT_EQ(result.exit_status, 0);
  EXPECT_EQ(result.out, read_text(std::string(CIMTLM_SOURCE_DIR) + "/configs/scenarios/README.md"))
      << "regenerate: cimtlm docs --scenario -o configs/scenarios/README.md";
  expect_contains(result.out, "temperature_high");
}

TEST(ScenarioCli, TraceNotMonotoneInTime) {
  const CliResult result =
      run_cimtlm({"scenario", std::string(kConfigs) + "scenario_non_monotone.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "scenario_non_monotone.yaml:10:");
  expect_contains(result.err, "trace.samples.2.time");
  expect_contains(result.err, "must increase in time");
}

TEST(ScenarioCli, BudgetBelowTheIdlePower) {
  const CliResult result =
      run_cimtlm({"scenario", std::string(kConfigs) + "scenario_low_budget.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "scenario_low_budget.yaml:9:");
  expect_contains(result.err, "trace.samples.1.budget");
  expect_contains(result.err, "below the idle power");
}

TEST(ScenarioCli, PolicyWithUnknownParameter) {
  CliResult result =
      run_cimtlm({"scenario", std::string(kConfigs) + "scenario_unknown_parameter.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err,
                  "scenario_unknown_parameter.yaml:11:5: policies.budget.kd: unknown key 'kd'");
  result = run_cimtlm({"scenario", std::string(kConfigs) + "scenario_foreign_parameter.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "scenario_foreign_parameter.yaml:14:");
  expect_contains(result.err,
                  "policies.hot.ki: 'ki' is not a parameter of policy type 'thresholds'");
}

TEST(ScenarioCli, VariantThatDoesNotFit) {
  const CliResult result =
      run_cimtlm({"scenario", std::string(kConfigs) + "scenario_too_big.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "scenario_too_big.yaml:5:");
  expect_contains(result.err, "variants.huge.network");
  expect_contains(result.err, "does not run on");
}

TEST(ScenarioCli, BadTraceCsvNamesFileLineAndColumn) {
  const CliResult result =
      run_cimtlm({"scenario", std::string(kConfigs) + "scenario_bad_csv.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "scenario_trace.csv:3: rate_hz: 'abc' is not a number");
}

// A CSV trace obeys the schema's ranges of trace.samples and its rules, named by column.
TEST(ScenarioCli, TraceCsvCellsAreCheckedLikeTheYamlSamples) {
  const std::string base = std::string(kConfigs) + "scenario_bad_csv.yaml";
  const std::string dir = std::string(CIMTLM_SOURCE_DIR) + "/" + kConfigs;
  CliResult result =
      run_cimtlm({"scenario", base, "--set", "trace.file=" + dir + "scenario_trace_hot.csv"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "scenario_trace_hot.csv:4: ambient_c: 250 is above the maximum 200");
  result = run_cimtlm({"scenario", base, "--set", "trace.file=" + dir + "scenario_trace_back.csv"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "scenario_trace_back.csv:4: time_s: 1 is not after the previous");
  result = run_cimtlm(
      {"scenario", base, "--set", "trace.file=" + dir + "scenario_trace_header_only.csv"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "scenario_trace_header_only.csv: no samples after the header");
}

// More output windows than the run can hold is bad input naming the key, not an allocation
// failure or an hour-long run (a 30-day scenario at 1 us windows is 2.6e12 of them).
TEST(ScenarioCli, TooManyOutputWindowsNamesTheKey) {
  CliResult result = run_cimtlm({"scenario", std::string(kConfigs) + "scenario_small.yaml", "--set",
                                 "scenario.duration=30 day", "--set", "output.window=1 us"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "--set output.window=1 us: output.window: 2.592e+12 windows");
  result = run_cimtlm({"scenario", std::string(kConfigs) + "scenario_small.yaml", "--set",
                       "scenario.duration=1 day", "--set", "output.budget_window=10 ms"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "output.budget_window: 8.64e+06 windows");
}

}  // namespace
}  // namespace cimtlm::testing
