// `noc.model: reservation` through the command line: a whole platform run stays bit-exact (the
// outputs do not depend on timing), its NoC counts and NoC energy equal the cycle model's (they
// depend on the routes only) and its total cycles stay within the tolerance measured and
// documented in models/noc/README.md; a bad model value and a traffic sweep on the reservation
// model exit 2 naming the key.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

const std::string kOutput = CIMTLM_TEST_OUTPUT_DIR;

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "missing \"" << part << "\" in:\n" << text;
}

nlohmann::json run_stats(const std::string& name, const std::string& model) {
  const std::string stats = kOutput + "/noc_model_" + name + "_" + model + ".stats.json";
  const CliResult result =
      run_cimtlm({"run", "configs/platforms/default.yaml", "--network",
                  "configs/networks/" + name + ".onnx", "--quiet", "--set", "noc.model=" + model,
                  "--stats", stats});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  return nlohmann::json::parse(read_text(stats));
}

// Relative tolerance of the total cycles against the cycle model. Measured (models/noc/README.md):
// 0.00 % on 4 and 16 cores, -0.02 / -0.03 % on 64 cores for these two networks.
constexpr double kCycleTolerance = 0.01;

TEST(NocModelCli, ReservationRunIsBitExactWithTheCycleModelsCountsAndEnergy) {
  for (const std::string name : {"residual_cnn", "inception_cnn"}) {
    const nlohmann::json cycle = run_stats(name, "cycle");
    const nlohmann::json reservation = run_stats(name, "reservation");
    EXPECT_EQ(reservation["outputs"]["match_reference"], true) << name;
    EXPECT_EQ(reservation["outputs"]["mismatches"], 0) << name;
    EXPECT_GT(cycle["noc"]["packets"].get<double>(), 0) << name;
    EXPECT_EQ(reservation["noc"]["packets"], cycle["noc"]["packets"]) << name;
    EXPECT_EQ(reservation["noc"]["flits"], cycle["noc"]["flits"]) << name;
    EXPECT_EQ(reservation["energy_pj"]["noc"], cycle["energy_pj"]["noc"]) << name;
    const double cycles = cycle["sim"]["cycles"].get<double>();
    const double approximate = reservation["sim"]["cycles"].get<double>();
    EXPECT_LE(std::fabs(approximate - cycles), kCycleTolerance * cycles)
        << name << ": cycle model " << cycles << ", reservation " << approximate;
  }
}

TEST(NocModelCli, BadModelAndSweepOnTheReservationModelExitTwo) {
  const CliResult bad = run_cimtlm(
      {"validate", "configs/platforms/default.yaml", "--set", "noc.model=analytic"});
  EXPECT_EQ(bad.exit_status, 2);
  expect_contains(bad.err, "noc.model");
  const CliResult sweep = run_cimtlm({"noc", "configs/platforms/noc_reference_4x4.yaml", "--set",
                                      "noc.model=reservation", "--rates", "0.1"});
  EXPECT_EQ(sweep.exit_status, 2);
  expect_contains(sweep.err, "noc.model");
  const CliResult good = run_cimtlm(
      {"validate", "configs/platforms/default.yaml", "--set", "noc.model=reservation"});
  EXPECT_EQ(good.exit_status, 0) << good.err;
  expect_contains(good.out, "model: reservation");
}

}  // namespace
}  // namespace cimtlm::testing
