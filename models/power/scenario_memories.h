// The OS memories of a scenario: the SystemC memory levels (models/memory) of one core, driven
// in explicit time by the scenario engine (gating in idle gaps, temperature from the thermal
// model), scaled to the chip's identical cores. Refresh counts, wake-ups, gated time and
// retention come from the memory levels themselves; the engine only reads an analytic refresh
// power for its power series.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/kernel/environment.h"
#include "models/kernel/stats.h"
#include "models/kernel/time.h"
#include "models/memory/memory_level.h"
#include "models/memory/memory_params.h"
#include "models/power/scenario_engine.h"

namespace cimtlm::power {

struct ScenarioMemoryLevel {
  memory::MemoryLevelParams params;
  bool gate_when_idle = false;  // power-gated in long idle gaps
  uint64_t resident_bytes = 0;  // per core, written at t = 0 (the resident variants' weights)
};

class ScenarioMemories : public MemoryActivity {
 public:
  // `stats` receives one child group per level (the memory level's own statistics, per core).
  // The levels' SystemC names are `module_prefix` + level name (several runs in one process).
  ScenarioMemories(const std::vector<ScenarioMemoryLevel>& levels, int cores, double clock_hz,
                   kernel::TemperatureSource& temperature, kernel::StatGroup& stats, uint64_t seed,
                   const std::string& module_prefix = "");
  ~ScenarioMemories() override;

  void set_gated(bool gated, double time_s) override;
  void sample_temperature(double time_s) override;
  double refresh_power_w(double temperature_k, bool gated) const override;
  double wakeup_energy_j() const override;
  double wakeup_latency_s() const override;

  // Closes the run at `end_s` (refresh counts and energies up to then).
  void finalize(double end_s);
  size_t levels() const { return levels_.size(); }
  const memory::MemoryLevel& level(size_t index) const { return *levels_.at(index); }
  int cores() const { return cores_; }

 private:
  std::vector<ScenarioMemoryLevel> specs_;
  int cores_;
  kernel::Clock clock_;
  std::vector<std::unique_ptr<memory::MemoryLevel>> levels_;
};

}  // namespace cimtlm::power
