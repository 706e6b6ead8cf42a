#include "models/power/scenario_memories.h"

#include <algorithm>
#include <vector>

namespace cimtlm::power {

namespace {
sc_core::sc_time at_seconds(double seconds) {
  return sc_core::sc_time(seconds * 1e12, sc_core::SC_PS);
}
}  // namespace

ScenarioMemories::ScenarioMemories(const std::vector<ScenarioMemoryLevel>& levels, int cores,
                                   double clock_hz, kernel::TemperatureSource& temperature,
                                   kernel::StatGroup& stats, uint64_t seed,
                                   const std::string& module_prefix)
    : specs_(levels), cores_(cores), clock_(clock_hz) {
  for (size_t i = 0; i < levels.size(); ++i) {
    const auto& spec = levels[i];
    auto level = std::make_unique<memory::MemoryLevel>(
        (module_prefix + spec.params.name).c_str(), spec.params, clock_,
        stats.child(spec.params.name, "memory"), temperature, nullptr, seed + i);
    if (spec.resident_bytes > 0) {
      // The resident weights: rows that hold data, tracked for retention from t = 0.
      const uint64_t bytes = std::min<uint64_t>(spec.resident_bytes, spec.params.capacity_bytes);
      const std::vector<uint8_t> image(static_cast<size_t>(bytes), 0x5a);
      level->write_image(0, image.data(), image.size());
    }
    levels_.push_back(std::move(level));
  }
}

ScenarioMemories::~ScenarioMemories() = default;

void ScenarioMemories::set_gated(bool gated, double time_s) {
  for (size_t i = 0; i < levels_.size(); ++i) {
    if (specs_[i].gate_when_idle) levels_[i]->set_gated(gated, at_seconds(time_s));
  }
}

void ScenarioMemories::sample_temperature(double time_s) {
  for (auto& level : levels_) level->sample_temperature(at_seconds(time_s));
}

double ScenarioMemories::refresh_power_w(double temperature_k, bool gated) const {
  double watts = 0.0;
  for (const auto& spec : specs_) {
    const auto& p = spec.params;
    if (p.static_cell || !p.refresh_enabled || (gated && spec.gate_when_idle)) continue;
    // Every row once per (1 - margin) t_ret(T), as the refresh controller does.
    const double period_s = (1.0 - p.refresh_margin) * p.retention_s(temperature_k);
    watts += static_cast<double>(p.rows()) * p.refresh_energy_pj_per_row * 1e-12 / period_s;
  }
  return watts * cores_;
}

double ScenarioMemories::wakeup_energy_j() const {
  double joules = 0.0;
  for (const auto& spec : specs_) {
    if (spec.gate_when_idle) joules += spec.params.wakeup_energy_pj * 1e-12;
  }
  return joules * cores_;
}

double ScenarioMemories::wakeup_latency_s() const {
  int cycles = 0;
  for (const auto& spec : specs_) {
    if (spec.gate_when_idle) cycles = std::max(cycles, spec.params.wakeup_cycles);
  }
  return static_cast<double>(cycles) * clock_.period().to_seconds();
}

void ScenarioMemories::finalize(double end_s) {
  for (auto& level : levels_) level->finalize(at_seconds(end_s));
}

}  // namespace cimtlm::power
