// Energy and latency of one macro versus input sparsity (README "Sparsity sweep").
//
// For each target sparsity, zero-input pattern and mode the sweep applies seeded random vectors
// to a seeded random weight tile and reports per-vector energy and latency. Modes: "unaware" is
// the macro with sparsity_threshold = 1 (no detector, nothing disabled); "blocks" and "rows" are
// the macro as given with activation_packing "blocks" or "rows". Patterns: "random" scatters
// the zero inputs over the rows; "clustered" puts as many as possible in whole row blocks (like
// ReLU-zeroed channels of an im2col patch).
// Every point also checks the outputs against a direct integer dot product (max_abs_error).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/cim/cim_params.h"

namespace cimtlm::cim {

struct CimSweepOptions {
  std::vector<double> sparsities;  // empty: 0, 0.05, ..., 0.95
  int64_t vectors_per_point = 64;
  int64_t tile_rows = 0;  // 0: every row of the macro
  int64_t tile_cols = 0;  // 0: every logical column at weight_bits
  int weight_bits = 8;
  int input_bits = 8;
  bool inputs_signed = false;
  // An asymmetric uint8 activation (zero point 128) exercises the compensation; ReLU outputs
  // (zero point 0) need none.
  int32_t input_zero_point = 128;
  double clock_hz = 1.0e9;  // to report nanoseconds
  uint64_t seed = 1;
};

struct CimSweepPoint {
  double target_sparsity = 0.0;
  std::string pattern;  // "random" or "clustered"
  std::string mode;     // "unaware", "blocks" or "rows"
  double measured_sparsity = 0.0;
  double rows_disabled_fraction = 0.0;
  double blocks_skipped_fraction = 0.0;
  double energy_pj_per_vector = 0.0;  // dynamic + leakage over the vector's latency
  double array_pj_per_vector = 0.0;
  double adc_pj_per_vector = 0.0;
  double digital_pj_per_vector = 0.0;
  double detection_pj_per_vector = 0.0;
  double compensation_pj_per_vector = 0.0;
  double leakage_pj_per_vector = 0.0;
  double latency_cycles_per_vector = 0.0;
  double latency_ns_per_vector = 0.0;
  double adc_conversions_per_vector = 0.0;
  double pj_per_mac = 0.0;
  int64_t max_abs_error = 0;
};

// Runs the sweep; writes the CSV when `csv_path` is not empty (throws std::runtime_error when it
// cannot be written, std::invalid_argument for bad parameters or options).
std::vector<CimSweepPoint> run_sparsity_sweep(const CimMacroParams& params,
                                              const CimSweepOptions& options,
                                              const std::string& csv_path);

}  // namespace cimtlm::cim
