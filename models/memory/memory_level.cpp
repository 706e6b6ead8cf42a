#include "models/memory/memory_level.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace cimtlm::memory {

void MemoryLevel::UnmapDeleter::operator()(uint8_t* pointer) const {
  if (pointer != nullptr) munmap(pointer, bytes);
}

namespace {

// Warnings printed per level under the "warn" policy before further ones are only counted.
constexpr int kWarningsPrinted = 10;

// SplitMix64: a fast, well-mixed hash for deterministic per-cell draws from the seed.
uint64_t mix(uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

uint64_t hash_name(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a
  for (char c : text) hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return hash;
}

std::string format_time(const sc_core::sc_time& time) {
  std::ostringstream out;
  const double seconds = time.to_seconds();
  if (seconds >= 1.0) {
    out << seconds << " s";
  } else if (seconds >= 1e-3) {
    out << seconds * 1e3 << " ms";
  } else if (seconds >= 1e-6) {
    out << seconds * 1e6 << " us";
  } else {
    out << seconds * 1e9 << " ns";
  }
  return out.str();
}

const MemoryLevelParams& validated(const MemoryLevelParams& params) {
  const std::string problem = params.validate();
  if (!problem.empty()) throw std::invalid_argument(problem);
  return params;
}

}  // namespace

std::string RetentionEvent::message() const {
  std::ostringstream out;
  out << "retention violation: memory level '" << level << "' address 0x" << std::hex << address
      << std::dec << " at " << format_time(time) << " (row last written/refreshed at "
      << format_time(restored_at) << ", " << std::setprecision(4) << retention_used
      << " x its retention at " << temperature_k - kZeroCelsiusK << " °C; policy "
      << to_string(policy) << ")";
  return out.str();
}

MemoryLevel::MemoryLevel(const sc_core::sc_module_name& name, const MemoryLevelParams& params,
                         const kernel::Clock& clock, kernel::StatGroup& stats,
                         kernel::TemperatureSource& temperature, kernel::VcdTrace* vcd,
                         uint64_t seed, uint64_t base_address)
    : sc_core::sc_module(name),
      params_(validated(params)),
      clock_(clock),
      temperature_(temperature),
      seed_(seed),
      base_address_(base_address),
      level_key_(mix(seed ^ hash_name(params.name))),
      period_ps_(kernel::to_ps(clock.period())),
      hop_ps_(period_ps_ * static_cast<uint64_t>(params.vertical_hop_cycles) *
              static_cast<uint64_t>(params.off_chip ? 0 : params.stack_layer)),
      refresh_ps_(period_ps_ * static_cast<uint64_t>(params.refresh_cycles_per_row)),
      wakeup_ps_(period_ps_ * static_cast<uint64_t>(params.wakeup_cycles)),
      gate_entry_ps_(period_ps_ * static_cast<uint64_t>(params.gate_entry_cycles)),
      rows_(params.rows()),
      all_banks_mask_(params.banks >= 64 ? ~0ULL : (1ULL << params.banks) - 1),
      timeline_(params_, period_ps_ * static_cast<uint64_t>(params.refresh_cycles_per_row),
                temperature.temperature_k(sc_core::SC_ZERO_TIME)),
      reads_(stats.count("reads", "read transactions")),
      writes_(stats.count("writes", "write transactions")),
      bytes_read_(stats.count("bytes_read", "bytes read")),
      bytes_written_(stats.count("bytes_written", "bytes written")),
      refreshes_(stats.count("refreshes", "row refreshes (periodic and at wake-up)")),
      retention_violations_(
          stats.count("retention_violations", "rows read after their retention ran out")),
      decayed_bits_(stats.count("decayed_bits", "bits flipped by retention loss (inject)")),
      wakeups_(stats.count("wakeups", "wake-ups from power gating")),
      gate_entries_(stats.count("gate_entries", "entries into power gating")),
      dmi_grants_(stats.count("dmi_grants", "direct memory interface pointers granted")),
      power_gated_ns_(stats.time_ns("power_gated_ns", "time spent power gated")),
      bank_busy_ns_(stats.time_ns("bank_busy_ns", "bank time busy with accesses, summed")),
      refresh_busy_ns_(stats.time_ns("refresh_busy_ns", "bank time busy refreshing, summed")),
      contention_wait_ns_(
          stats.time_ns("contention_wait_ns", "time accesses waited for busy banks")),
      refresh_wait_ns_(stats.time_ns("refresh_wait_ns", "time accesses waited for refreshes")),
      wakeup_wait_ns_(stats.time_ns("wakeup_wait_ns", "time accesses waited for wake-up")),
      access_energy_pj_(stats.energy_pj("access_energy_pj", kernel::EnergyCategory::Memory,
                                        "read and write energy")),
      vertical_hop_energy_pj_(stats.energy_pj("vertical_hop_energy_pj",
                                              kernel::EnergyCategory::Memory,
                                              "energy of crossing stacked layers")),
      refresh_energy_pj_(stats.energy_pj("refresh_energy_pj", kernel::EnergyCategory::Memory,
                                         "row refresh energy")),
      wakeup_energy_pj_(stats.energy_pj("wakeup_energy_pj", kernel::EnergyCategory::Memory,
                                        "wake-up energy after power gating")),
      gate_entry_energy_pj_(stats.energy_pj("gate_entry_energy_pj", kernel::EnergyCategory::Memory,
                                            "energy of entering power gating (hold bias)")),
      leakage_energy_pj_(stats.energy_pj(
          "leakage_energy_pj", kernel::EnergyCategory::Leakage,
          "static energy: leakage while powered and the residual while gated, at temperature")) {
  const double resolution_ps = sc_core::sc_get_time_resolution().to_seconds() * 1e12;
  if (resolution_ps >= 1.0) {
    resolution_ps_ = static_cast<uint64_t>(std::llround(resolution_ps));
  } else {
    resolution_div_ = static_cast<uint64_t>(std::llround(1.0 / resolution_ps));
  }

  // Zero pages mapped lazily: untouched bytes cost neither time nor resident memory.
  const size_t storage_bytes = std::max<size_t>(1, params_.capacity_bytes);
  void* pages = mmap(nullptr, storage_bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (pages == MAP_FAILED) throw std::bad_alloc();
  storage_ = std::unique_ptr<uint8_t, UnmapDeleter>(static_cast<uint8_t*>(pages),
                                                    UnmapDeleter{storage_bytes});
  rows_state_ = kernel::ZeroedArray<RowState>(rows_);
  bank_free_ps_.assign(static_cast<size_t>(params_.banks), 0);

  target.register_b_transport(this, &MemoryLevel::b_transport);
  target.register_transport_dbg(this, &MemoryLevel::transport_dbg);
  target.register_get_direct_mem_ptr(this, &MemoryLevel::get_direct_mem_ptr);

  if (vcd != nullptr) {
    const auto scope = kernel::scope_of(this->name());
    vcd_refresh_ = vcd->add_signal(scope, "refresh", 1);
    vcd_gated_ = vcd->add_signal(scope, "gated", 1);
    for (int bank = 0; bank < params_.banks; ++bank) {
      vcd_bank_busy_.push_back(vcd->add_signal(scope, "bank" + std::to_string(bank) + "_busy", 1));
    }
  }
}

uint64_t MemoryLevel::ps_of(const sc_core::sc_time& time) const {
  return resolution_div_ > 1 ? time.value() / resolution_div_ : time.value() * resolution_ps_;
}

sc_core::sc_time MemoryLevel::time_of_ps(uint64_t ps) const {
  return sc_core::sc_time::from_value(resolution_div_ > 1 ? ps * resolution_div_
                                                          : ps / resolution_ps_);
}

double MemoryLevel::temperature_at_ps(uint64_t time_ps) const {
  return temperature_.temperature_k(time_of_ps(time_ps));
}

double MemoryLevel::retention_s_at(const sc_core::sc_time& at) const {
  const uint64_t retention = timeline_.retention_ps_at(ps_of(at));
  return retention >= RetentionTimeline::kInfinitePs ? std::numeric_limits<double>::infinity()
                                                     : static_cast<double>(retention) * 1e-12;
}

void MemoryLevel::sample_temperature(const sc_core::sc_time& at) {
  const uint64_t time_ps = ps_of(at);
  timeline_.sample(time_ps, temperature_at_ps(time_ps));
}

bool MemoryLevel::check_payload(tlm::tlm_generic_payload& trans) const {
  const uint64_t address = trans.get_address();
  const uint64_t length = trans.get_data_length();
  if (trans.get_command() == tlm::TLM_IGNORE_COMMAND) {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);  // no extension commands
    return false;
  }
  if (address >= params_.capacity_bytes || length > params_.capacity_bytes - address) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  if (address % static_cast<uint64_t>(params_.alignment_bytes) != 0) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  if (trans.get_byte_enable_ptr() != nullptr && trans.get_byte_enable_length() > 0) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  if (trans.get_streaming_width() < length) {
    trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  if (length > 0 && trans.get_data_ptr() == nullptr) {
    trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return false;
  }
  return true;
}

uint64_t MemoryLevel::skip_refresh_windows(uint64_t time_ps, uint64_t bank_mask) const {
  if (!timeline_.refreshing()) return time_ps;
  const auto banks = static_cast<uint64_t>(params_.banks);
  bool moved = true;
  while (moved) {
    moved = false;
    // Windows are equally long and start in slot order: walk back until one ended before t.
    for (uint64_t slot = timeline_.slots_through(time_ps); slot-- > 0;) {
      const uint64_t start = timeline_.slot_time(slot);
      if (start == RetentionTimeline::kNever || start + refresh_ps_ <= time_ps) break;
      if ((bank_mask >> (slot % banks)) & 1U) {
        time_ps = start + refresh_ps_;
        moved = true;
        break;
      }
    }
  }
  return time_ps;
}

uint64_t MemoryLevel::refresh_windows_starting(uint64_t from_ps, uint64_t to_ps,
                                               uint64_t bank_mask) const {
  // Windows of the masked banks that start in (from, to).
  if (!timeline_.refreshing() || to_ps <= from_ps + 1) return 0;
  const uint64_t first = timeline_.slots_through(from_ps);
  const uint64_t last = timeline_.slots_through(to_ps - 1);
  if (last <= first) return 0;
  if (bank_mask == all_banks_mask_) return last - first;
  const auto banks = static_cast<uint64_t>(params_.banks);
  uint64_t count = 0;
  for (uint64_t bank = 0; bank < banks; ++bank) {
    if (!((bank_mask >> bank) & 1U)) continue;
    // Slots m in [first, last) with m % banks == bank.
    auto below = [&](uint64_t x) { return (x + banks - 1 - bank) / banks; };
    count += below(last) - below(first);
  }
  return count;
}

uint64_t MemoryLevel::reserve(uint64_t offset, uint64_t length, bool is_write, uint64_t bank_ps,
                              uint64_t& start_ps) {
  const auto row_bytes = static_cast<uint64_t>(params_.row_bytes);
  const auto banks = static_cast<uint64_t>(params_.banks);
  const uint64_t first_row = offset / row_bytes;
  const uint64_t last_row = (offset + std::max<uint64_t>(length, 1) - 1) / row_bytes;
  const uint64_t row_count = last_row - first_row + 1;
  uint64_t bank_mask = all_banks_mask_;
  if (row_count < banks) {
    bank_mask = 0;
    for (uint64_t row = first_row; row <= last_row; ++row) bank_mask |= 1ULL << (row % banks);
  }

  uint64_t ready = bank_ps;
  if (wake_ready_ps_ > ready) {
    wakeup_wait_ns_ += static_cast<double>(wake_ready_ps_ - ready) * 1e-3;
    ready = wake_ready_ps_;
  }
  uint64_t free_at = ready;
  for (uint64_t mask = bank_mask; mask != 0; mask &= mask - 1) {
    free_at = std::max(free_at, bank_free_ps_[static_cast<size_t>(__builtin_ctzll(mask))]);
  }
  contention_wait_ns_ += static_cast<double>(free_at - ready) * 1e-3;

  const uint64_t beats = length == 0
                             ? 1
                             : (length + static_cast<uint64_t>(params_.bytes_per_cycle) - 1) /
                                   static_cast<uint64_t>(params_.bytes_per_cycle);
  const uint64_t service_ps =
      period_ps_ *
      (static_cast<uint64_t>(is_write ? params_.write_cycles : params_.read_cycles) + beats - 1);
  // No refresh slot up to the end of the access (short runs of long-retention levels): no
  // window to skip or to stall for.
  const bool no_refresh_yet = timeline_.slots_through(free_at + service_ps) == 0;
  uint64_t start = no_refresh_yet ? free_at : skip_refresh_windows(free_at, bank_mask);
  // Refreshes of the touched banks that start during the access interrupt it.
  uint64_t stalls = 0;
  uint64_t end = start + service_ps;
  for (; !no_refresh_yet;) {
    const uint64_t windows = refresh_windows_starting(start, end, bank_mask);
    if (windows == stalls) break;
    stalls = windows;
    end = start + service_ps + stalls * refresh_ps_;
  }
  refresh_wait_ns_ += static_cast<double>(start - free_at + stalls * refresh_ps_) * 1e-3;

  uint64_t touched = 0;
  for (uint64_t mask = bank_mask; mask != 0; mask &= mask - 1) {
    const auto bank = static_cast<size_t>(__builtin_ctzll(mask));
    ++touched;
    bank_free_ps_[bank] = end;
    if (!vcd_bank_busy_.empty()) {
      vcd_bank_busy_[bank]->set(start, 1);
      vcd_bank_busy_[bank]->set(end, 0);
    }
  }
  bank_busy_ns_ += static_cast<double>((end - start) * touched) * 1e-3;
  start_ps = start;
  return end;
}

uint64_t MemoryLevel::effective_restore_ps(uint64_t row, uint64_t time_ps) const {
  uint64_t restored = rows_state_[row].restored_ps;
  const uint64_t refreshed = timeline_.last_refresh_of_row(row, time_ps);
  if (refreshed != RetentionTimeline::kNever && refreshed > restored) restored = refreshed;
  return restored;
}

void MemoryLevel::record_violation(uint64_t row, uint64_t address, uint64_t time_ps,
                                   uint64_t restored_ps, double used) {
  RowState& state = rows_state_[row];
  if (state.flags & kReported) return;
  state.flags |= kReported;
  ++retention_violations_;
  RetentionEvent event;
  event.level = params_.name;
  event.address = base_address_ + address;
  event.time = time_of_ps(time_ps);
  event.restored_at = time_of_ps(restored_ps);
  event.retention_used = used;
  event.temperature_k = timeline_.temperature_k_at(time_ps);
  event.policy = params_.on_retention_violation;
  if (params_.on_retention_violation == RetentionPolicy::Warn &&
      warnings_printed_ < kWarningsPrinted) {
    ++warnings_printed_;
    std::string text = event.message();
    if (warnings_printed_ == kWarningsPrinted) text += " (further violations are only counted)";
    SC_REPORT_WARNING("cimtlm/memory/retention", text.c_str());
  }
  if (events_.size() < static_cast<size_t>(params_.max_recorded_violations)) {
    events_.push_back(std::move(event));
  }
}

bool MemoryLevel::check_row(uint64_t row, uint64_t address, uint64_t time_ps) {
  RowState& state = rows_state_[row];
  if (!(state.flags & kWritten)) return false;
  uint64_t restored = effective_restore_ps(row, time_ps);
  double used = 0;
  if (state.flags & kLost) {
    // Lost while gated (found at wake-up): report against the write or refresh it last had.
    restored = state.restored_ps;
    used = std::max(1.0, timeline_.consumed(restored, time_ps));
  } else if (!params_.static_cell && timeline_.expired(restored, time_ps)) {
    used = timeline_.consumed(restored, time_ps);
    if (params_.on_retention_violation == RetentionPolicy::Inject) {
      decayed_bits_ += decay_row(row, used);
    }
  } else {
    return false;
  }
  record_violation(row, address, time_ps, restored, used);
  if (params_.on_retention_violation == RetentionPolicy::Error) error_in_access_ = true;
  return true;
}

uint64_t MemoryLevel::decay_row(uint64_t row, double used) {
  if (used < 1.0) return 0;
  // A cell fails when used >= 1 + spread * E with E = -ln(u): u >= exp(-(used - 1) / spread).
  const double threshold = std::exp(-(used - 1.0) / params_.decay_spread);
  const auto row_bytes = static_cast<uint64_t>(params_.row_bytes);
  uint8_t* bytes = storage_.get() + row * row_bytes;
  uint64_t flipped = 0;
  for (uint64_t byte = 0; byte < row_bytes; ++byte) {
    if (bytes[byte] == 0) continue;  // only charged cells ('1') lose their state
    for (unsigned bit = 0; bit < 8; ++bit) {
      if (!((bytes[byte] >> bit) & 1U)) continue;
      const uint64_t cell = (row * row_bytes + byte) * 8 + bit;
      const double u = static_cast<double>(mix(level_key_ ^ mix(cell)) >> 11) * 0x1.0p-53;
      if (u >= threshold) {
        bytes[byte] = static_cast<uint8_t>(bytes[byte] & ~(1U << bit));
        ++flipped;
      }
    }
  }
  return flipped;
}

uint64_t MemoryLevel::scramble_row(uint64_t row) {
  const auto row_bytes = static_cast<uint64_t>(params_.row_bytes);
  uint8_t* bytes = storage_.get() + row * row_bytes;
  uint64_t flipped = 0;
  for (uint64_t byte = 0; byte < row_bytes; ++byte) {
    const auto power_up =
        static_cast<uint8_t>(mix(level_key_ ^ mix(row * row_bytes + byte) ^ 0x5eedULL));
    flipped +=
        static_cast<uint64_t>(__builtin_popcount(static_cast<unsigned>(bytes[byte] ^ power_up)));
    bytes[byte] = power_up;
  }
  return flipped;
}

void MemoryLevel::mark_restored(uint64_t offset, uint64_t length, uint64_t time_ps) {
  if (length == 0) return;
  const auto row_bytes = static_cast<uint64_t>(params_.row_bytes);
  for (uint64_t row = offset / row_bytes; row <= (offset + length - 1) / row_bytes; ++row) {
    RowState& state = rows_state_[row];
    state.restored_ps = std::max(state.restored_ps, time_ps);
    state.flags = kWritten;
  }
}

void MemoryLevel::wake(uint64_t time_ps) {
  if (!gated_) return;
  time_ps = std::max({time_ps, gated_since_ps_, timeline_.latest_change_ps()});
  gated_total_ps_ += time_ps - gated_since_ps_;
  gated_ = false;
  const double temperature = temperature_at_ps(time_ps);
  timeline_.set_gated(time_ps, false, temperature);
  if (vcd_gated_) vcd_gated_->set(time_ps, 0);
  ++wakeups_;
  wakeup_energy_pj_ += params_.wakeup_energy_pj;

  const bool inject = params_.on_retention_violation == RetentionPolicy::Inject;
  uint64_t burst = 0;
  if (params_.static_cell) {
    // Power was removed: the latches lost their state.
    for (uint64_t row = 0; row < rows_; ++row) {
      RowState& state = rows_state_[row];
      if (dmi_written_) state.flags |= kWritten;  // DMI writes are not tracked per row
      if (!(state.flags & kWritten) || (state.flags & kLost)) continue;
      state.flags |= kLost;
      any_lost_ = true;
      if (inject) decayed_bits_ += scramble_row(row);
    }
    // Every row a DMI write could have reached is now marked; no pointer is out while gated.
    dmi_written_ = false;
  } else if (timeline_.refreshing()) {
    // Rows that expired while gated are lost; rows that would expire before the pointer reaches
    // them are refreshed now (a burst of refreshes after the wake-up).
    const double retention_ps = static_cast<double>(timeline_.retention_ps_at(time_ps));
    const double limit = 1.0 - params_.refresh_margin / 2;
    for (uint64_t row = 0; row < rows_; ++row) {
      RowState& state = rows_state_[row];
      if (!(state.flags & kWritten)) continue;
      const uint64_t restored = effective_restore_ps(row, time_ps);
      if (state.flags & kLost) continue;
      if (timeline_.expired(restored, time_ps)) {
        // The burst rewrites what is left; the row keeps its last good restore time for the
        // report, and the lost flag until it is written again.
        state.flags |= kLost;
        state.restored_ps = restored;
        any_lost_ = true;
        if (inject) decayed_bits_ += decay_row(row, timeline_.consumed(restored, time_ps));
        ++burst;
        continue;
      }
      const uint64_t next = timeline_.next_refresh_of_row(row, time_ps);
      const double projected =
          timeline_.consumed(restored, time_ps) +
          (next == RetentionTimeline::kNever ? 0.0
                                             : static_cast<double>(next - time_ps) / retention_ps);
      if (projected >= limit) {
        state.restored_ps = time_ps;
        ++burst;
      }
    }
  }
  // Dynamic cells without refresh: expiries are found on read; nothing to do at wake-up.
  burst_refreshes_ += burst;
  const auto banks = static_cast<uint64_t>(params_.banks);
  const uint64_t burst_ps = (burst + banks - 1) / banks * refresh_ps_;
  wake_ready_ps_ = time_ps + wakeup_ps_ + burst_ps;
  if (vcd_refresh_ && burst > 0) {
    vcd_refresh_->set(time_ps + wakeup_ps_, 1);
    vcd_refresh_->set(wake_ready_ps_, 0);
  }
}

void MemoryLevel::set_gated(bool gated, const sc_core::sc_time& at) {
  uint64_t time_ps = ps_of(at);
  if (!gated) {
    wake(time_ps);
    return;
  }
  if (gated_) return;
  // Gating waits for accesses and a wake-up in progress, then the bias generator charges the
  // hold rail: the level is gated (and stops leaking in full) gate_entry_cycles later.
  for (uint64_t free_at : bank_free_ps_) time_ps = std::max(time_ps, free_at);
  time_ps = std::max({time_ps, wake_ready_ps_, timeline_.latest_change_ps()});
  ++gate_entries_;
  gate_entry_energy_pj_ += params_.gate_entry_energy_pj;
  if (vcd_gated_ && gate_entry_ps_ > 0) vcd_gated_->set(time_ps, 1);
  time_ps += gate_entry_ps_;
  gated_ = true;
  gated_since_ps_ = time_ps;
  timeline_.set_gated(time_ps, true, temperature_at_ps(time_ps));
  if (vcd_gated_) vcd_gated_->set(time_ps, 1);
  if (dmi_granted_) {
    // dmi_written_ stays: the wake-up marks the rows DMI writes may have filled.
    target->invalidate_direct_mem_ptr(0, params_.capacity_bytes - 1);
    dmi_granted_ = false;
  }
}

void MemoryLevel::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (!check_payload(trans)) return;
  const bool is_write = trans.get_command() == tlm::TLM_WRITE_COMMAND;
  const uint64_t offset = trans.get_address();
  const uint64_t length = trans.get_data_length();
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const uint64_t now_ps = ps_of(now);
  const uint64_t bank_ps = ps_of(now + delay) + hop_ps_;

  timeline_.sample(bank_ps, temperature_at_ps(bank_ps));
  if (gated_) wake(bank_ps);
  uint64_t start_ps = 0;
  const uint64_t end_ps = reserve(offset, length, is_write, bank_ps, start_ps);

  error_in_access_ = false;
  const auto row_bytes = static_cast<uint64_t>(params_.row_bytes);
  const double bits = static_cast<double>(length) * 8.0;
  if (length > 0) {
    const uint64_t first_row = offset / row_bytes;
    const uint64_t last_row = (offset + length - 1) / row_bytes;
    if (is_write) {
      // A write covering part of a row is a read-modify-write of that row.
      for (uint64_t row = first_row; row <= last_row; ++row) {
        const uint64_t row_begin = row * row_bytes;
        const bool partial = offset > row_begin || offset + length < row_begin + row_bytes;
        if (partial) check_row(row, std::max(offset, row_begin), start_ps);
      }
      std::memcpy(storage_.get() + offset, trans.get_data_ptr(), length);
      mark_restored(offset, length, start_ps);
    } else {
      for (uint64_t row = first_row; row <= last_row; ++row) {
        check_row(row, std::max(offset, row * row_bytes), start_ps);
      }
      std::memcpy(trans.get_data_ptr(), storage_.get() + offset, length);
    }
  }
  if (is_write) {
    ++writes_;
    bytes_written_ += length;
    access_energy_pj_ += bits * params_.write_energy_pj_per_bit;
  } else {
    ++reads_;
    bytes_read_ += length;
    access_energy_pj_ += bits * params_.read_energy_pj_per_bit;
  }
  if (!params_.off_chip) {
    vertical_hop_energy_pj_ +=
        bits * params_.vertical_hop_energy_pj_per_bit * static_cast<double>(params_.stack_layer);
  }
  delay = time_of_ps(end_ps - now_ps);
  trans.set_dmi_allowed(params_.static_cell && !gated_ && !any_lost_);
  if (error_in_access_) {
    trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    if (!stop_requested_) {
      stop_requested_ = true;
      sc_core::sc_stop();
    }
  } else {
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
  }
}

unsigned int MemoryLevel::transport_dbg(tlm::tlm_generic_payload& trans) {
  const uint64_t address = trans.get_address();
  const uint64_t length = trans.get_data_length();
  if (address >= params_.capacity_bytes || trans.get_data_ptr() == nullptr) return 0;
  const uint64_t count = std::min<uint64_t>(length, params_.capacity_bytes - address);
  if (trans.get_command() == tlm::TLM_READ_COMMAND) {
    std::memcpy(trans.get_data_ptr(), storage_.get() + address, count);
  } else if (trans.get_command() == tlm::TLM_WRITE_COMMAND) {
    std::memcpy(storage_.get() + address, trans.get_data_ptr(), count);
    mark_restored(address, count, ps_of(sc_core::sc_time_stamp()));
  } else {
    return 0;
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return static_cast<unsigned int>(count);
}

bool MemoryLevel::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  // DMI bypasses timing, statistics and retention checks, so it is granted only where no
  // retention effect can alter or lose data behind its back: static cells (SRAM) that are
  // powered and never lost data. Dynamic levels (nosram, dosram, dram) never grant DMI.
  dmi.set_start_address(0);
  dmi.set_end_address(params_.capacity_bytes - 1);
  if (!params_.static_cell || gated_ || any_lost_) {
    dmi.allow_none();
    return false;
  }
  dmi.set_dmi_ptr(storage_.get());
  // Read-only or read-write as the request asks: only a write pointer can fill rows untracked.
  if (trans.get_command() == tlm::TLM_WRITE_COMMAND) {
    dmi.allow_read_write();
    dmi_written_ = true;
  } else {
    dmi.allow_read();
  }
  dmi.set_read_latency(
      time_of_ps(period_ps_ * static_cast<uint64_t>(params_.read_cycles) + hop_ps_));
  dmi.set_write_latency(
      time_of_ps(period_ps_ * static_cast<uint64_t>(params_.write_cycles) + hop_ps_));
  dmi_granted_ = true;
  ++dmi_grants_;
  return true;
}

bool MemoryLevel::write_image(uint64_t offset, const uint8_t* data, size_t bytes) {
  if (offset > params_.capacity_bytes || bytes > params_.capacity_bytes - offset) return false;
  if (bytes == 0) return true;
  std::memcpy(storage_.get() + offset, data, bytes);
  mark_restored(offset, bytes, ps_of(sc_core::sc_time_stamp()));
  return true;
}

bool MemoryLevel::read_image(uint64_t offset, uint8_t* data, size_t bytes) const {
  if (offset > params_.capacity_bytes || bytes > params_.capacity_bytes - offset) return false;
  if (bytes > 0) std::memcpy(data, storage_.get() + offset, bytes);
  return true;
}

void MemoryLevel::finalize(const sc_core::sc_time& end) {
  const uint64_t end_ps = std::max(ps_of(end), finalized_end_ps_);
  finalized_end_ps_ = end_ps;
  const uint64_t gated_ps =
      gated_total_ps_ + (gated_ && end_ps > gated_since_ps_ ? end_ps - gated_since_ps_ : 0);
  power_gated_ns_ = static_cast<double>(gated_ps) * 1e-3;
  // Leakage at the temperature of each phase, and the residual while gated.
  leakage_energy_pj_ = timeline_.static_energy_pj(end_ps);

  const uint64_t slots = timeline_.slots_through(end_ps);
  refreshes_ = slots + burst_refreshes_;
  refresh_energy_pj_ = static_cast<double>(refreshes_) * params_.refresh_energy_pj_per_row;
  refresh_busy_ns_ = static_cast<double>(refreshes_ * refresh_ps_) * 1e-3;
  if (vcd_refresh_) {
    for (uint64_t slot = vcd_refresh_slots_emitted_; slot < slots; ++slot) {
      const uint64_t start = timeline_.slot_time(slot);
      vcd_refresh_->set(start, 1);
      vcd_refresh_->set(start + refresh_ps_, 0);
    }
    vcd_refresh_slots_emitted_ = std::max(vcd_refresh_slots_emitted_, slots);
  }
}

LevelActivity MemoryLevel::activity() const {
  LevelActivity activity;
  activity.reads = reads_;
  activity.writes = writes_;
  activity.bytes_read = bytes_read_;
  activity.bytes_written = bytes_written_;
  activity.refreshes = refreshes_;
  activity.wakeups = wakeups_;
  activity.retention_violations = retention_violations_;
  activity.simulated_ns = static_cast<double>(finalized_end_ps_) * 1e-3;
  activity.gated_ns = power_gated_ns_;
  activity.powered_ns = activity.simulated_ns - activity.gated_ns;
  activity.access_energy_pj = access_energy_pj_;
  activity.vertical_hop_energy_pj = vertical_hop_energy_pj_;
  activity.refresh_energy_pj = refresh_energy_pj_;
  activity.wakeup_energy_pj = wakeup_energy_pj_;
  activity.gate_entry_energy_pj = gate_entry_energy_pj_;
  activity.leakage_energy_pj = leakage_energy_pj_;
  return activity;
}

}  // namespace cimtlm::memory
