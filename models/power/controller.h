// The runtime controller of the seed "CONTROLLING MACHINE LEARNING MODEL STRUCTURES": a policy
// picks, before each inference, which compiled structure (variant) of the network runs, from
// environmental conditions (die temperature, power budget, input rate), so as to control the
// power that the network's processing load draws.
//
// Variants are sorted by energy per inference, richest first: index 0 draws the most power.
// Policies only run variants of the Pareto front (pareto_ladder): a variant that another beats
// on both energy and accuracy is never chosen (it still runs in the fixed comparisons). Policies
// are swappable (STYLE.md item 6): FixedPolicy, ThresholdPolicy (hysteresis on temperature and
// budget), PiBudgetPolicy (tracks an average-power set point).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace cimtlm::power {

// What a policy knows of one variant (measured on the platform, see docs/power.md).
struct VariantCost {
  std::string name;
  double energy_j = 0.0;   // dynamic energy of one inference
  double latency_s = 0.0;  // duration of one inference
  double accuracy = 0.0;   // top-1 on the validation set, measured through the platform
};

struct ControllerInputs {
  double time_s = 0.0;
  double temperature_k = 0.0;    // die (junction) temperature now
  double budget_w = 0.0;         // from the environment trace
  double rate_hz = 0.0;          // requested inferences per second
  double average_power_w = 0.0;  // measured: exponential average of the chip's power
  double idle_power_w = 0.0;     // leakage now (ungated): the floor under any variant
};

// The variants worth running, richest first: those that no other variant beats on both energy
// and accuracy (a variant that costs more energy and is not more accurate than another is left
// out). Indices into `variants`, which are sorted by energy per inference, descending.
std::vector<int> pareto_ladder(const std::vector<VariantCost>& variants);

// Power a variant would draw at the inputs' rate: idle leakage plus rate x its dynamic energy
// (saturating at back-to-back inferences).
double predicted_power_w(const VariantCost& variant, const ControllerInputs& inputs);

class VariantPolicy {
 public:
  virtual ~VariantPolicy() = default;
  virtual std::string name() const = 0;
  // The variant for the next inference, given the one in use. `variants` is the ladder.
  virtual int choose(const ControllerInputs& inputs, int current,
                     const std::vector<VariantCost>& variants) = 0;
};

class FixedPolicy : public VariantPolicy {
 public:
  explicit FixedPolicy(int variant) : variant_(variant) {}
  std::string name() const override { return "fixed"; }
  int choose(const ControllerInputs&, int, const std::vector<VariantCost>&) override {
    return variant_;
  }

 private:
  int variant_;
};

struct ThresholdParams {
  // Temperature: step one variant leaner (along the Pareto ladder) when T >= high, one richer
  // when T <= low (and the budget allows); in between hold. low < high gives the hysteresis band.
  double temperature_high_k = 353.15;
  double temperature_low_k = 343.15;
  // Budget: step leaner when the current variant's predicted power exceeds high x budget; step
  // richer only when the richer variant's predicted power is at most low x budget.
  double budget_high = 1.0;
  double budget_low = 0.9;
  // At least this long between two switches (debounce of fast steps).
  double min_dwell_s = 0.0;
  std::string validate() const;
};

class ThresholdPolicy : public VariantPolicy {
 public:
  explicit ThresholdPolicy(const ThresholdParams& params) : params_(params) {}
  std::string name() const override { return "thresholds"; }
  int choose(const ControllerInputs& inputs, int current,
             const std::vector<VariantCost>& variants) override;

 private:
  ThresholdParams params_;
  double last_switch_s_ = -1e300;
};

struct PiBudgetParams {
  double setpoint = 0.9;        // target average power, fraction of the budget
  double kp = 0.5;              // proportional gain (per unit of relative power error)
  double ki = 2.0;              // integral gain, 1/s
  double integral_limit = 0.5;  // anti-windup clamp of the integral term (relative power)
  double min_dwell_s = 0.0;     // at least this long between two switches
  std::string validate() const;
};

// PI control of the average power: the allowed power is
//   P_allowed = B s (1 + kp e + ki integral(e dt)),  e = (B s - P_avg) / (B s)
// and the most accurate variant whose predicted power fits under P_allowed runs (the leanest
// when none fits). The integral removes the steady error of the prediction (switching, refresh,
// wake- ups); alternating between two neighbours realizes average powers between them.
class PiBudgetPolicy : public VariantPolicy {
 public:
  explicit PiBudgetPolicy(const PiBudgetParams& params) : params_(params) {}
  std::string name() const override { return "pi_budget"; }
  int choose(const ControllerInputs& inputs, int current,
             const std::vector<VariantCost>& variants) override;
  double integral() const { return integral_; }

 private:
  PiBudgetParams params_;
  double integral_ = 0.0;
  double last_time_s_ = -1.0;
  double last_switch_s_ = -1e300;
};

}  // namespace cimtlm::power
