// Regression: no network refused for its size. Activations beyond the activation memory spill to
// an off-chip level (named by the platform, or a default LPDDR4 level the run adds and reports),
// the run stays bit-exact, the spill's traffic and energy are in the stats, and the reported
// on-chip capacity indeed avoids the spill; a platform whose off-chip level is too small exits 2
// with the reason.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

const std::string kOutput = CIMTLM_TEST_OUTPUT_DIR;
const std::string kConfig = "testbenches/regression/configs/small_activation_memory.yaml";

nlohmann::json run_json(std::vector<std::string> arguments, const std::string& name) {
  const std::string stats = kOutput + "/" + name + ".stats.json";
  arguments.insert(arguments.end(), {"--stats", stats});
  const CliResult result = run_cimtlm(arguments);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  nlohmann::json json = nlohmann::json::parse(read_text(stats));
  json["report_text"] = result.out;
  return json;
}

std::vector<std::string> residual(std::vector<std::string> extra) {
  std::vector<std::string> arguments = {"run",       kConfig,
                                        "--network", "configs/networks/residual_cnn.onnx",
                                        "--input",   "configs/networks/residual_cnn_input.npy"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return arguments;
}

TEST(Spill, ActivationsBeyondTheActivationMemoryRunBitExactThroughDram) {
  const nlohmann::json json =
      run_json(residual({"--set", "core.memory.levels.dram.technology=dram", "--set",
                         "core.memory.levels.dram.capacity=1 MiB"}),
               "spill_dram");
  EXPECT_EQ(json["outputs"]["match_reference"], true);
  EXPECT_EQ(json["outputs"]["mismatches"], 0);
  const nlohmann::json& spill = json["spill"];
  EXPECT_EQ(spill["level"], "dram");
  EXPECT_EQ(spill["level_added"], false);
  EXPECT_GT(spill["activation_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(spill["activation_buffers"].get<int64_t>(), 0);
  EXPECT_GT(spill["activation_memory_needed_bytes"].get<uint64_t>(), 4096u);
  // The spilled buffers are written and read in the off-chip level every inference.
  EXPECT_GT(spill["bytes_written"].get<uint64_t>(), 0u);
  EXPECT_GT(spill["bytes_read"].get<uint64_t>(), 0u);
  EXPECT_GT(spill["energy_pj"].get<double>(), 0.0);
  EXPECT_GT(spill["bank_busy_ns"].get<double>(), 0.0);
  EXPECT_EQ(json["memory"]["dram"]["bytes_written"], spill["bytes_written"]);
  EXPECT_EQ(json["spill.activation_bytes"], spill["activation_bytes"]);
  EXPECT_NE(json["report_text"].get<std::string>().find("Spill to off-chip memory"),
            std::string::npos);
  // The per-layer account names the layers whose operands are off chip.
  uint64_t layer_spill = 0;
  for (const auto& layer : json["layers"]["residual_cnn"]) {
    layer_spill += layer["spilled_bytes"].get<uint64_t>();
  }
  EXPECT_GT(layer_spill, 0u);

  // The capacity the report names keeps everything on chip (rounded up to whole rows of all 8
  // banks, as a level's capacity must be): nothing spills, nothing is read from the off-chip
  // level, and the run is faster.
  const uint64_t row_of_banks = 8 * 256;
  const uint64_t needed_bytes = spill["activation_memory_needed_bytes"].get<uint64_t>();
  const std::string needed =
      std::to_string((needed_bytes + row_of_banks - 1) / row_of_banks * row_of_banks) + " B";
  const nlohmann::json fits =
      run_json(residual({"--set", "core.memory.levels.dram.technology=dram", "--set",
                         "core.memory.levels.dram.capacity=1 MiB", "--set",
                         "core.memory.levels.activations.capacity=" + needed}),
               "spill_avoided");
  EXPECT_EQ(fits["outputs"]["match_reference"], true);
  EXPECT_EQ(fits["spill"]["activation_bytes"], 0);
  EXPECT_EQ(fits["spill"]["bytes_read"], 0);
  EXPECT_EQ(fits["spill"]["bytes_written"], 0);
  EXPECT_LT(fits["sim"]["cycles"].get<uint64_t>(), json["sim"]["cycles"].get<uint64_t>());
}

TEST(Spill, DefaultLpddr4LevelAddedWhenThePlatformNamesNone) {
  const nlohmann::json json = run_json(residual({}), "spill_added_level");
  EXPECT_EQ(json["outputs"]["match_reference"], true);
  EXPECT_EQ(json["spill"]["level"], "lpddr4");
  EXPECT_EQ(json["spill"]["level_added"], true);
  EXPECT_NE(json["spill"]["level_added_because"].get<std::string>().find("activations need"),
            std::string::npos);
  EXPECT_GT(json["spill"]["activation_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(json["memory"]["lpddr4"]["technology"], "dram");
  EXPECT_NE(json["report_text"].get<std::string>().find("level added"), std::string::npos);
}

TEST(Spill, OffChipLevelTooSmallExits2WithTheReason) {
  const CliResult result =
      run_cimtlm(residual({"--set", "core.memory.levels.dram.technology=dram", "--set",
                           "core.memory.levels.dram.capacity=2 KiB", "--set",
                           "core.memory.levels.dram.banks=1", "--quiet"}));
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("cannot run this network"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("activations need"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace cimtlm::testing
