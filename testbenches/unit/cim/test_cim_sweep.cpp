// The sparsity sweep: its CSV, exact outputs at every point, and the trends it exists to show.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "models/cim/cim_sweep.h"

namespace cimtlm::cim {
namespace {

const CimSweepPoint& find(const std::vector<CimSweepPoint>& points, double sparsity,
                          const std::string& pattern, const std::string& mode) {
  for (const auto& point : points) {
    if (point.target_sparsity == sparsity && point.pattern == pattern && point.mode == mode)
      return point;
  }
  throw std::logic_error("no such sweep point");
}

TEST(CimSweep, WritesCsvAndShowsSavingsAboveTheThreshold) {
  CimSweepOptions options;
  options.sparsities = {0.0, 0.3, 0.6, 0.9};
  options.vectors_per_point = 6;
  const std::string path = testing::TempDir() + "cim_sweep.csv";
  const CimMacroParams params;  // threshold 0.5
  const auto points = run_sparsity_sweep(params, options, path);
  ASSERT_EQ(points.size(), 4u * 2 * 3);

  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("sparsity,pattern,mode,measured_sparsity,rows_disabled_fraction", 0), 0u);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 24);

  for (const auto& point : points) {
    EXPECT_EQ(point.max_abs_error, 0) << point.target_sparsity << point.pattern << point.mode;
    EXPECT_NEAR(point.measured_sparsity, point.target_sparsity, 0.5 / 256);
    const bool sparse =
        point.mode != "unaware" && point.measured_sparsity > params.sparsity_threshold;
    EXPECT_DOUBLE_EQ(point.rows_disabled_fraction, sparse ? point.measured_sparsity : 0.0);
  }
  for (const char* pattern : {"random", "clustered"}) {
    for (const char* mode : {"blocks", "rows"}) {
      SCOPED_TRACE(std::string(pattern) + " " + mode);
      const auto& aware = find(points, 0.9, pattern, mode);
      const auto& unaware = find(points, 0.9, pattern, "unaware");
      EXPECT_LT(aware.energy_pj_per_vector, 0.6 * unaware.energy_pj_per_vector);
      EXPECT_LT(aware.energy_pj_per_vector, find(points, 0.6, pattern, mode).energy_pj_per_vector);
      // Below the threshold awareness costs only the detector (and its leakage).
      const auto& low = find(points, 0.3, pattern, mode);
      const auto& low_unaware = find(points, 0.3, pattern, "unaware");
      EXPECT_NEAR(low.energy_pj_per_vector - low_unaware.energy_pj_per_vector,
                  low.detection_pj_per_vector + params.leakage_mw * params.detection_cycles, 1e-6);
      EXPECT_EQ(low.latency_cycles_per_vector - low_unaware.latency_cycles_per_vector,
                params.detection_cycles);
    }
  }
  // Time falls where activations can shrink: skipped blocks (clustered zeros) or packed rows.
  EXPECT_LT(find(points, 0.9, "clustered", "blocks").latency_cycles_per_vector,
            0.5 * find(points, 0.9, "clustered", "unaware").latency_cycles_per_vector);
  EXPECT_LT(find(points, 0.9, "random", "rows").latency_cycles_per_vector,
            0.5 * find(points, 0.9, "random", "unaware").latency_cycles_per_vector);
}

TEST(CimSweep, RejectsBadOptionsAndPaths) {
  CimSweepOptions options;
  options.sparsities = {0.5};
  options.vectors_per_point = 1;
  EXPECT_THROW(run_sparsity_sweep(CimMacroParams{}, options, "/nonexistent-dir/x.csv"),
               std::runtime_error);
  options.input_bits = 4;  // zero point 128 is not a 4-bit code
  EXPECT_THROW(run_sparsity_sweep(CimMacroParams{}, options, ""), std::invalid_argument);
  options.input_bits = 8;
  options.sparsities = {1.5};
  EXPECT_THROW(run_sparsity_sweep(CimMacroParams{}, options, ""), std::invalid_argument);
  CimMacroParams bad;
  bad.rows = 0;
  EXPECT_THROW(run_sparsity_sweep(bad, CimSweepOptions{}, ""), std::invalid_argument);
}

}  // namespace
}  // namespace cimtlm::cim
