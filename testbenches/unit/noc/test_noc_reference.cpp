// Validation against BookSim2 (cycle-accurate) on a 4x4 mesh with uniform random traffic
// (reference: /work/shared/reference/noc, copied next to this file): average latency within 10 %
// at every offered load of the reference (all below saturation), and the saturation point within
// 10 % of BookSim's latency knee, for 1-, 2- and 4-flit packets.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "models/noc/sweep.h"

namespace cimtlm::noc {
namespace {

struct ReferencePoint {
  int packet_flits;
  double offered;
  double latency;
  double accepted;
};

std::vector<ReferencePoint> load_reference() {
  std::ifstream file(NOC_REFERENCE_CSV);
  EXPECT_TRUE(file.good()) << NOC_REFERENCE_CSV;
  std::vector<ReferencePoint> points;
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    std::istringstream row(line);
    ReferencePoint point{};
    char comma = 0;
    row >> point.packet_flits >> comma >> point.offered >> comma >> point.latency >> comma >>
        point.accepted;
    if (row) points.push_back(point);
  }
  return points;
}

// BookSim's latency knee on this mesh (reference README): 0.53, 0.58 and 0.59-0.60.
double reference_saturation(int packet_flits) {
  return packet_flits == 1 ? 0.53 : packet_flits == 2 ? 0.58 : 0.595;
}

class NocReference : public ::testing::TestWithParam<int> {};

TEST_P(NocReference, LatencyWithinTenPercentBelowSaturation) {
  const int packet_flits = GetParam();
  NocParams params;  // the reference configuration: the NocParams defaults
  NocSweepOptions options;
  options.packet_flits = packet_flits;
  options.cycles = 20000;
  options.warmup = 5000;
  std::vector<ReferencePoint> reference;
  for (const ReferencePoint& point : load_reference()) {
    if (point.packet_flits == packet_flits) {
      reference.push_back(point);
      options.rates.push_back(point.offered);
    }
  }
  ASSERT_EQ(reference.size(), 6u);
  const std::vector<NocSweepPoint> points = run_sweep(params, options);
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_FALSE(points[i].saturated) << "offered " << reference[i].offered;
    EXPECT_LE(std::fabs(points[i].avg_latency_cycles - reference[i].latency),
              0.10 * reference[i].latency)
        << packet_flits << "-flit packets, offered " << reference[i].offered << ": "
        << points[i].avg_latency_cycles << " vs BookSim " << reference[i].latency;
    EXPECT_LE(std::fabs(points[i].accepted_flits_per_node_cycle - reference[i].accepted),
              0.10 * reference[i].accepted);
  }
}

TEST_P(NocReference, SaturationWithinTenPercent) {
  const int packet_flits = GetParam();
  NocParams params;
  NocSweepOptions options;
  options.packet_flits = packet_flits;
  options.cycles = 12000;
  options.warmup = 2000;
  const double saturation = find_saturation_rate(params, options, 0.01);
  const double expected = reference_saturation(packet_flits);
  EXPECT_LE(std::fabs(saturation - expected), 0.10 * expected)
      << packet_flits << "-flit packets: saturation " << saturation << " vs BookSim " << expected;
}

INSTANTIATE_TEST_SUITE_P(PacketSizes, NocReference, ::testing::Values(1, 2, 4));

}  // namespace
}  // namespace cimtlm::noc
