// VCD tracing at transaction granularity.
//
// Loosely-timed cores run ahead of the SystemC kernel (temporal decoupling), so a module knows
// the *local* time of an event, which is later than sc_time_stamp(). sc_trace samples signals at
// kernel time and would put those events at the wrong time; this writer instead takes explicit
// timestamps, buffers the changes and writes them sorted when the simulation ends.
//
// Tracing is off by default and costs nothing when off: modules hold a `VcdSignal*` that stays
// null unless the platform was built with a VcdTrace, and guard each change with `if (signal)`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/kernel/prefault.h"

namespace cimtlm::kernel {

class VcdTrace;

class VcdSignal {
 public:
  // Records that the signal takes `value` from `time_ps` on.
  void set(uint64_t time_ps, uint64_t value);
  unsigned width() const { return width_; }

 private:
  friend class VcdTrace;
  VcdSignal(VcdTrace* trace, uint32_t index, unsigned width)
      : trace_(trace), index_(index), width_(width) {}
  VcdTrace* trace_;
  uint32_t index_;
  unsigned width_;
};

class VcdTrace {
 public:
  VcdTrace();
  ~VcdTrace();
  VcdTrace(const VcdTrace&) = delete;
  VcdTrace& operator=(const VcdTrace&) = delete;

  // Declares a signal in a scope (e.g. {"chip", "core0", "cim1"}); `group` names the GTKWave
  // group the signal is shown in: by default the scope without its top level ("core0.cim1"), so
  // that an architect sees one group per block of each core. Width 1..64 bits.
  VcdSignal* add_signal(const std::vector<std::string>& scope, const std::string& name,
                        unsigned width, uint64_t initial_value = 0, const std::string& group = "");

  // Writes the VCD file (timescale 1 ps) and returns false with errno set on I/O failure.
  bool write_vcd(const std::string& path) const;
  // Writes a GTKWave save file that opens `vcd_path` with the signals grouped by `group`.
  bool write_gtkw(const std::string& path, const std::string& vcd_path) const;

  size_t signal_count() const { return signals_.size(); }
  size_t change_count() const { return change_count_; }

 private:
  friend class VcdSignal;
  struct Declaration {
    std::vector<std::string> scope;
    std::string name;
    std::string group;
    unsigned width;
    uint64_t initial_value;
    std::string code;  // VCD identifier code
  };
  // Changes at the same time keep their recording order (write_vcd sorts stably).
  struct Change {
    uint64_t time_ps;
    uint64_t value;
    uint32_t signal;
  };
  // The change log in fixed-size chunks: a long run appends millions of changes, and a single
  // vector would copy all of them each time it grows (that doubled a traced run's host time).
  static constexpr size_t kChunk = size_t{1} << 16;
  void record(const Change& change) {
    if (change_count_ % kChunk == 0) {
      // Not value-initialised: zeroing a whole chunk would touch pages a short run never uses.
      chunks_.push_back(std::unique_ptr<Change[]>(new Change[kChunk]));
      prefault(chunks_.back().get(), kChunk * sizeof(Change));
    }
    chunks_.back()[change_count_ % kChunk] = change;
    ++change_count_;
  }
  const Change& change(size_t index) const { return chunks_[index / kChunk][index % kChunk]; }

  std::vector<std::unique_ptr<VcdSignal>> handles_;
  std::vector<Declaration> signals_;
  std::vector<std::unique_ptr<Change[]>> chunks_;
  size_t change_count_ = 0;
};

// Inline: modules call it for every traced change.
inline void VcdSignal::set(uint64_t time_ps, uint64_t value) {
  trace_->record({time_ps, value, index_});
}

// The scope of a SystemC object's hierarchical name ("chip.core0.cim1" -> {"chip", "core0",
// "cim1"}).
std::vector<std::string> scope_of(const std::string& hierarchical_name);

}  // namespace cimtlm::kernel
