// Parameters of the silicon arithmetic unit (defaults and their sources: platforms/schema.yaml).
#pragma once

#include <cstdint>
#include <string>

namespace cimtlm::arith {

struct ArithParams {
  int simd_lanes = 16;                 // 8-bit lanes; b-bit operations use simd_lanes * 8 / b lanes
  uint64_t accumulator_bytes = 65536;  // int32 partial-sum memory
  uint64_t pipeline_cycles = 4;        // fill latency per operation
  double accumulate_energy_pj = 0.1;
  double requantize_energy_pj = 4.6;
  double lookup_energy_pj = 0.05;
  double eltwise_energy_pj = 5.5;
  double pool_energy_pj = 0.03;
  double softmax_energy_pj = 10.0;
  double leakage_mw = 0.2;
  // Silicon area on the base layer, under the OS memories.
  double lane_area_um2 = 880.0;                 // one 8-bit SIMD lane's share of the datapath
  double accumulator_area_um2_per_bit = 0.181;  // SRAM cell and periphery

  double datapath_area_um2() const { return lane_area_um2 * simd_lanes; }
  double accumulator_area_um2() const {
    return accumulator_area_um2_per_bit * 8.0 * static_cast<double>(accumulator_bytes);
  }

  // Empty when valid, else a message naming the bad field.
  std::string validate() const;
};

}  // namespace cimtlm::arith
