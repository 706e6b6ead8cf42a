#include "models/power/controller.h"

#include <algorithm>
#include <cmath>

namespace cimtlm::power {

std::vector<int> pareto_ladder(const std::vector<VariantCost>& variants) {
  std::vector<int> ladder;
  for (size_t v = 0; v < variants.size(); ++v) {
    bool dominated = false;
    for (size_t w = 0; w < variants.size() && !dominated; ++w) {
      if (w == v) continue;
      const bool no_worse = variants[w].energy_j <= variants[v].energy_j &&
                            variants[w].accuracy >= variants[v].accuracy;
      const bool better = variants[w].energy_j < variants[v].energy_j ||
                          variants[w].accuracy > variants[v].accuracy;
      // Equal twins: the later (leaner in the order) one is dropped.
      dominated = no_worse && (better || w < v);
    }
    if (!dominated) ladder.push_back(static_cast<int>(v));
  }
  return ladder;
}

namespace {
// Position on the ladder of the variant in use: the richest rung that costs no more than it.
size_t rung_of(const std::vector<int>& ladder, const std::vector<VariantCost>& variants,
               int current) {
  for (size_t r = 0; r < ladder.size(); ++r) {
    if (variants[static_cast<size_t>(ladder[r])].energy_j <=
        variants[static_cast<size_t>(current)].energy_j) {
      return r;
    }
  }
  return ladder.size() - 1;
}
}  // namespace

double predicted_power_w(const VariantCost& variant, const ControllerInputs& inputs) {
  // Back to back at most: the rate the variant can sustain bounds its dynamic power.
  const double max_rate = variant.latency_s > 0.0 ? 1.0 / variant.latency_s : inputs.rate_hz;
  return inputs.idle_power_w + std::min(inputs.rate_hz, max_rate) * variant.energy_j;
}

std::string ThresholdParams::validate() const {
  if (!(temperature_low_k < temperature_high_k)) {
    return "temperature_low must be below temperature_high (the hysteresis band)";
  }
  if (!(budget_low > 0.0 && budget_low < budget_high)) {
    return "budget_low must be in (0, budget_high) (the hysteresis band)";
  }
  if (!(min_dwell_s >= 0.0)) return "min_dwell must be >= 0 s";
  return "";
}

int ThresholdPolicy::choose(const ControllerInputs& in, int current,
                            const std::vector<VariantCost>& variants) {
  const std::vector<int> ladder = pareto_ladder(variants);
  const size_t rung = rung_of(ladder, variants, current);
  const int on_ladder = ladder[rung];
  if (in.time_s - last_switch_s_ < params_.min_dwell_s) return current;
  const bool hot = in.temperature_k >= params_.temperature_high_k;
  const bool over = predicted_power_w(variants[static_cast<size_t>(on_ladder)], in) >
                    params_.budget_high * in.budget_w;
  int next = on_ladder;
  if ((hot || over) && rung + 1 < ladder.size()) {
    next = ladder[rung + 1];
  } else if (!hot && !over && rung > 0 && in.temperature_k <= params_.temperature_low_k &&
             predicted_power_w(variants[static_cast<size_t>(ladder[rung - 1])], in) <=
                 params_.budget_low * in.budget_w) {
    next = ladder[rung - 1];
  }
  if (next != current) last_switch_s_ = in.time_s;
  return next;
}

std::string PiBudgetParams::validate() const {
  if (!(setpoint > 0.0 && setpoint <= 1.0)) return "setpoint must be in (0, 1]";
  if (!(kp >= 0.0)) return "kp must be >= 0";
  if (!(ki >= 0.0)) return "ki must be >= 0";
  if (!(integral_limit >= 0.0)) return "integral_limit must be >= 0";
  if (!(min_dwell_s >= 0.0)) return "min_dwell must be >= 0 s";
  return "";
}

int PiBudgetPolicy::choose(const ControllerInputs& in, int current,
                           const std::vector<VariantCost>& variants) {
  const double target = in.budget_w * params_.setpoint;
  const double error = (target - in.average_power_w) / target;
  const double dt = last_time_s_ < 0.0 ? 0.0 : std::max(0.0, in.time_s - last_time_s_);
  last_time_s_ = in.time_s;
  const double before = integral_;
  if (params_.ki > 0.0) {
    integral_ = std::clamp(integral_ + error * dt, -params_.integral_limit / params_.ki,
                           params_.integral_limit / params_.ki);
  }
  const double allowed = target * (1.0 + params_.kp * error + params_.ki * integral_);
  const std::vector<int> ladder = pareto_ladder(variants);
  const int richest = ladder.front(), leanest = ladder.back();
  // Most accurate among those that fit: on the Pareto ladder that is the richest that fits.
  int next = leanest;
  for (int v : ladder) {
    if (predicted_power_w(variants[static_cast<size_t>(v)], in) <= allowed) {
      next = v;
      break;
    }
  }
  // Anti-windup: no integration while the output is saturated in the direction of the error
  // (the richest variant already runs and the power is still below the target, or the leanest
  // and it is still above).
  if ((next == richest && error > 0.0) || (next == leanest && error < 0.0)) integral_ = before;
  if (in.time_s - last_switch_s_ < params_.min_dwell_s) return current;
  if (next != current) last_switch_s_ = in.time_s;
  return next;
}

}  // namespace cimtlm::power
