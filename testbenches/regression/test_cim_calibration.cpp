// Calibration of the CIM macro's physics against DNN+NeuroSim V1.4 (one 256x256 SRAM sub-array
// at 22 nm, ../shared/reference/cim/README.md), through the command a user runs:
// configs/platforms/neurosim_22nm.yaml must give NeuroSim's energy per input bit-plane at input
// activities 1.0 / 0.507 / 0.0, its latency and its area within 20 %, and the shape of the
// energy-versus-activity curve (a fixed part and a concave rise). The stats of a run carry the
// macro area (area_um2.cim.*) and the arithmetic unit's (area_um2.arith.*), and the core
// footprint puts both on the silicon base.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

const std::string kOutput = CIMTLM_TEST_OUTPUT_DIR;

struct Row {
  double measured_activity, total_pj, adc_pj, latency_ns;
};

// activity -> row of `cimtlm cim-activity --csv`.
std::map<double, Row> read_activity_csv(const std::string& path) {
  std::map<double, Row> rows;
  std::stringstream text(read_text(path));
  std::string line;
  std::getline(text, line);  // header
  while (std::getline(text, line)) {
    std::vector<double> fields;
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) fields.push_back(std::stod(cell));
    if (fields.size() != 9) continue;
    rows[fields[0]] = Row{fields[1], fields[2], fields[3], fields[8]};
  }
  return rows;
}

double area_um2(const std::string& out) {
  const auto at = out.find("area ");
  return at == std::string::npos ? -1.0 : std::stod(out.substr(at + 5));
}

TEST(CimCalibration, NeuroSimSubArrayWithinTwentyPercent) {
  const std::string csv = kOutput + "/cim_calibration.csv";
  const CliResult result =
      run_cimtlm({"cim-activity", "configs/platforms/neurosim_22nm.yaml", "--activities",
                  "0,0.25,0.507,0.75,1", "--vectors", "16", "--csv", csv});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const auto rows = read_activity_csv(csv);
  ASSERT_EQ(rows.size(), 5u) << result.out;

  // NeuroSim V1.4: total (ADC) pJ per sub-array operation, 14.94 ns per bit-plane.
  const std::map<double, std::pair<double, double>> neurosim = {
      {1.0, {97.79, 87.06}}, {0.507, {67.67, 58.13}}, {0.0, {29.97, 21.65}}};
  for (const auto& [activity, figures] : neurosim) {
    const Row& row = rows.at(activity);
    EXPECT_NEAR(row.total_pj, figures.first, 0.2 * figures.first) << "activity " << activity;
    EXPECT_NEAR(row.adc_pj, figures.second, 0.2 * figures.second) << "activity " << activity;
    EXPECT_NEAR(row.latency_ns, 14.94, 0.2 * 14.94) << "activity " << activity;
  }
  // Latency does not depend on the activity.
  EXPECT_DOUBLE_EQ(rows.at(0.0).latency_ns, rows.at(1.0).latency_ns);
  // Shape: a fixed part (a quarter of the full-activity energy or more), a monotone rise, and
  // concave: every inner point lies above the chord from activity 0 to 1.
  const double e0 = rows.at(0.0).total_pj, e1 = rows.at(1.0).total_pj;
  EXPECT_GT(e0, 0.25 * e1);
  double previous = 0.0;
  for (const auto& [activity, row] : rows) {
    EXPECT_GT(row.total_pj, previous) << activity;
    previous = row.total_pj;
    if (activity > 0.0 && activity < 1.0) {
      EXPECT_GT(row.total_pj, e0 + row.measured_activity * (e1 - e0)) << activity;
    }
  }
  // Sub-array area 17,645.8 um2 and leakage 0.435 uW.
  EXPECT_NEAR(area_um2(result.out), 17645.8, 0.2 * 17645.8) << result.out;
  const auto leak = result.out.find("leakage ", result.out.find("area "));
  ASSERT_NE(leak, std::string::npos);
  EXPECT_NEAR(std::stod(result.out.substr(leak + 8)), 0.435, 0.2 * 0.435) << result.out;
}

TEST(CimCalibration, OtherNodesScaleAndAdcTypesDiffer) {
  // The same macro at 28 and 40 nm costs more energy and area per bit-plane; a flash ADC of the
  // same resolution spends no cell current, so its energy rises less with activity.
  std::map<std::string, std::map<double, Row>> by_case;
  std::map<std::string, double> area;
  for (const std::string variant : {"sram_22nm", "sram_28nm", "sram_40nm", "flash"}) {
    const std::string csv = kOutput + "/cim_calibration_" + variant + ".csv";
    std::vector<std::string> args = {"cim-activity", "configs/platforms/neurosim_22nm.yaml",
                                     "--activities", "0,1",
                                     "--vectors",    "4",
                                     "--csv",        csv};
    if (variant == "flash") {
      args.insert(args.end(), {"--set", "core.cim.adc_type=flash"});
    } else {
      args.insert(args.end(), {"--set", "core.cim.technology=" + variant});
    }
    const CliResult result = run_cimtlm(args);
    ASSERT_EQ(result.exit_status, 0) << variant << ": " << result.err;
    by_case[variant] = read_activity_csv(csv);
    area[variant] = area_um2(result.out);
  }
  EXPECT_LT(by_case["sram_22nm"][1.0].total_pj, by_case["sram_28nm"][1.0].total_pj);
  EXPECT_LT(by_case["sram_28nm"][1.0].total_pj, by_case["sram_40nm"][1.0].total_pj);
  EXPECT_LT(area["sram_22nm"], area["sram_28nm"]);
  // Areas in F^2: 40 nm over 22 nm is (40/22)^2.
  EXPECT_NEAR(area["sram_40nm"] / area["sram_22nm"], (40.0 / 22.0) * (40.0 / 22.0), 1e-3);
  const double mlsa_rise = by_case["sram_22nm"][1.0].adc_pj - by_case["sram_22nm"][0.0].adc_pj;
  const double flash_rise = by_case["flash"][1.0].adc_pj - by_case["flash"][0.0].adc_pj;
  EXPECT_GT(flash_rise, 0.0);
  EXPECT_LT(flash_rise, mlsa_rise);
}

TEST(CimCalibration, SensingLimitsTheConversionAtAFasterClock) {
  // At 2 GHz a 1 ns sensing takes 2 cycles: 8 conversions per bit-plane of 2 cycles (plus the
  // 1-cycle shift-add drain per 8-bit vector); without the limit the macro would convert in 1.
  std::map<std::string, double> cycles;
  for (const std::string limit : {"true", "false"}) {
    const std::string csv = kOutput + "/cim_sensing_" + limit + ".csv";
    const CliResult result =
        run_cimtlm({"cim-activity", "configs/platforms/neurosim_22nm.yaml", "--activities", "0.5",
                    "--vectors", "2", "--csv", csv, "--set", "clock.frequency=2 GHz", "--set",
                    "core.cim.sense_limits_clock=" + limit});
    ASSERT_EQ(result.exit_status, 0) << result.err;
    const auto rows = read_activity_csv(csv);
    ASSERT_EQ(rows.size(), 1u);
    cycles[limit] = rows.begin()->second.latency_ns * 2.0;  // ns x 2 GHz
  }
  EXPECT_NEAR(cycles["true"], 16.125, 1e-9);
  EXPECT_NEAR(cycles["false"], 8.125, 1e-9);
}

TEST(CimCalibration, StatsCarryMacroAreaAndFootprint) {
  const std::string stats = kOutput + "/cim_area.stats.json";
  const CliResult result = run_cimtlm({"run", "configs/platforms/default.yaml", "--quiet", "--set",
                                       "workload.inferences=1", "--stats", stats});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const nlohmann::json json = nlohmann::json::parse(read_text(stats));
  for (const std::string part : {"array", "adc", "shift_add", "mux", "drivers", "buffers"}) {
    ASSERT_TRUE(json.contains("area_um2.cim." + part)) << part;
    EXPECT_GT(json["area_um2.cim." + part].get<double>(), 0.0) << part;
  }
  const double per_core = json["area_um2.cim.per_core"].get<double>();
  EXPECT_NEAR(per_core, 4 * json["area_um2.cim.per_macro"].get<double>(), 1e-9 * per_core);
  // The arithmetic unit (schema core.arith): 16 lanes x 880 um2 and 64 KiB of accumulators at
  // 0.181 um2 per bit.
  const double arith_um2 = 16 * 880.0 + 0.181 * 8.0 * 65536;
  EXPECT_NEAR(json["area_um2.arith.datapath"].get<double>(), 16 * 880.0, 1e-6);
  EXPECT_NEAR(json["area_um2.arith.per_core"].get<double>(), arith_um2, 1e-6);
  EXPECT_NEAR(json["area_um2.arith.chip"].get<double>(), 4 * arith_um2, 1e-6);
  // The silicon base (layer 0) holds the macros, the arithmetic unit and, under the stacked OS
  // memories, their periphery and silicon read transistors (schema silicon_area_per_bit: NOSRAM
  // 0.19 um2, DOSRAM 0.045 um2); default.yaml has 1 MiB of NOSRAM weights and 512 KiB of DOSRAM.
  const auto& layers = json["footprint_mm2"]["layers"];
  ASSERT_EQ(layers.size(), 3u);
  const double periphery_um2 = 0.19 * 8.0 * (1 << 20) + 0.045 * 8.0 * (1 << 19);
  EXPECT_NEAR(layers[0]["area_mm2"].get<double>(), (per_core + arith_um2 + periphery_um2) * 1e-6,
              1e-12);
  // The OS cell arrays on their own layers (area_per_bit: NOSRAM 0.28 um2, DOSRAM 0.105 um2).
  EXPECT_NEAR(layers[1]["area_mm2"].get<double>(), 0.28 * 8.0 * (1 << 20) * 1e-6, 1e-12);
  EXPECT_NEAR(layers[2]["area_mm2"].get<double>(), 0.105 * 8.0 * (1 << 19) * 1e-6, 1e-12);
  double sum = 0.0;
  for (const auto& layer : layers) sum += layer["area_mm2"].get<double>();
  EXPECT_NEAR(json["footprint_mm2.planar_per_core"].get<double>(), sum, 1e-12);
}

TEST(CimCalibration, BadActivitySweepOptionsExitTwoNamingThem) {
  const std::string config = "configs/platforms/neurosim_22nm.yaml";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--activities", "1.5"}, "--activities: '1.5'"},
      {{"--activities", "0.2,x"}, "--activities: 'x'"},
      {{"--activities", "0.5", "--vectors", "0"}, "vector count"},
      {{"--activities", "0.5", "--set", "core.cim.adc_type=pipeline"}, "core.cim.adc_type"},
      {{"--activities", "0.5", "--set", "core.cim.technology=sram_7nm"}, "core.cim.technology"},
      {{"--activities", "0.5", "--csv", kOutput + "/no_such_dir/x.csv"}, "no_such_dir/x.csv"}};
  for (const auto& [options, message] : cases) {
    std::vector<std::string> args = {"cim-activity", config};
    args.insert(args.end(), options.begin(), options.end());
    const CliResult result = run_cimtlm(args);
    EXPECT_EQ(result.exit_status, 2) << options.back();
    EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
  }
}

}  // namespace
}  // namespace cimtlm::testing
