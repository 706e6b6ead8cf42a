// Regression: mapping and memory-saving schedules through the command line -- the residual and
// inception networks bit-exact on 4 and 16 cores, branch ordering, batched accumulation swept
// over the accumulator size, and structured pruning saving tiles and energy.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

const std::string kOutput = CIMTLM_TEST_OUTPUT_DIR;

nlohmann::json run_json(const std::vector<std::string>& arguments, const std::string& name,
                        int expected_status = 0) {
  const std::string stats = kOutput + "/" + name + ".stats.json";
  std::vector<std::string> command = arguments;
  command.insert(command.end(), {"--quiet", "--stats", stats});
  const CliResult result = run_cimtlm(command);
  EXPECT_EQ(result.exit_status, expected_status) << result.err;
  return nlohmann::json::parse(read_text(stats));
}

class NetworksOnCores : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(NetworksOnCores, BitExact) {
  const auto& [platform, network] = GetParam();
  // The MobileNet-like network is the toolchain's own int8 quantization of a float model.
  const std::string model = network == "mobile_se_cnn" ? network + ".q.onnx" : network + ".onnx";
  const nlohmann::json json =
      run_json({"run", "configs/platforms/" + platform + ".yaml", "--network",
                "configs/networks/" + model, "--input", "configs/networks/" + network + "_input.npy"},
               platform + "_" + network);
  EXPECT_EQ(json["outputs"]["match_reference"], true);
  EXPECT_EQ(json["outputs"]["mismatches"], 0);
  EXPECT_EQ(json["schedule"]["unplanned_buffers"], 0);
  EXPECT_GE(json["map"]["cores_used"].get<int>(), 2);
}

INSTANTIATE_TEST_SUITE_P(Platforms, NetworksOnCores,
                         ::testing::Combine(::testing::Values("mesh_4core", "mesh_16core"),
                                            ::testing::Values("residual_cnn", "inception_cnn",
                                                              "mobile_se_cnn")));

TEST(Mapping, BranchOrderLowersThePeak) {
  const nlohmann::json json = run_json({"run", "configs/platforms/mesh_4core.yaml", "--network",
                                        "configs/networks/inception_cnn.onnx"},
                                       "branch_order");
  EXPECT_FALSE(json["schedule"]["branch_order"].get<std::string>().empty());
  EXPECT_LT(json["schedule"]["peak_activation_bytes"].get<double>(),
            json["schedule"]["naive_peak_activation_bytes"].get<double>());
  EXPECT_EQ(json["outputs"]["match_reference"], true);
}

TEST(Mapping, MemoryTargetKeepsTheGraphOrderWhenItFits) {
  const nlohmann::json json =
      run_json({"run", "configs/platforms/mesh_4core.yaml", "--network",
                "configs/networks/inception_cnn.onnx", "--set", "mapping.memory_target=1 MiB"},
               "memory_target");
  EXPECT_EQ(json["schedule"]["peak_activation_bytes"], json["schedule"]["naive_peak_activation_bytes"]);
  EXPECT_EQ(json["schedule"]["memory_target_met"], true);
}

// Batched accumulation with rescaling: the accumulator peak stays under the limit at every size,
// the error is reported, and nothing is rescaled (exact) when the memory is large enough.
TEST(Mapping, AccumulatorLimitSweep) {
  double previous_error = -1;
  for (const std::string limit : {"64 KiB", "4 KiB", "1 KiB", "512 B"}) {
    const nlohmann::json json =
        run_json({"run", "configs/platforms/default.yaml", "--network", "configs/networks/cnn.yaml",
                  "--set", "mapping.accumulation=rescale", "--set", "mapping.placement=pipelined",
                  "--set", "core.arith.accumulator_bytes=" + limit,
                  "--set", "simulation.tolerance=255"},
                 "accumulator_" + limit.substr(0, limit.find(' ')));
    const double limit_bytes = std::stod(limit) * (limit.find("KiB") != std::string::npos ? 1024 : 1);
    EXPECT_LE(json["schedule"]["accumulator_peak_bytes"].get<double>(), limit_bytes) << limit;
    const double error = json["outputs"]["max_abs_error"].get<double>();
    if (limit == "64 KiB") {
      EXPECT_EQ(json["schedule"]["rescaled_batches"], 0);
      EXPECT_EQ(error, 0.0);
    } else {
      EXPECT_GT(json["schedule"]["rescaled_batches"].get<int>(), 0) << limit;
      EXPECT_GE(error, previous_error) << limit;  // less memory, no less error
    }
    previous_error = error;
  }
}

// 70 % of the weights zero in structured blocks: fewer tiles and less energy, same outputs.
TEST(Mapping, StructuredPruningSavesTilesAndEnergy) {
  const nlohmann::json dense = run_json(
      {"run", "configs/platforms/default.yaml", "--network", "configs/networks/mlp_wide.yaml"}, "mlp_wide");
  const nlohmann::json pruned = run_json({"run", "configs/platforms/default.yaml", "--network",
                                          "configs/networks/mlp_wide_pruned70.yaml"},
                                         "mlp_wide_pruned70");
  EXPECT_EQ(dense["map"]["tiles"], dense["map"]["tiles_dense"]);
  EXPECT_EQ(pruned["map"]["tiles_dense"], dense["map"]["tiles_dense"]);
  EXPECT_LT(pruned["map"]["tiles"].get<double>(), 0.65 * dense["map"]["tiles"].get<double>());
  EXPECT_LT(pruned["energy_pj"]["cim"].get<double>(), 0.5 * dense["energy_pj"]["cim"].get<double>());
  EXPECT_EQ(pruned["outputs"]["match_reference"], true);
}

// A network larger than the chip: weights spill to off-chip DRAM and tiles are streamed into the
// arrays layer by layer; it still runs, bit-exact, and the report counts the rewrites.
TEST(Mapping, NetworkLargerThanTheChipRuns) {
  const nlohmann::json json = run_json({"run", "configs/platforms/tiny_chip_dram.yaml"}, "tiny_chip");
  EXPECT_EQ(json["outputs"]["match_reference"], true);
  EXPECT_GT(json["map"]["array_rewrites"].get<int>(), json["map"]["tiles"].get<int>());
  EXPECT_GT(json["map"]["weight_bytes_outside_weight_memory"].get<double>(), 0);
  EXPECT_GT(json["memory"]["dram"]["reads"].get<int>(), 0);
}

// Two networks that do not fit a 16-core chip at int8: the allocation lowers precision until
// they fit, every weight stays in the arrays, and the outputs are those of the requantized networks.
TEST(Mapping, TwoNetworksGetAPrecisionAllocationThatFits) {
  const std::string stats = kOutput + "/two_networks.stats.json";
  const CliResult result = run_cimtlm({"run", "configs/platforms/two_networks_16core.yaml", "--stats", stats});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.out.find("Precision allocation"), std::string::npos) << result.out;
  const nlohmann::json json = nlohmann::json::parse(read_text(stats));
  const auto& allocation = json["allocation"];
  EXPECT_EQ(allocation["fits"], true);
  int cores = 0;
  bool lowered = false;
  for (const std::string network : {"mlp_wide", "mlp_mid"}) {
    const int bits = allocation[network]["precision_bits"].get<int>();
    cores += allocation[network]["cores"].get<int>();
    lowered = lowered || bits < 8;
    // Each network has at least the cores it needs at its precision.
    EXPECT_GE(allocation[network]["cores"].get<int>(),
              allocation["networks"][network]["cores_needed"][std::to_string(bits)].get<int>());
    EXPECT_GT(allocation["networks"][network]["cores_needed"]["8"].get<int>(),
              allocation["networks"][network]["cores_needed"]["2"].get<int>());
  }
  EXPECT_TRUE(lowered);
  EXPECT_EQ(cores, 16);
  EXPECT_EQ(json["map"]["array_rewrites"], 0);  // everything stationary: it fits
  EXPECT_EQ(json["outputs"]["match_reference"], true);
  EXPECT_TRUE(json.contains("allocation.mlp_wide.precision_bits"));
  // Without the allocation the networks keep int8 and stream their weights.
  const nlohmann::json off = run_json({"run", "configs/platforms/two_networks_16core.yaml", "--set",
                                       "workload.precision_allocation=off"},
                                      "two_networks_off");
  EXPECT_GT(off["map"]["array_rewrites"].get<int>(), 0);
  EXPECT_EQ(off["allocation"]["mlp_wide"]["precision_bits"], 8);
}

}  // namespace
}  // namespace cimtlm::testing
