// cimtlm regress: golden figures catch a moved figure (a doubled memory latency fails the
// project's suite), --update writes the figures and keeps the rest of the file, and a bad suite
// is exit 2 naming file, line and key.
#include <gtest/gtest.h>

#include <fstream>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

const std::string kOutput = CIMTLM_TEST_OUTPUT_DIR;
const std::string kSuite = "testbenches/regression/golden/whole_platform.yaml";

void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
}

TEST(Regress, DoubledMemoryLatencyFailsTheGoldenSuite) {
  // The default platform's activation level (DOSRAM) reads in 60 cycles; 120 must be seen.
  const CliResult result = run_cimtlm({"regress", kSuite, "--only", "default", "--set",
                                       "core.memory.levels.activations.read_cycles=120"});
  EXPECT_EQ(result.exit_status, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("sim.cycles"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("FAIL"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("whole_platform: FAIL"), std::string::npos) << result.out;
}

TEST(Regress, UpdateWritesTheFiguresThenTheSuitePasses) {
  const std::string suite = kOutput + "/regress_update.yaml";
  const std::string platform =
      std::string(CIMTLM_SOURCE_DIR) + "/configs/platforms/edge_1core.yaml";
  write_text(suite,
             "# kept by --update\n"
             "cases:\n"
             "  - name: edge   # the smallest platform\n"
             "    platform: " +
                 platform +
                 "\n"
                 "    figures: [cim.macs]\n"
                 "    expected:\n"
                 "      sim.cycles: 1\n"
                 "  - name: edge_slow_issue\n"
                 "    platform: " +
                 platform +
                 "\n"
                 "    set: {core.controller.command_cycles: 8}\n");
  const CliResult stale = run_cimtlm({"regress", suite});
  EXPECT_EQ(stale.exit_status, 1) << stale.out << stale.err;
  const CliResult update = run_cimtlm({"regress", suite, "--update"});
  ASSERT_EQ(update.exit_status, 0) << update.out << update.err;
  const std::string text = read_text(suite);
  EXPECT_EQ(text.rfind("# kept by --update\n", 0), 0u) << text;
  EXPECT_NE(text.find("# the smallest platform"), std::string::npos) << text;
  EXPECT_EQ(text.find("sim.cycles: 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cim.macs: "), std::string::npos) << text;
  EXPECT_NE(text.find("outputs: fnv1a64:"), std::string::npos) << text;
  const CliResult passing = run_cimtlm({"regress", suite});
  EXPECT_EQ(passing.exit_status, 0) << passing.out << passing.err;
  EXPECT_NE(passing.out.find(": PASS"), std::string::npos) << passing.out;
}

TEST(Regress, BadSuiteNamesFileLineAndKey) {
  const std::string suite = kOutput + "/regress_bad.yaml";
  write_text(suite, "cases:\n  - name: a\n    platform: ../../nowhere.yaml\n");
  CliResult result = run_cimtlm({"regress", suite});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("regress_bad.yaml:3:15: cases[0].platform: no such file"),
            std::string::npos)
      << result.err;
  write_text(suite, "cases:\n  - name: a\n    platfrom: x.yaml\n");
  result = run_cimtlm({"regress", suite});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(result.err.find("regress_bad.yaml:3:5: cases[0].platfrom: unknown key"),
            std::string::npos)
      << result.err;
  const std::string platform =
      std::string(CIMTLM_SOURCE_DIR) + "/configs/platforms/edge_1core.yaml";
  write_text(suite, "cases:\n  - name: a\n    platform: " + platform +
                        "\n    expected:\n      sim.cycles: many\n");
  result = run_cimtlm({"regress", suite});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE(
      result.err.find("regress_bad.yaml:5:19: cases[0].expected.sim.cycles: expected a number"),
      std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace cimtlm::testing
