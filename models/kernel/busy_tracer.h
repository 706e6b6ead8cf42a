// Records a unit's busy intervals on a 1-bit VCD signal, merging intervals that overlap or touch.
// Temporally decoupled units report intervals out of order of kernel time but in order of their
// start; merging keeps the trace readable (one high stretch while work is back to back).
#pragma once

#include <cstdint>

#include "models/kernel/vcd.h"

namespace cimtlm::kernel {

class BusyTracer {
 public:
  explicit BusyTracer(VcdSignal* signal = nullptr) : signal_(signal) {}
  bool enabled() const { return signal_ != nullptr; }

  void busy(uint64_t start_ps, uint64_t end_ps) {
    if (!signal_ || end_ps <= start_ps) return;
    if (open_ && start_ps <= end_ps_) {
      if (end_ps > end_ps_) end_ps_ = end_ps;
      return;
    }
    flush();
    open_ = true;
    start_ps_ = start_ps;
    end_ps_ = end_ps;
  }

  // Writes the last open interval; call at the end of simulation.
  void flush() {
    if (!open_) return;
    signal_->set(start_ps_, 1);
    signal_->set(end_ps_, 0);
    open_ = false;
  }

 private:
  VcdSignal* signal_;
  bool open_ = false;
  uint64_t start_ps_ = 0;
  uint64_t end_ps_ = 0;
};

}  // namespace cimtlm::kernel
