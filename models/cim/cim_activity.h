// Energy and latency of one macro per input bit-plane versus input-bit activity, the quantity
// NeuroSim reports per sub-array operation (README "Calibration"). A seeded random weight tile
// fills the macro; every input bit is 1 with probability `activity` (Bernoulli, as NeuroSim's
// activityRowRead); the macro runs dense vectors and the figures are divided by the input bits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/cim/cim_area.h"
#include "models/cim/cim_params.h"

namespace cimtlm::cim {

struct CimActivityOptions {
  std::vector<double> activities;  // empty: 0, 0.1, ..., 1
  int64_t vectors_per_point = 32;
  int weight_bits = 8;
  int input_bits = 8;
  double clock_hz = 1.0e9;
  uint64_t seed = 1;
};

struct CimActivityPoint {
  double activity = 0.0;           // target probability of an input bit being 1
  double measured_activity = 0.0;  // fraction of input bits that were 1
  // Per input bit-plane over the whole tile, pJ.
  double total_pj = 0.0;  // dynamic + leakage
  double adc_pj = 0.0;
  double array_pj = 0.0;    // word lines and bit lines
  double digital_pj = 0.0;  // shift-add and zero-point correction
  double leakage_pj = 0.0;
  double latency_cycles = 0.0;
  double latency_ns = 0.0;
};

// Runs the sweep (sparsity detection is turned off: NeuroSim's sub-array is dense); writes the
// CSV when `csv_path` is not empty (std::runtime_error if it cannot, std::invalid_argument for bad
// parameters or options).
std::vector<CimActivityPoint> run_activity_sweep(const CimMacroParams& params,
                                                 const CimActivityOptions& options,
                                                 const std::string& csv_path);

}  // namespace cimtlm::cim
