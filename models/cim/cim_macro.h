// The CIM macro as a SystemC/TLM-2.0 target: a memory-mapped device (registers, weight window,
// input and output buffers: cim_job.h) whose jobs CimArrayModel executes.
//
// Loosely timed: a job starts at the initiator's local time (sc_time_stamp() + delay) or when the
// macro becomes free, whichever is later, runs to completion in b_transport, and its duration is
// added to `delay`. Nothing ticks per cycle. Statistics are registered once in the given group;
// VCD changes (busy, active_rows, adc_busy) are recorded at job granularity with explicit
// picosecond timestamps.
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <string>
#include <vector>
#include <systemc>
#include <tlm>

#include "models/cim/cim_array_model.h"
#include "models/cim/cim_job.h"
#include "models/cim/cim_params.h"
#include "models/kernel/stats.h"
#include "models/kernel/time.h"
#include "models/kernel/vcd.h"

namespace cimtlm::cim {

class CimMacro : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<CimMacro> target{"target"};

  // Throws std::invalid_argument when params.validate() fails.
  CimMacro(const sc_core::sc_module_name& name, const CimMacroParams& params,
           const kernel::Clock& clock, kernel::StatGroup& stats, kernel::VcdTrace* trace);

  // Accounts leakage for [0, end). Called by end_of_simulation with sc_time_stamp() unless the
  // platform called it first (with the largest local time of its temporally decoupled cores).
  void finalize(const sc_core::sc_time& end);

  CimArrayModel& model() { return model_; }
  const CimArrayModel& model() const { return model_; }
  // When the last job ends (local time).
  const sc_core::sc_time& busy_until() const { return busy_until_; }
  // Message of the last rejected job (response TLM_GENERIC_ERROR_RESPONSE), empty if none.
  const std::string& last_error() const { return last_error_; }

 private:
  void b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay);
  // Runs the job the registers describe on `data` (weights or inputs; the staged buffer when
  // null); false (with last_error_) when the macro rejects it.
  bool run_job(const uint8_t* data, sc_core::sc_time& delay);
  void registers_access(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay);
  uint32_t& reg(map::Register offset) { return registers_[offset / 4]; }
  void end_of_simulation() override;
  void record(const CimCounts& counts, const sc_core::sc_time& duration);

  CimArrayModel model_;
  kernel::Clock clock_;
  sc_core::sc_time busy_until_ = sc_core::SC_ZERO_TIME;
  bool finalized_ = false;
  std::string last_error_;
  // The memory map's state: registers and the staged buffers of register-driven jobs.
  uint32_t registers_[map::kRegisterBytes / 4] = {};
  std::vector<uint8_t> weight_window_, input_buffer_;
  std::vector<uint8_t> zero_points_;  // int32 little-endian, as written
  std::vector<int32_t> output_buffer_;
  int64_t output_cols_ = 0;

  // Statistics (stable references into the stats tree).
  uint64_t& macs_;
  uint64_t& vectors_;
  uint64_t& rows_applied_;
  uint64_t& zero_inputs_;
  uint64_t& rows_disabled_;
  uint64_t& sparse_vectors_;
  uint64_t& row_blocks_;
  uint64_t& row_blocks_skipped_;
  uint64_t& activations_;
  uint64_t& adc_conversions_;
  uint64_t& compensation_conversions_;
  uint64_t& compensations_;
  uint64_t& weight_writes_;
  uint64_t& weight_cells_written_;
  uint64_t& jobs_;
  uint64_t& job_errors_;
  double& input_sparsity_;
  double& rows_disabled_fraction_;
  double& busy_ns_;
  double& busy_cycles_;
  double& energy_array_pj_;
  double& energy_adc_pj_;
  double& energy_digital_pj_;
  double& energy_detection_pj_;
  double& energy_compensation_pj_;
  double& energy_write_pj_;
  double& energy_leakage_pj_;
  double sparsity_sum_ = 0.0;

  // VCD (null when tracing is off).
  kernel::VcdSignal* busy_signal_ = nullptr;
  kernel::VcdSignal* active_rows_signal_ = nullptr;
  kernel::VcdSignal* adc_busy_signal_ = nullptr;
};

}  // namespace cimtlm::cim
