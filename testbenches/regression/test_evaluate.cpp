// `cimtlm evaluate`: accuracy of the digits test split through the simulated platform. With a
// lossless ADC and no non-ideality it must reproduce the ideal integer model exactly (every
// sample's outputs bit-exact, the same accuracy); a lossy ADC, injected retention loss,
// conductance variation, ADC offset and noise (seeded) and the sparse mode must show up as
// measured differences; bad input exits 2 naming what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <vector>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

const std::string kOutput = CIMTLM_TEST_OUTPUT_DIR;
const std::string kNetwork = "configs/networks/digits_pruned.q.onnx";
const std::string kData = "configs/networks/digits_data/val_inputs.npy";

// sweep -> value -> column -> number, from accuracy.csv.
using Table = std::map<std::string, std::map<std::string, std::map<std::string, double>>>;

Table read_table(const std::string& path) {
  std::stringstream text(read_text(path));
  std::string line;
  std::getline(text, line);
  std::vector<std::string> header;
  {
    std::stringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) header.push_back(cell);
  }
  Table table;
  while (std::getline(text, line)) {
    // The value column is quoted and holds no comma.
    std::vector<std::string> cells;
    std::stringstream stream(line);
    std::string cell;
    while (std::getline(stream, cell, ',')) cells.push_back(cell);
    if (cells.size() != header.size()) continue;
    std::string value = cells[1];
    value.erase(std::remove(value.begin(), value.end(), '"'), value.end());
    for (size_t i = 2; i < cells.size(); ++i) {
      if (header[i] != "fixed") table[cells[0]][value][header[i]] = std::stod(cells[i]);
    }
  }
  return table;
}

TEST(Evaluate, LosslessPlatformReproducesTheIntegerModelAndErrorsAreMeasured) {
  const std::string dir = kOutput + "/evaluate_lossless";
  const CliResult result = run_cimtlm(
      {"evaluate", "configs/platforms/default.yaml", "--network", kNetwork, "--data", kData,
       "--samples", "8", "--jobs", "2", "--no-plot", "--out-dir", dir, "--sweep",
       "core.cim.adc_bits=3", "--sweep",
       "core.memory.levels.activations.retention=100 ns@core.memory.on_retention_violation="
       "inject,core.memory.levels.activations.refresh=false"});
  ASSERT_EQ(result.exit_status, 0) << result.out << result.err;
  const Table table = read_table(dir + "/accuracy.csv");
  ASSERT_EQ(table.count("base"), 1u) << result.out;
  const auto& base = table.at("base").at("");
  EXPECT_EQ(base.at("samples"), 8);
  EXPECT_EQ(base.at("accuracy"), base.at("integer_accuracy"));
  EXPECT_EQ(base.at("bit_exact_fraction"), 1.0);
  EXPECT_EQ(base.at("agreement_with_integer"), 1.0);
  EXPECT_EQ(base.at("failed_runs"), 0);
  EXPECT_GT(base.at("energy_pj_per_inference"), 0.0);
  EXPECT_GT(base.at("float_accuracy"), 0.5);
  // A 3-bit ADC over 64 rows is lossy: the outputs differ from the integer model's.
  const auto& lossy = table.at("core.cim.adc_bits").at("3");
  EXPECT_LT(lossy.at("bit_exact_fraction"), 1.0);
  EXPECT_EQ(lossy.at("failed_runs"), 0);
  // Activations kept 100 ns by a memory they must outlive (no refresh): decayed bits.
  const auto& decayed = table.at("core.memory.levels.activations.retention").at("100 ns");
  EXPECT_GT(decayed.at("retention_violations_per_inference"), 0.0);
  EXPECT_LT(decayed.at("bit_exact_fraction"), 1.0);
}

TEST(Evaluate, NonIdealitiesAndSparseModeAreMeasuredAndSeeded) {
  // The other error sources of the platform act through evaluate too: conductance variation, ADC
  // offset and noise (seeded: the same seed gives the same figures, written either way; another
  // seed draws other errors), and with a lossy 5-bit ADC the sparse mode's narrowed range.
  const std::string dir = kOutput + "/evaluate_nonideal";
  const CliResult result = run_cimtlm({"evaluate",
                                       "configs/platforms/default.yaml",
                                       "--network",
                                       kNetwork,
                                       "--data",
                                       kData,
                                       "--samples",
                                       "4",
                                       "--jobs",
                                       "2",
                                       "--no-plot",
                                       "--out-dir",
                                       dir,
                                       "--sweep",
                                       "core.cim.conductance_sigma=0.05",
                                       "--sweep",
                                       "core.cim.adc_offset_lsb=0.5",
                                       "--sweep",
                                       "core.cim.adc_noise_lsb=0.5,0.50",
                                       "--sweep",
                                       "platform.seed=2@core.cim.adc_noise_lsb=0.5",
                                       "--sweep",
                                       "core.cim.sparsity_threshold=0,1@core.cim.adc_bits=5"});
  ASSERT_EQ(result.exit_status, 0) << result.out << result.err;
  const Table table = read_table(dir + "/accuracy.csv");
  const auto& base = table.at("base").at("");
  EXPECT_EQ(base.at("bit_exact_fraction"), 1.0);
  for (const auto& [sweep, value] :
       std::vector<std::pair<std::string, std::string>>{{"core.cim.conductance_sigma", "0.05"},
                                                        {"core.cim.adc_offset_lsb", "0.5"},
                                                        {"core.cim.adc_noise_lsb", "0.5"}}) {
    const auto& row = table.at(sweep).at(value);
    EXPECT_EQ(row.at("failed_runs"), 0) << sweep;
    EXPECT_LT(row.at("bit_exact_fraction"), 1.0) << sweep;
  }
  // Same seed, same draws: every figure equal.
  EXPECT_EQ(table.at("core.cim.adc_noise_lsb").at("0.5"),
            table.at("core.cim.adc_noise_lsb").at("0.50"));
  // Another seed, other draws: the outputs, hence the next layers' inputs and energy, differ.
  const auto& seed1 = table.at("core.cim.adc_noise_lsb").at("0.5");
  const auto& seed2 = table.at("platform.seed").at("2");
  EXPECT_LT(seed2.at("bit_exact_fraction"), 1.0);
  EXPECT_NE(seed2.at("energy_pj_per_inference"), seed1.at("energy_pj_per_inference"));
  // Sparse mode at every vector (threshold 0) narrows the 5-bit ADC's range: closer to the
  // integer model and cheaper than the sparsity-unaware macro (threshold 1).
  const auto& aware = table.at("core.cim.sparsity_threshold").at("0");
  const auto& unaware = table.at("core.cim.sparsity_threshold").at("1");
  EXPECT_GT(aware.at("agreement_with_integer"), unaware.at("agreement_with_integer"));
  EXPECT_LT(aware.at("energy_pj_per_inference"), unaware.at("energy_pj_per_inference"));
}

TEST(Evaluate, BadInputExitsTwoNamingTheProblem) {
  const std::string dir = kOutput + "/evaluate_bad";
  CliResult result =
      run_cimtlm({"evaluate", "configs/platforms/default.yaml", "--network", kNetwork});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("--data"), std::string::npos) << result.err;
  result = run_cimtlm({"evaluate", "configs/platforms/default.yaml", "--network", kNetwork,
                       "--data", kData, "--out-dir", dir, "--sweep", "core.cim.adc_bits"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("KEY=V1,V2"), std::string::npos) << result.err;
  result = run_cimtlm({"evaluate", "configs/platforms/default.yaml", "--network", kNetwork,
                       "--data", kData, "--out-dir", dir, "--sweep", "core.cim.adc_bitz=4"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("core.cim.adc_bitz"), std::string::npos) << result.err;
  result = run_cimtlm({"evaluate", "configs/platforms/default.yaml", "--network", kNetwork,
                       "--data", "configs/networks/no_such.npy", "--out-dir", dir});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("no_such.npy"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace cimtlm::testing
