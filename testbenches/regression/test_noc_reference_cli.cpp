// `cimtlm noc` on configs/platforms/noc_reference_4x4.yaml against the BookSim2 reference
// (../shared/reference/noc, copied into testbenches/unit/noc): average latency within 10 % at
// every reference load (all below saturation) and the saturation point within 10 %, for 1-, 2-
// and 4-flit packets.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "testbenches/regression/cli_runner.h"

namespace cimtlm::testing {
namespace {

struct Row {
  double rate, latency, accepted;
};

std::vector<Row> parse_csv(const std::string& text, int packet_flits = 0) {
  std::vector<Row> rows;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream row(line);
    std::vector<double> values;
    std::string cell;
    while (std::getline(row, cell, ',')) values.push_back(std::stod(cell));
    if (packet_flits > 0) {
      if (values.size() == 4 && static_cast<int>(values[0]) == packet_flits) {
        rows.push_back({values[1], values[2], values[3]});
      }
    } else if (values.size() >= 3) {
      rows.push_back({values[0], values[1], values[2]});
    }
  }
  return rows;
}

// The latency knee: the first load at which the network accepts clearly less than is offered.
double saturation(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    if (row.accepted < 0.95 * row.rate) return row.rate;
  }
  return rows.empty() ? 0.0 : rows.back().rate;
}

class NocReferenceCli : public ::testing::TestWithParam<int> {};

TEST_P(NocReferenceCli, MatchesBookSim) {
  const int flits = GetParam();
  const std::vector<Row> reference = parse_csv(read_text(CIMTLM_NOC_REFERENCE_CSV), flits);
  ASSERT_FALSE(reference.empty());
  std::string rates;
  for (const Row& row : reference) rates += (rates.empty() ? "" : ",") + std::to_string(row.rate);
  const std::string csv = std::string(CIMTLM_TEST_OUTPUT_DIR) + "/noc_" + std::to_string(flits) + ".csv";
  const CliResult below = run_cimtlm({"noc", "configs/platforms/noc_reference_4x4.yaml", "--traffic",
                                      "uniform", "--packet-flits", std::to_string(flits), "--rates",
                                      rates, "--csv", csv});
  ASSERT_EQ(below.exit_status, 0) << below.err;
  EXPECT_EQ(read_text(csv).substr(0, read_text(csv).find('\n')),
            "rate,avg_latency_cycles,accepted_flits_per_node_cycle");
  const std::vector<Row> ours = parse_csv(read_text(csv));
  ASSERT_EQ(ours.size(), reference.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_NEAR(ours[i].latency, reference[i].latency, 0.10 * reference[i].latency)
        << flits << "-flit packets at " << reference[i].rate;
  }
  // Saturation: sweep finely across the knee.
  std::string knee_rates;
  for (double rate = 0.40; rate < 0.7001; rate += 0.01) {
    knee_rates += (knee_rates.empty() ? "" : ",") + std::to_string(rate);
  }
  const std::string knee_csv = csv + ".knee.csv";
  const CliResult knee = run_cimtlm({"noc", "configs/platforms/noc_reference_4x4.yaml",
                                     "--packet-flits", std::to_string(flits), "--rates", knee_rates,
                                     "--cycles", "12000", "--warmup", "3000", "--csv", knee_csv});
  ASSERT_EQ(knee.exit_status, 0) << knee.err;
  const double reference_knee = flits == 1 ? 0.53 : flits == 2 ? 0.58 : 0.595;
  EXPECT_NEAR(saturation(parse_csv(read_text(knee_csv))), reference_knee, 0.10 * reference_knee);
}

INSTANTIATE_TEST_SUITE_P(PacketSizes, NocReferenceCli, ::testing::Values(1, 2, 4));

}  // namespace
}  // namespace cimtlm::testing
