// The retention clock and the refresh schedule of one memory level, computed lazily.
//
// Retention. A stored charge is consumed at the rate 1 / t_ret(T(t)). A row restored (written
// or refreshed) at t0 has lost its data at t1 when  Phi(t1) - Phi(t0) >= 1,  with
// Phi(t) = integral of dt / t_ret(T). At a constant temperature this is exactly
// "age >= t_ret(T)", and it is evaluated in integer picoseconds so that the expiry is exact to
// the picosecond. The temperature is sampled at accesses; a new segment starts when it moved by
// more than temperature_step_k.
//
// Refresh. The controller walks a pointer over the rows: slot m refreshes row m % rows (in bank
// m % banks) and slots are `interval = floor((1 - margin) * t_ret(T) / rows)` apart, so every
// row is refreshed once per (1 - margin) * t_ret(T). When the temperature changes the pointer
// keeps its place and only its speed changes; therefore the retention consumed between two
// refreshes of a row stays <= 1 - margin for any temperature history. While the level is gated
// the pointer stops. No SystemC process runs per refresh: the time of any slot is computed.
//
// The timeline is a list of phases; a phase starts at a gating change or a temperature change.
#pragma once

#include <cstdint>
#include <vector>

#include "models/memory/memory_params.h"

namespace cimtlm::memory {

class RetentionTimeline {
 public:
  static constexpr uint64_t kNever = ~0ULL;
  // Retention longer than this (~53 days of simulated time) is treated as infinite.
  static constexpr uint64_t kInfinitePs = 1ULL << 62;

  // Starts at time 0, ungated, at `initial_temperature_k`. `refresh_duration_ps` is the bank
  // occupancy of one row refresh (used to check that the controller can keep up).
  RetentionTimeline(const MemoryLevelParams& params, uint64_t refresh_duration_ps,
                    double initial_temperature_k);

  // A temperature reading at `time_ps`; starts a new phase if it moved by more than the step.
  // Readings at or before the start of the latest phase are ignored (temporal decoupling).
  void sample(uint64_t time_ps, double temperature_k) {
    if (time_ps > phases_.back().start_ps) sample_later(time_ps, temperature_k);
  }
  void set_gated(uint64_t time_ps, bool gated, double temperature_k);
  bool gated() const { return phases_.back().gated; }
  // Start of the latest phase: gating changes earlier than this are moved to it.
  uint64_t latest_change_ps() const { return phases_.back().start_ps; }

  uint64_t retention_ps_at(uint64_t time_ps) const;
  double temperature_k_at(uint64_t time_ps) const;
  // Retention consumed between t0 and t1 (fraction of the retention time, t1 >= t0).
  double consumed(uint64_t t0_ps, uint64_t t1_ps) const;
  // True when a charge restored at t0 is lost at t1 (exact at constant temperature).
  // Inline when t0 is in the latest group of equal retention (nearly every access).
  bool expired(uint64_t t0_ps, uint64_t t1_ps) const {
    const Phase& latest = phases_.back();
    if (t0_ps < latest.group_start_ps) return expired_across(t0_ps, t1_ps);
    if (params_.static_cell || t1_ps <= t0_ps || latest.retention_ps >= kInfinitePs) return false;
    return t1_ps - t0_ps >= latest.retention_ps;  // exact to the picosecond
  }

  // Refresh slots (none when refresh is disabled or the cells are static).
  bool refreshing() const { return refresh_enabled_; }
  uint64_t rows() const { return rows_; }
  int banks() const { return banks_; }
  // Number of slots with time <= t. Inline for the latest phase (where nearly every access
  // falls): no search of the phases.
  uint64_t slots_through(uint64_t time_ps) const {
    if (!refresh_enabled_) return 0;
    const Phase& latest = phases_.back();
    return slots_in(time_ps >= latest.start_ps ? latest : phases_[phase_of(time_ps)], time_ps);
  }
  // Time of slot m; kNever if the pointer has not reached it (gated now). Slots past the
  // latest phase start are projected at the current speed.
  uint64_t slot_time(uint64_t slot) const;
  // Last refresh of `row` at or before t (kNever: none) and the next one at or after t.
  uint64_t last_refresh_of_row(uint64_t row, uint64_t time_ps) const {
    const uint64_t done = slots_through(time_ps);
    return done == 0 ? kNever : last_refresh_among(row, done);
  }
  uint64_t next_refresh_of_row(uint64_t row, uint64_t time_ps) const;
  // Slot spacing at time t (0 while gated or without refresh).
  uint64_t interval_ps_at(uint64_t time_ps) const;
  // Static energy of the whole level from 0 to `end_ps`, in pJ: per phase, the leakage at its
  // temperature (powered, or the residual while gated) times its length.
  double static_energy_pj(uint64_t end_ps) const;

 private:
  struct Phase {
    uint64_t start_ps = 0;
    double temperature_k = 0;
    bool gated = false;
    uint64_t retention_ps = 0;
    // Consecutive phases with equal retention form a group: Phi is exact inside a group.
    uint64_t group_start_ps = 0;
    double group_consumed = 0;  // Phi at group_start_ps
    // Refresh pointer.
    uint64_t interval_ps = 0;       // slot spacing, 0 = no slots in this phase
    uint64_t first_slot = 0;        // first slot not done before this phase
    uint64_t first_slot_ps = 0;     // its time (phases with slots)
    double pending_fraction = 1.0;  // phases without slots: part of an interval left to run
  };

  size_t phase_of(uint64_t time_ps) const {
    return time_ps >= phases_.back().start_ps ? phases_.size() - 1 : earlier_phase_of(time_ps);
  }
  size_t earlier_phase_of(uint64_t time_ps) const;
  void sample_later(uint64_t time_ps, double temperature_k);
  bool expired_across(uint64_t t0_ps, uint64_t t1_ps) const;
  // The last refresh of `row` among the first `done` (> 0) slots.
  uint64_t last_refresh_among(uint64_t row, uint64_t done) const;
  static uint64_t slots_in(const Phase& phase, uint64_t time_ps) {
    if (phase.interval_ps == 0 || time_ps < phase.first_slot_ps) return phase.first_slot;
    return phase.first_slot + (time_ps - phase.first_slot_ps) / phase.interval_ps + 1;
  }
  double phi(const Phase& phase, uint64_t time_ps) const;
  uint64_t retention_ps_for(double temperature_k, bool gated) const;
  uint64_t interval_for(uint64_t retention_ps, bool gated) const;
  void begin_phase(uint64_t time_ps, double temperature_k, bool gated);
  Phase next_phase(const Phase& previous, uint64_t time_ps, double temperature_k, bool gated) const;

  MemoryLevelParams params_;
  uint64_t rows_;
  int banks_;
  bool refresh_enabled_;
  uint64_t refresh_duration_ps_;
  std::vector<Phase> phases_;
};

}  // namespace cimtlm::memory
