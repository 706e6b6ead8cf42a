// A scenario: a stream of inferences over simulated seconds to minutes under an environment
// trace, each run by the variant the controller picks, with the die temperature from the thermal
// RC model and leakage from the power model.
//
// Speed: a variant's inference is not re-simulated each time. Its duration and dynamic energy,
// and the cost of switching to it (rewriting the CIM arrays: the program's prologue), are
// measured once by a full simulation of that variant on the platform (platforms/scenario) and
// replayed per inference here. What depends on the scenario is simulated: the idle gaps (skipped
// in one step each, no per-cycle events), power gating of the memories with their wake-ups, the
// retention clock and refresh of the OS memories at the die temperature (MemoryActivity), the
// switching cost and the weight reload of variants not resident in OS memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/power/controller.h"
#include "models/power/environment_trace.h"
#include "models/power/power_model.h"
#include "models/power/thermal_model.h"

namespace cimtlm::power {

struct VariantProfile : VariantCost {
  double switch_energy_j = 0.0;  // rewriting the CIM arrays with this variant's weights
  double switch_latency_s = 0.0;
  bool resident = true;          // its weights stay in the OS weight memory
  double reload_energy_j = 0.0;  // writing its weights into OS memory (when not resident)
  double reload_latency_s = 0.0;
  uint64_t weight_bytes = 0;  // whole chip
};

// The memories as the scenario sees them (implemented over the SystemC memory levels by
// ScenarioMemories): gating, temperature changes, and the refresh power for the power series.
class MemoryActivity {
 public:
  virtual ~MemoryActivity() = default;
  virtual void set_gated(bool gated, double time_s) = 0;
  virtual void sample_temperature(double time_s) = 0;
  // Refresh power at `temperature_k` (whole chip); levels gated now (`gated` and gateable) are
  // not refreshed.
  virtual double refresh_power_w(double temperature_k, bool gated) const = 0;
  // Energy of one wake-up of every gated level (whole chip).
  virtual double wakeup_energy_j() const = 0;
  // Latency of a wake-up before an inference can start.
  virtual double wakeup_latency_s() const = 0;
};

struct ScenarioParams {
  double duration_s = 60.0;
  double window_s = 0.1;                 // output series (CSV, VCD, plot) window
  double budget_window_s = 1.0;          // budget violations are counted per window of this length
  double budget_tolerance = 0.0;         // a window violates when P_avg > (1 + tolerance) x budget
  double temperature_limit_k = 358.15;   // time above it is reported
  bool gate_when_idle = true;            // power-gate the memories in idle gaps ...
  double gate_min_idle_s = 1e-3;         // ... at least this long (break-even of the wake-up)
  double average_time_constant_s = 0.5;  // the controller's measured average power
  std::string validate() const;
};

struct ScenarioSample {
  double time_s = 0.0;         // end of the window
  double power_w = 0.0;        // average over the window
  double temperature_k = 0.0;  // junction, at the end of the window
  double ambient_k = 0.0;
  double budget_w = 0.0;
  double rate_hz = 0.0;
  int variant = 0;  // active at the end of the window
};

struct ScenarioResult {
  std::string policy;
  double duration_s = 0.0;
  double energy_j = 0.0;
  double dynamic_j = 0.0;  // the inferences themselves
  double leakage_j = 0.0;
  double refresh_j = 0.0;  // estimate used for the power series (stats use the memory levels)
  double wakeup_j = 0.0;
  double switch_j = 0.0;  // CIM rewrites and weight reloads
  double avg_w = 0.0;
  double max_w = 0.0;  // largest window average
  double max_temperature_k = 0.0;
  double time_above_limit_s = 0.0;
  uint64_t inferences = 0;
  uint64_t late_inferences = 0;  // started later than requested (chip saturated or switching)
  uint64_t switches = 0;
  uint64_t reloads = 0;
  uint64_t budget_windows = 0;
  uint64_t budget_violations = 0;
  double worst_budget_ratio = 0.0;  // max over windows of P_avg / budget
  uint64_t gated_gaps = 0;
  double accuracy_time_weighted = 0.0;
  double accuracy_per_inference = 0.0;
  std::vector<double> variant_time_s;
  std::vector<uint64_t> variant_inferences;
  std::vector<ScenarioSample> series;
};

// Runs the scenario. `variants` is the ladder (richest first); `memory` may be null (no
// memories gated or refreshed).
ScenarioResult run_scenario(const ScenarioParams& params,
                            const std::vector<VariantProfile>& variants,
                            const EnvironmentTrace& trace, ThermalModel& thermal, PowerModel& power,
                            VariantPolicy& policy, MemoryActivity* memory);

}  // namespace cimtlm::power
