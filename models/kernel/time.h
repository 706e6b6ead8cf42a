// Cycle and time helpers shared by every model.
#pragma once

#include <cstdint>

#include <systemc>

namespace cimtlm::kernel {

// A clock domain: converts cycles to SystemC time and back. Models compute how many cycles an
// operation takes and annotate the corresponding time; nothing ticks every cycle.
class Clock {
 public:
  Clock() = default;
  explicit Clock(double frequency_hz)
      : period_(sc_core::sc_time(1.0e12 / frequency_hz, sc_core::SC_PS)) {}
  explicit Clock(const sc_core::sc_time& period) : period_(period) {}

  const sc_core::sc_time& period() const { return period_; }
  sc_core::sc_time cycles(uint64_t count) const { return period_ * static_cast<double>(count); }
  // Whole cycles elapsed in `time` (rounded down).
  uint64_t to_cycles(const sc_core::sc_time& time) const {
    return static_cast<uint64_t>(time / period_ + 1e-9);
  }
  // Cycles needed to cover `time` (rounded up).
  uint64_t cycles_to_cover(const sc_core::sc_time& time) const {
    const double exact = time / period_;
    const auto whole = static_cast<uint64_t>(exact);
    return (exact - static_cast<double>(whole)) > 1e-9 ? whole + 1 : whole;
  }

 private:
  sc_core::sc_time period_{1, sc_core::SC_NS};
};

// Picoseconds of a SystemC time, independent of the kernel's time resolution.
inline uint64_t to_ps(const sc_core::sc_time& time) {
  return static_cast<uint64_t>(time.to_seconds() * 1e12 + 0.5);
}
inline double to_ns(const sc_core::sc_time& time) { return time.to_seconds() * 1e9; }

}  // namespace cimtlm::kernel
