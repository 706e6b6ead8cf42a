// One level of the memory hierarchy: a TLM-2.0 target with functional storage, per-row retention
// tracking, a lazily computed refresh controller, bank reservations and power gating that keeps
// data (see README.md for the equations and the timing of a transaction).
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/kernel/environment.h"
#include "models/kernel/stats.h"
#include "models/kernel/time.h"
#include "models/kernel/vcd.h"
#include "models/kernel/zeroed_array.h"
#include "models/memory/level_activity.h"
#include "models/memory/memory_params.h"
#include "models/memory/retention_timeline.h"

namespace cimtlm::memory {

// A read (or read-modify-write) of a row whose retention had run out.
struct RetentionEvent {
  std::string level;
  uint64_t address = 0;          // hierarchy address of the first byte accessed in the row
  sc_core::sc_time time;         // when the bank sensed the row
  sc_core::sc_time restored_at;  // its last write or refresh
  double retention_used = 0;     // consumed retention, >= 1 (fraction of t_ret)
  double temperature_k = 0;      // at `time`
  RetentionPolicy policy = RetentionPolicy::Error;
  // "retention violation: level 'act' address 0x200000040 at 12.3 us (...)".
  std::string message() const;
};

class MemoryLevel : public sc_core::sc_module {
 public:
  // Addresses on this socket are offsets inside the level, [0, capacity_bytes).
  tlm_utils::simple_target_socket<MemoryLevel> target{"target"};

  // `stats` is this level's own group; `base_address` is only used to name addresses in
  // retention events (the hierarchy's address of offset 0).
  MemoryLevel(const sc_core::sc_module_name& name, const MemoryLevelParams& params,
              const kernel::Clock& clock, kernel::StatGroup& stats,
              kernel::TemperatureSource& temperature, kernel::VcdTrace* vcd, uint64_t seed,
              uint64_t base_address = 0);

  const MemoryLevelParams& params() const { return params_; }

  // Power gating. Gating waits for accesses in progress, costs gate_entry_energy_pj and takes
  // gate_entry_cycles (still leaking); a gated level draws only gated_leakage_pw_per_bit (the
  // hold-bias generator) and is not refreshed, its dynamic cells keep their data while their
  // gated retention lasts (static SRAM cells lose them). Waking (here or implicitly on the next
  // access) costs wakeup_cycles and wakeup_energy_pj, plus a refresh of the rows that would
  // otherwise expire before the refresh pointer reaches them.
  void set_gated(bool gated, const sc_core::sc_time& at);
  bool gated() const { return gated_; }

  // Backdoor (untimed, no statistics): preload and inspect. Written rows count as restored at
  // the current kernel time. False when the range is outside the level.
  bool write_image(uint64_t offset, const uint8_t* data, size_t bytes);
  bool read_image(uint64_t offset, uint8_t* data, size_t bytes) const;

  const std::vector<RetentionEvent>& violations() const { return events_; }
  // Closes the run at `end`: leakage, refresh counts and energy, gated time and VCD refresh
  // pulses are accounted up to `end`. Call once after sc_start (calling again recomputes).
  void finalize(const sc_core::sc_time& end);
  LevelActivity activity() const;

  // The temperature is read from the TemperatureSource at every access; a source that changes
  // between accesses (the thermal model) calls this so the change counts from `at` on.
  void sample_temperature(const sc_core::sc_time& at);
  // Retention time (seconds) at `at`, at the temperature the level sampled for that time.
  double retention_s_at(const sc_core::sc_time& at) const;

 private:
  struct RowState {
    uint64_t restored_ps = 0;  // last write or refresh outside the periodic schedule
    uint8_t flags = 0;
  };
  static constexpr uint8_t kWritten = 1;   // holds data (never-written rows are not tracked)
  static constexpr uint8_t kLost = 2;      // lost while gated (found at wake-up)
  static constexpr uint8_t kReported = 4;  // its violation was already counted
  // Storage from mmap: zero pages come lazily from the OS, so a chip of many cores with large
  // levels costs nothing for the bytes it never touches (calloc memsets reused heap memory).
  struct UnmapDeleter {
    size_t bytes;  // no initializer: default-constructible inside the enclosing class
    void operator()(uint8_t* pointer) const;
  };

  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);

  bool check_payload(tlm::tlm_generic_payload& trans) const;
  // Reserves the banks for an access arriving at the bank at `bank_ps`; returns its end and
  // sets `start_ps` (when the bank starts serving it, the time retention is checked).
  uint64_t reserve(uint64_t offset, uint64_t length, bool is_write, uint64_t bank_ps,
                   uint64_t& start_ps);
  uint64_t skip_refresh_windows(uint64_t time_ps, uint64_t bank_mask) const;
  uint64_t refresh_windows_starting(uint64_t from_ps, uint64_t to_ps, uint64_t bank_mask) const;
  // Retention check of one row at `time_ps`: true when the row's data are lost. Handles the
  // policy (events, decay, error flag).
  bool check_row(uint64_t row, uint64_t address, uint64_t time_ps);
  uint64_t effective_restore_ps(uint64_t row, uint64_t time_ps) const;
  void record_violation(uint64_t row, uint64_t address, uint64_t time_ps, uint64_t restored_ps,
                        double used);
  // Clears the bits of `row` whose own retention (1 + spread * Exp(1), drawn from the seed) is
  // below `used`; returns the number of bits that flipped.
  uint64_t decay_row(uint64_t row, double used);
  uint64_t scramble_row(uint64_t row);  // static cells after power loss: random power-up state
  void wake(uint64_t time_ps);
  void mark_restored(uint64_t offset, uint64_t length, uint64_t time_ps);
  double temperature_at_ps(uint64_t time_ps) const;

  uint64_t ps_of(const sc_core::sc_time& time) const;
  sc_core::sc_time time_of_ps(uint64_t ps) const;

  MemoryLevelParams params_;
  kernel::Clock clock_;
  kernel::TemperatureSource& temperature_;
  uint64_t seed_;
  uint64_t base_address_;
  uint64_t level_key_;
  uint64_t resolution_ps_ = 1;   // kernel time resolution in ps (>= 1), or
  uint64_t resolution_div_ = 1;  // divisor when the resolution is finer than 1 ps

  uint64_t period_ps_;
  uint64_t hop_ps_;
  uint64_t refresh_ps_;
  uint64_t wakeup_ps_;
  uint64_t gate_entry_ps_;
  uint64_t rows_;
  uint64_t all_banks_mask_;

  std::unique_ptr<uint8_t, UnmapDeleter> storage_;
  kernel::ZeroedArray<RowState> rows_state_;  // zero pages on first touch
  std::vector<uint64_t> bank_free_ps_;
  RetentionTimeline timeline_;

  bool gated_ = false;
  uint64_t gated_since_ps_ = 0;
  uint64_t gated_total_ps_ = 0;
  uint64_t wake_ready_ps_ = 0;
  uint64_t burst_refreshes_ = 0;
  uint64_t finalized_end_ps_ = 0;
  // A DMI pointer is out (gating must invalidate it).
  bool dmi_granted_ = false;
  // A read-write DMI pointer was out since the last power loss: rows written through it are not
  // tracked, so any row may hold data (a read-only pointer writes nothing).
  bool dmi_written_ = false;
  bool any_lost_ = false;
  bool error_in_access_ = false;
  bool stop_requested_ = false;
  int warnings_printed_ = 0;
  std::vector<RetentionEvent> events_;

  // Statistics (registered once; references stay valid).
  uint64_t& reads_;
  uint64_t& writes_;
  uint64_t& bytes_read_;
  uint64_t& bytes_written_;
  uint64_t& refreshes_;
  uint64_t& retention_violations_;
  uint64_t& decayed_bits_;
  uint64_t& wakeups_;
  uint64_t& gate_entries_;
  uint64_t& dmi_grants_;
  double& power_gated_ns_;
  double& bank_busy_ns_;
  double& refresh_busy_ns_;
  double& contention_wait_ns_;
  double& refresh_wait_ns_;
  double& wakeup_wait_ns_;
  double& access_energy_pj_;
  double& vertical_hop_energy_pj_;
  double& refresh_energy_pj_;
  double& wakeup_energy_pj_;
  double& gate_entry_energy_pj_;
  double& leakage_energy_pj_;

  // VCD (null when tracing is off).
  kernel::VcdSignal* vcd_refresh_ = nullptr;
  kernel::VcdSignal* vcd_gated_ = nullptr;
  std::vector<kernel::VcdSignal*> vcd_bank_busy_;
  uint64_t vcd_refresh_slots_emitted_ = 0;
};

}  // namespace cimtlm::memory
