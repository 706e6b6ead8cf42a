// Regression: the per-layer account (layers.<network>.<layer>.*). Every node of the network has
// an entry named after its ONNX node; the layers' MACs, CIM and NoC energy add up to the chip's;
// CIM layers have tiles and cycles, arithmetic layers arithmetic energy and no MACs; the report's
// table puts the slowest layer first; scripts/plot_layers.py draws the account.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

const std::string kOutput = CIMTLM_TEST_OUTPUT_DIR;

TEST(Layers, AccountAddsUpToTheChip) {
  const std::string stats = kOutput + "/layers_residual.stats.json";
  const CliResult result = run_cimtlm({"run", "configs/platforms/mesh_4core.yaml", "--network",
                                       "configs/networks/residual_cnn.onnx", "--stats", stats});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const nlohmann::json json = nlohmann::json::parse(read_text(stats));
  const nlohmann::json& layers = json["layers"]["residual_cnn"];
  ASSERT_TRUE(layers.is_object());
  // Node names of the quantized graph (QDQ pairs folded): the convolutions and the Add.
  for (const char* name : {"stem", "block1_conv_a", "block1_add", "classifier"}) {
    bool found = false;
    for (auto it = layers.begin(); it != layers.end(); ++it) {
      found = found || it.key().find(name) != std::string::npos;
    }
    EXPECT_TRUE(found) << name;
  }
  double macs = 0, cim = 0, noc = 0, memory = 0;
  uint64_t slowest = 0;
  std::string slowest_name;
  bool conv_seen = false, add_seen = false;
  for (auto it = layers.begin(); it != layers.end(); ++it) {
    const nlohmann::json& layer = it.value();
    for (const char* key : {"cycles", "macs", "input_sparsity", "rows_disabled_fraction", "tiles",
                            "cores", "spilled_bytes"}) {
      EXPECT_TRUE(layer.contains(key)) << it.key() << " " << key;
    }
    macs += layer["macs"].get<double>();
    cim += layer["energy_pj"]["cim"].get<double>();
    noc += layer["energy_pj"]["noc"].get<double>();
    memory += layer["energy_pj"]["memory"].get<double>();
    if (layer["cycles"].get<uint64_t>() > slowest) {
      slowest = layer["cycles"].get<uint64_t>();
      slowest_name = it.key();
    }
    if (layer["op"] == "QConv") {
      conv_seen = true;
      EXPECT_GT(layer["tiles"].get<int64_t>(), 0) << it.key();
      EXPECT_GT(layer["cycles"].get<uint64_t>(), 0u) << it.key();
      EXPECT_GT(layer["macs"].get<uint64_t>(), 0u) << it.key();
      EXPECT_GT(layer["energy_pj"]["cim"].get<double>(), 0.0) << it.key();
    }
    if (layer["op"] == "QAdd") {
      add_seen = true;
      EXPECT_EQ(layer["macs"], 0) << it.key();
      EXPECT_GT(layer["energy_pj"]["arith"].get<double>(), 0.0) << it.key();
      EXPECT_EQ(layer["energy_pj"]["cim"].get<double>(), 0.0) << it.key();
    }
  }
  EXPECT_TRUE(conv_seen);
  EXPECT_TRUE(add_seen);
  // Every MAC and every pJ of CIM and NoC energy belongs to a layer.
  EXPECT_EQ(macs, json["cim"]["macs"].get<double>());
  EXPECT_NEAR(cim, json["energy_pj"]["cim"].get<double>(), 1e-6 * cim);
  EXPECT_NEAR(noc, json["energy_pj"]["noc"].get<double>(), 1e-6 * noc + 1e-9);
  EXPECT_LE(memory, json["energy_pj"]["memory"].get<double>() * (1 + 1e-9));
  EXPECT_EQ(json["layers.residual_cnn." + slowest_name + ".cycles"], slowest);
  // The report's table starts with the slowest layer.
  const size_t table = result.out.find("Layers of residual_cnn (most time first)");
  ASSERT_NE(table, std::string::npos) << result.out;
  const size_t first_row = result.out.find('\n', result.out.find('\n', table) + 1) + 1;
  EXPECT_EQ(result.out.compare(first_row + 2, slowest_name.size(), slowest_name.substr(0, 27)), 0)
      << result.out.substr(table, 400);

  // The plot of the account.
  const std::string png = kOutput + "/layers_residual.png";
  std::filesystem::remove(png);
  const std::string command = "/usr/bin/python3 " + std::string(CIMTLM_SOURCE_DIR) +
                              "/scripts/plot_layers.py " + quote(stats) + " -o " + quote(png) +
                              " > /dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0);
  EXPECT_GT(std::filesystem::file_size(png), 10000u);
}

}  // namespace
}  // namespace cimtlm::testing
