#include "models/memory/retention_timeline.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace cimtlm::memory {

RetentionTimeline::RetentionTimeline(const MemoryLevelParams& params, uint64_t refresh_duration_ps,
                                     double initial_temperature_k)
    : params_(params),
      rows_(params.rows()),
      banks_(params.banks),
      refresh_enabled_(params.refresh_enabled && !params.static_cell),
      refresh_duration_ps_(refresh_duration_ps) {
  Phase first;
  first.start_ps = 0;
  first.temperature_k = initial_temperature_k;
  first.gated = false;
  first.retention_ps = retention_ps_for(initial_temperature_k, false);
  first.group_start_ps = 0;
  first.group_consumed = 0.0;
  first.interval_ps = interval_for(first.retention_ps, false);
  first.first_slot = 0;
  // Slot 0 one interval after the start: a row written at 0 is refreshed within the period.
  first.first_slot_ps = first.interval_ps;
  phases_.push_back(first);
}

uint64_t RetentionTimeline::retention_ps_for(double temperature_k, bool gated) const {
  if (params_.static_cell) return kInfinitePs;
  const double seconds = params_.retention_s(temperature_k, gated);
  const double picoseconds = seconds * 1e12;
  if (!(picoseconds < static_cast<double>(kInfinitePs))) return kInfinitePs;
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(picoseconds)));
}

uint64_t RetentionTimeline::interval_for(uint64_t retention_ps, bool gated) const {
  if (!refresh_enabled_ || gated) return 0;
  const double period_ps = static_cast<double>(retention_ps) * (1.0 - params_.refresh_margin);
  const auto interval = static_cast<uint64_t>(period_ps / static_cast<double>(rows_));
  // Each bank sees every banks-th slot: it must finish one refresh before its next one.
  if (interval * static_cast<uint64_t>(banks_) < refresh_duration_ps_) {
    std::ostringstream message;
    message << "memory level '" << params_.name
            << "': the refresh controller cannot keep up: " << rows_ / static_cast<uint64_t>(banks_)
            << " rows per bank x " << refresh_duration_ps_ * 1e-3
            << " ns exceed (1 - refresh_margin) x retention = " << period_ps * 1e-12 << " s";
    throw std::runtime_error(message.str());
  }
  return interval;
}

size_t RetentionTimeline::earlier_phase_of(uint64_t time_ps) const {
  auto after =
      std::upper_bound(phases_.begin(), phases_.end(), time_ps,
                       [](uint64_t time, const Phase& phase) { return time < phase.start_ps; });
  return after == phases_.begin() ? 0 : static_cast<size_t>(after - phases_.begin()) - 1;
}

double RetentionTimeline::phi(const Phase& phase, uint64_t time_ps) const {
  return phase.group_consumed + static_cast<double>(time_ps - phase.group_start_ps) /
                                    static_cast<double>(phase.retention_ps);
}

RetentionTimeline::Phase RetentionTimeline::next_phase(const Phase& previous, uint64_t time_ps,
                                                       double temperature_k, bool gated) const {
  Phase phase;
  phase.start_ps = time_ps;
  phase.temperature_k = temperature_k;
  phase.gated = gated;
  phase.retention_ps = retention_ps_for(temperature_k, gated);
  if (phase.retention_ps == previous.retention_ps) {
    phase.group_start_ps = previous.group_start_ps;
    phase.group_consumed = previous.group_consumed;
  } else {
    phase.group_start_ps = time_ps;
    phase.group_consumed = phi(previous, time_ps);
  }
  // Where the pointer stands at time_ps: the next slot and the part of an interval left.
  uint64_t next_slot = previous.first_slot;
  double fraction_left = previous.pending_fraction;
  if (previous.interval_ps > 0) {
    uint64_t next_time = previous.first_slot_ps;
    if (time_ps > previous.first_slot_ps) {
      const uint64_t steps =
          (time_ps - previous.first_slot_ps + previous.interval_ps - 1) / previous.interval_ps;
      next_slot += steps;
      next_time += steps * previous.interval_ps;
    }
    fraction_left =
        static_cast<double>(next_time - time_ps) / static_cast<double>(previous.interval_ps);
  }
  phase.interval_ps = interval_for(phase.retention_ps, gated);
  phase.first_slot = next_slot;
  phase.pending_fraction = fraction_left;
  if (phase.interval_ps > 0) {
    phase.first_slot_ps =
        time_ps +
        static_cast<uint64_t>(std::llround(fraction_left * static_cast<double>(phase.interval_ps)));
  }
  return phase;
}

void RetentionTimeline::begin_phase(uint64_t time_ps, double temperature_k, bool gated) {
  // A second change at the same instant replaces the phase that started there.
  if (time_ps == phases_.back().start_ps && phases_.size() > 1) phases_.pop_back();
  if (time_ps == phases_.back().start_ps) {
    // Only the very first phase can start at the same time: rebuild it in place.
    Phase& first = phases_.back();
    first.temperature_k = temperature_k;
    first.gated = gated;
    first.retention_ps = retention_ps_for(temperature_k, gated);
    first.interval_ps = interval_for(first.retention_ps, gated);
    first.first_slot_ps = first.start_ps + first.interval_ps;
    return;
  }
  phases_.push_back(next_phase(phases_.back(), time_ps, temperature_k, gated));
}

void RetentionTimeline::sample_later(uint64_t time_ps, double temperature_k) {
  const Phase& last = phases_.back();
  if (std::fabs(temperature_k - last.temperature_k) <= params_.temperature_step_k) return;
  begin_phase(time_ps, temperature_k, last.gated);
}

void RetentionTimeline::set_gated(uint64_t time_ps, bool gated, double temperature_k) {
  if (phases_.back().gated == gated) return;
  begin_phase(std::max(time_ps, phases_.back().start_ps), temperature_k, gated);
}

uint64_t RetentionTimeline::retention_ps_at(uint64_t time_ps) const {
  return phases_[phase_of(time_ps)].retention_ps;
}

double RetentionTimeline::temperature_k_at(uint64_t time_ps) const {
  return phases_[phase_of(time_ps)].temperature_k;
}

uint64_t RetentionTimeline::interval_ps_at(uint64_t time_ps) const {
  return phases_[phase_of(time_ps)].interval_ps;
}

double RetentionTimeline::static_energy_pj(uint64_t end_ps) const {
  double energy_pj = 0;
  for (size_t index = 0; index < phases_.size() && phases_[index].start_ps < end_ps; ++index) {
    const Phase& phase = phases_[index];
    const uint64_t stop =
        index + 1 < phases_.size() ? std::min(end_ps, phases_[index + 1].start_ps) : end_ps;
    // pW x s = pJ.
    energy_pj += params_.leakage_pw_per_bit_at(phase.temperature_k, phase.gated) * params_.bits() *
                 static_cast<double>(stop - phase.start_ps) * 1e-12;
  }
  return energy_pj;
}

double RetentionTimeline::consumed(uint64_t t0_ps, uint64_t t1_ps) const {
  if (t1_ps <= t0_ps) return 0.0;
  const Phase& p0 = phases_[phase_of(t0_ps)];
  const Phase& p1 = phases_[phase_of(t1_ps)];
  if (p0.group_start_ps == p1.group_start_ps) {
    return static_cast<double>(t1_ps - t0_ps) / static_cast<double>(p0.retention_ps);
  }
  return phi(p1, t1_ps) - phi(p0, t0_ps);
}

bool RetentionTimeline::expired_across(uint64_t t0_ps, uint64_t t1_ps) const {
  if (params_.static_cell || t1_ps <= t0_ps) return false;
  const Phase& p0 = phases_[phase_of(t0_ps)];
  const Phase& p1 = phases_[phase_of(t1_ps)];
  if (p0.group_start_ps == p1.group_start_ps) {
    if (p0.retention_ps >= kInfinitePs) return false;
    return t1_ps - t0_ps >= p0.retention_ps;  // exact to the picosecond
  }
  return phi(p1, t1_ps) - phi(p0, t0_ps) >= 1.0;
}

uint64_t RetentionTimeline::slot_time(uint64_t slot) const {
  if (!refresh_enabled_) return kNever;
  // The phase in which slot m ran: the last one whose first slot is <= m.
  auto after =
      std::upper_bound(phases_.begin(), phases_.end(), slot,
                       [](uint64_t m, const Phase& phase) { return m < phase.first_slot; });
  if (after == phases_.begin()) return kNever;
  const Phase& phase = *(after - 1);
  if (phase.interval_ps == 0) return kNever;
  return phase.first_slot_ps + (slot - phase.first_slot) * phase.interval_ps;
}

uint64_t RetentionTimeline::last_refresh_among(uint64_t row, uint64_t done) const {
  const uint64_t last = done - 1;
  if (last < row) return kNever;
  const uint64_t slot = last - ((last - row) % rows_);
  return slot_time(slot);
}

uint64_t RetentionTimeline::next_refresh_of_row(uint64_t row, uint64_t time_ps) const {
  if (!refresh_enabled_) return kNever;
  const uint64_t next = time_ps == 0 ? 0 : slots_through(time_ps - 1);
  const uint64_t slot = next + ((row + rows_ - next % rows_) % rows_);
  return slot_time(slot);
}

}  // namespace cimtlm::memory
