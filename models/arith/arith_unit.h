// The silicon arithmetic unit of a core: int32 accumulator memory, requantization, activation
// lookup tables, quantized element-wise operations, pooling and softmax.
//
// This is the datapath; ArithDevice (arith_device.h) puts it behind a TLM target socket with a
// memory map (arith_map.h), through which the core's controller moves operands, parameters and
// results. Every operation computes real values with the arithmetic of
// compiler/graph/quantized_math.h, re-implemented here as the hardware does it, so a difference
// from the reference executor is a hardware-model bug that the comparison finds.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/arith/arith_params.h"
#include "models/core/program.h"
#include "models/kernel/busy_tracer.h"
#include "models/kernel/stats.h"
#include "models/kernel/time.h"
#include "models/kernel/vcd.h"
#include "models/kernel/zeroed_array.h"

namespace cimtlm::arith {

class ArithUnit {
 public:
  ArithUnit(const ArithParams& params, kernel::StatGroup& stats, kernel::VcdTrace* trace,
            const std::vector<std::string>& vcd_scope);

  const ArithParams& params() const { return params_; }

  // `count` accumulators of `bits` bits from entry `first` on (an accumulator memory of
  // accumulator_bytes holds accumulator_bytes * 8 / bits entries; they are simulated as int32);
  // throws std::out_of_range when the span leaves the memory (a compiler defect: programs must
  // respect accumulator_bytes).
  int32_t* accumulators(uint64_t first, uint64_t count, int bits = 32);

  // Each operation computes into `out` and returns the cycles it occupies the unit.

  // Requantize acc[v * stride + c] (+ bias[c]) into 8-bit codes (or int32 when the output type is
  // Int32). `column_major` orders the results [c][v] instead of [v][c].
  uint64_t requantize(const core::Requantize& command, bool column_major,
                      std::vector<uint8_t>& out);
  uint64_t lookup(const core::Lookup& command, const uint8_t* in, std::vector<uint8_t>& out);
  uint64_t eltwise(const core::Eltwise& command, const uint8_t* a, const uint8_t* b,
                   std::vector<uint8_t>& out);
  uint64_t pool(const core::Pool& command, const uint8_t* in, std::vector<uint8_t>& out);
  uint64_t softmax(const core::Softmax& command, const uint8_t* in, std::vector<uint8_t>& out);
  uint64_t quantize(const core::Quantize& command, const uint8_t* in, std::vector<uint8_t>& out);
  uint64_t dequantize(const core::Dequantize& command, const uint8_t* in,
                      std::vector<uint8_t>& out);
  uint64_t gather(const core::Gather& command, const uint8_t* table, const uint8_t* indices,
                  std::vector<uint8_t>& out);
  // A kernel op (program.h): runs the compiler's kernel on the operands and charges the unit for
  // its float32 operations, 8-bit multiply-accumulates and requantizations.
  uint64_t kernel_op(const core::KernelOp& command, const std::vector<const uint8_t*>& inputs,
                     std::vector<std::vector<uint8_t>>& outputs);
  // Cycles an accumulation of `count` int32 partial sums takes (used by the CIM path).
  uint64_t accumulate_cycles(uint64_t count, int bits = 32);
  // accumulators[v * stride + c] (+)= partials[v][c] at full width (wrapping like a hardware
  // adder); a store (accumulate false) takes no cycles of the unit, an addition its cycles.
  uint64_t accumulate(const int32_t* partials, int64_t vectors, int64_t cols, int32_t* accumulators,
                      int64_t stride, bool accumulate);
  // Batched accumulation with rescaling: acc[v * stride + c] (+)= round_half_even(partial[v][c] /
  // 2^shift), saturating at `bits`; returns the cycles it takes.
  uint64_t accumulate_rescaled(const int32_t* partials, int64_t vectors, int64_t cols,
                               int32_t* accumulators, int64_t stride, int shift, int bits,
                               bool accumulate);

  // Marks the unit busy in the VCD over [start_ps, end_ps).
  void trace_busy(uint64_t start_ps, uint64_t end_ps) { busy_trace_.busy(start_ps, end_ps); }
  // Leakage over the simulated time and the last trace interval; called once at the end.
  void finalize(double simulated_ns);

 private:
  // Cycles of `elements` operations on `bits`-bit values: the SIMD datapath holds simd_lanes
  // 8-bit lanes, i.e. simd_lanes * 8 / bits lanes of wider values.
  uint64_t simd_cycles(uint64_t elements, int bits, uint64_t cycles_per_element = 1) const;
  uint64_t account_requantize(uint64_t count);

  ArithParams params_;
  kernel::ZeroedArray<int32_t> accumulators_;  // zero pages on first touch (zeroed_array.h)
  uint64_t& operations_;
  uint64_t& elements_;
  uint64_t& saturations_;
  double& busy_cycles_;
  double& energy_accumulate_;
  double& energy_requantize_;
  double& energy_lookup_;
  double& energy_eltwise_;
  double& energy_pool_;
  double& energy_softmax_;
  double& energy_kernel_ops_;
  double& energy_leakage_;
  kernel::BusyTracer busy_trace_;
  std::vector<uint8_t> tile_;  // requantize's block of results before the [c][v] transpose
};

}  // namespace cimtlm::arith
