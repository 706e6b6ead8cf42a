// The command line as a user meets it: bad input exits 2 with a message naming the file, line,
// column and key path; simulation failures exit 1; good runs exit 0.
#include <gtest/gtest.h>

#include <fstream>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "expected '" << part << "' in:\n" << text;
}

TEST(Cli, HelpAndVersion) {
  const CliResult help = run_cimtlm({"--help"});
  EXPECT_EQ(help.exit_status, 0);
  expect_contains(help.out, "cimtlm run CONFIG.yaml");
  const CliResult version = run_cimtlm({"--version"});
  EXPECT_EQ(version.exit_status, 0);
  expect_contains(version.out, "cimtlm ");
  EXPECT_EQ(run_cimtlm({}).exit_status, 2);
}

TEST(Cli, ValidateMisspelledKey) {
  const CliResult result = run_cimtlm({"validate", "testbenches/regression/configs/misspelled_key.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err,
                  "testbenches/regression/configs/misspelled_key.yaml:6:5: core.cim.rowz: unknown key "
                  "'rowz' (did you mean 'rows'?)");
}

TEST(Cli, ValidateBadUnit) {
  const CliResult result = run_cimtlm({"validate", "testbenches/regression/configs/bad_unit.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "testbenches/regression/configs/bad_unit.yaml:3:14: clock.frequency: unknown unit 'GHzz'");
}

TEST(Cli, ValidateWrongType) {
  const CliResult result = run_cimtlm({"validate", "testbenches/regression/configs/wrong_type.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "testbenches/regression/configs/wrong_type.yaml:3:11: core.macros: 'four' is not a number");
}

TEST(Cli, ValidateMissingFile) {
  const CliResult result = run_cimtlm({"validate", "no/such/platform.yaml"});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, "no/such/platform.yaml: no such file");
  EXPECT_EQ(run_cimtlm({"run", "no/such/platform.yaml"}).exit_status, 2);
}

TEST(Cli, ValidatePrintsTheEffectiveConfiguration) {
  const CliResult result = run_cimtlm({"validate", "configs/platforms/default.yaml"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  expect_contains(result.out, "frequency: 1 GHz  # configs/platforms/default.yaml:");
  expect_contains(result.out, "adc_bits: 7");
}

TEST(Cli, BadCommandLine) {
  EXPECT_EQ(run_cimtlm({"frobnicate"}).exit_status, 2);
  EXPECT_EQ(run_cimtlm({"run", "configs/platforms/default.yaml", "--no-such-option"}).exit_status, 2);
  EXPECT_EQ(run_cimtlm({"run", "configs/platforms/default.yaml", "--set", "no_equals"}).exit_status, 2);
  const CliResult network = run_cimtlm({"run", "configs/platforms/default.yaml", "--network", "nothing.onnx"});
  EXPECT_EQ(network.exit_status, 2);
  expect_contains(network.err, "nothing.onnx");
  const CliResult input = run_cimtlm({"run", "configs/platforms/default.yaml", "--input", "x=/nonexistent.npy"});
  EXPECT_EQ(input.exit_status, 2);
}

// Malformed ONNX: exit 2 with a message naming the file (the loader's own tests cover the
// node-level messages: wrong opset, missing initializer, shape mismatch).
TEST(Cli, MalformedOnnxExitsTwo) {
  const std::string source = read_text(std::string(CIMTLM_SOURCE_DIR) + "/configs/networks/residual_cnn.onnx");
  const std::string truncated = std::string(CIMTLM_TEST_OUTPUT_DIR) + "/truncated.onnx";
  {
    std::ofstream file(truncated, std::ios::binary);
    file << source.substr(0, source.size() / 3);
  }
  const CliResult result = run_cimtlm({"run", "configs/platforms/default.yaml", "--network", truncated});
  EXPECT_EQ(result.exit_status, 2);
  expect_contains(result.err, truncated);
  const CliResult float_model =
      run_cimtlm({"run", "configs/platforms/default.yaml", "--network", "configs/networks/digits_cnn.onnx"});
  EXPECT_EQ(float_model.exit_status, 2);
  expect_contains(float_model.err, "a float model; quantize it first");
}

// Bad CIM parameters are rejected at configuration time with exit 2 and the key path.
TEST(Cli, BadCimParameters) {
  for (const auto& setting : {std::string("core.cim.rows=0"), std::string("core.cim.adc_bits=0"),
                              std::string("core.cim.max_weight_bits=9"),
                              std::string("core.cim.sparsity_threshold=1.5")}) {
    const CliResult result = run_cimtlm({"validate", "configs/platforms/default.yaml", "--set", setting});
    EXPECT_EQ(result.exit_status, 2) << setting;
    expect_contains(result.err, "--set " + setting + ": " + setting.substr(0, setting.find('=')));
  }
}

// Bad NoC parameters exit 2 naming the key.
TEST(Cli, BadNocParameters) {
  const CliResult rows = run_cimtlm({"validate", "configs/platforms/default.yaml", "--set", "noc.rows=0"});
  EXPECT_EQ(rows.exit_status, 2);
  expect_contains(rows.err, "noc.rows");
  const CliResult torus = run_cimtlm({"noc", "configs/platforms/noc_reference_4x4.yaml", "--set",
                                      "noc.topology=torus", "--set", "noc.vcs=1", "--rates", "0.1"});
  EXPECT_EQ(torus.exit_status, 2);
  expect_contains(torus.err, "noc.vcs");
  const CliResult routing = run_cimtlm({"validate", "configs/platforms/default.yaml", "--set",
                                        "noc.topology=torus", "--set", "noc.routing=west_first"});
  EXPECT_EQ(routing.exit_status, 2);
  expect_contains(routing.err, "noc.routing");
}

}  // namespace
}  // namespace cimtlm::testing
