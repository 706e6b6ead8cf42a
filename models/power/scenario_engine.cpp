#include "models/power/scenario_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cimtlm::power {

std::string ScenarioParams::validate() const {
  if (!(duration_s > 0.0)) return "duration must be > 0 s";
  if (!(window_s > 0.0)) return "window must be > 0 s";
  if (!(budget_window_s > 0.0)) return "budget_window must be > 0 s";
  if (!(budget_tolerance >= 0.0)) return "budget_tolerance must be >= 0";
  if (!(gate_min_idle_s >= 0.0)) return "gate_min_idle must be >= 0 s";
  if (!(average_time_constant_s > 0.0)) return "average_time_constant must be > 0 s";
  return "";
}

namespace {

// Accumulates a quantity x seconds over fixed windows (energy -> power, budget -> mean budget).
class Windows {
 public:
  explicit Windows(double window_s) : window_s_(window_s) {}
  void add(double start_s, double seconds, double amount) {
    if (seconds <= 0.0) {
      slot(index_of(start_s)) += amount;
      return;
    }
    const double rate = amount / seconds, end_s = start_s + seconds;
    for (double t = start_s; t < end_s;) {
      const size_t index = index_of(t);
      const double window_end = std::min(end_s, (static_cast<double>(index) + 1.0) * window_s_);
      slot(index) += rate * (window_end - t);
      if (window_end <= t) break;
      t = window_end;
    }
  }
  size_t size() const { return sums_.size(); }
  double mean(size_t index) const { return index < sums_.size() ? sums_[index] / window_s_ : 0.0; }

 private:
  size_t index_of(double t) const {
    return static_cast<size_t>(std::max(0.0, std::floor(t / window_s_ * (1.0 + 1e-12))));
  }
  double& slot(size_t index) {
    if (sums_.size() <= index) sums_.resize(index + 1, 0.0);
    return sums_[index];
  }
  double window_s_;
  std::vector<double> sums_;
};

class Engine {
 public:
  Engine(const ScenarioParams& params, const std::vector<VariantProfile>& variants,
         const EnvironmentTrace& trace, ThermalModel& thermal, PowerModel& power,
         VariantPolicy& policy, MemoryActivity* memory)
      : params_(params),
        variants_(variants),
        trace_(trace),
        thermal_(thermal),
        power_(power),
        policy_(policy),
        memory_(memory),
        power_windows_(params.window_s),
        budget_energy_(params.budget_window_s),
        budget_allowed_(params.budget_window_s) {
    result_.policy = policy.name();
    for (const auto& variant : variants) costs_.push_back(variant);
    result_.variant_time_s.assign(variants.size(), 0.0);
    result_.variant_inferences.assign(variants.size(), 0);
    // Leakage and refresh are integrated over chunks much shorter than the thermal time
    // constant, at the temperature of the chunk's start.
    max_chunk_s_ = std::min(params.window_s, thermal.time_constant_s() / 50.0);
    result_.max_temperature_k = thermal.junction_k();
  }

  ScenarioResult run() {
    const double end = params_.duration_s;
    changes_.push_back({0.0, current_});
    double next_request = 0.0;
    double last_rate = -1.0;
    while (t_ < end) {
      const EnvironmentSample& env = trace_.at(t_);
      const double next_change = std::min(trace_.next_change_s(t_), end);
      if (env.rate_hz != last_rate) {
        // A new rate applies from now: the next request comes at most one new period away.
        // Requests are anchor + k / rate (no drift from summing periods).
        if (env.rate_hz > 0.0) {
          next_request = last_rate <= 0.0 ? t_ : std::min(next_request, t_ + 1.0 / env.rate_hz);
          anchor_s_ = next_request;
          requests_ = 0;
        }
        last_rate = env.rate_hz;
      }
      if (env.rate_hz <= 0.0) {
        idle_until(next_change);
        continue;
      }
      if (t_ < next_request) {
        // A gap that ends with an inference: the memories wake just in time for it.
        const bool inference_follows = next_request < end && next_request <= next_change;
        const double wake_s = memory_ && params_.gate_when_idle ? memory_->wakeup_latency_s() : 0.0;
        const double gap = next_request - t_;
        if (inference_follows && memory_ && params_.gate_when_idle &&
            (gated_ || gap >= params_.gate_min_idle_s) && gap > wake_s) {
          idle_until(next_request - wake_s);
          if (gated_) wake();
        } else {
          idle_until(std::min(next_request, next_change));
        }
        continue;
      }
      infer(env, next_request);
      next_request = anchor_s_ + static_cast<double>(++requests_) / env.rate_hz;
      if (next_request < t_ - 1.0 / env.rate_hz) {
        // More than a period behind (the chip is saturated): requests in between are dropped.
        anchor_s_ = next_request = t_;
        requests_ = 0;
      }
    }
    return finish();
  }

 private:
  struct Change {
    double time_s;
    int variant;
  };

  void set_gated(bool gated) {
    gated_ = gated;
    if (memory_) memory_->set_gated(gated, t_);
  }

  // Idle from now to `until`, gated when the gap is long enough. The memories stay gated across
  // a trace change inside a gap and wake before the next inference.
  void idle_until(double until) {
    const double gap = until - t_;
    if (gap <= 0.0) return;
    if (!gated_ && memory_ && params_.gate_when_idle && gap >= params_.gate_min_idle_s) {
      set_gated(true);
      ++result_.gated_gaps;
    }
    while (t_ < until) segment(std::min(max_chunk_s_, until - t_), 0.0);
  }

  void wake() {
    set_gated(false);
    const double wake_j = memory_->wakeup_energy_j();
    result_.wakeup_j += wake_j;
    segment(memory_->wakeup_latency_s(), wake_j);
  }

  void infer(const EnvironmentSample& env, double requested_s) {
    if (gated_) wake();
    ControllerInputs inputs;
    inputs.time_s = t_;
    inputs.temperature_k = thermal_.junction_k();
    inputs.budget_w = env.budget_w;
    inputs.rate_hz = env.rate_hz;
    inputs.average_power_w = average_w_;
    inputs.idle_power_w = power_.leakage_w(inputs.temperature_k, false) +
                          (memory_ ? memory_->refresh_power_w(inputs.temperature_k, false) : 0.0);
    const int chosen = std::clamp(policy_.choose(inputs, current_, costs_), 0,
                                  static_cast<int>(variants_.size()) - 1);
    if (result_.inferences == 0 && result_.switches == 0) {
      // The first inference runs whatever the policy picks: its weights were loaded at start-up.
      current_ = chosen;
      changes_.front().variant = chosen;
    } else if (chosen != current_) {
      const VariantProfile& next = variants_[static_cast<size_t>(chosen)];
      double joules = next.switch_energy_j, seconds = next.switch_latency_s;
      if (!next.resident) {
        joules += next.reload_energy_j;
        seconds += next.reload_latency_s;
        ++result_.reloads;
      }
      result_.switch_j += joules;
      ++result_.switches;
      current_ = chosen;
      changes_.push_back({t_, current_});
      segment(seconds, joules);
    }
    if (t_ > requested_s + 1e-12) ++result_.late_inferences;
    const VariantProfile& variant = variants_[static_cast<size_t>(current_)];
    segment(variant.latency_s, variant.energy_j);
    ++result_.inferences;
    ++result_.variant_inferences[static_cast<size_t>(current_)];
  }

  // `seconds` at the current state, with `dynamic_j` spent by the modules over it.
  void segment(double seconds, double dynamic_j) {
    const double temperature = thermal_.junction_k();
    const double refresh_w = memory_ ? memory_->refresh_power_w(temperature, gated_) : 0.0;
    const double refresh_j = refresh_w * seconds;
    result_.refresh_j += refresh_j;
    const double joules = power_.account(seconds, dynamic_j + refresh_j, temperature, gated_);
    const EnvironmentSample& env = trace_.at(t_);
    power_windows_.add(t_, seconds, joules);
    budget_energy_.add(t_, seconds, joules);
    budget_allowed_.add(t_, seconds, env.budget_w * seconds);
    result_.variant_time_s[static_cast<size_t>(current_)] += seconds;
    if (seconds > 0.0) {
      const double watts = joules / seconds;
      thermal_.advance(seconds, watts, env.ambient_k);
      const double alpha = 1.0 - std::exp(-seconds / params_.average_time_constant_s);
      average_w_ += (watts - average_w_) * alpha;
      const double end_k = thermal_.junction_k();
      const double limit = params_.temperature_limit_k;
      if (temperature > limit && end_k > limit) {
        result_.time_above_limit_s += seconds;
      } else if ((temperature > limit) != (end_k > limit)) {
        const double above = temperature > limit ? temperature - limit : end_k - limit;
        result_.time_above_limit_s += seconds * above / std::fabs(end_k - temperature);
      }
      result_.max_temperature_k = std::max(result_.max_temperature_k, end_k);
      t_ += seconds;
      if (memory_) memory_->sample_temperature(t_);
    }
  }

  ScenarioResult finish() {
    ScenarioResult& r = result_;
    r.duration_s = t_;
    r.energy_j = power_.energy_j();
    // energy = dynamic (inferences) + leakage + refresh + wake-ups + switches.
    r.dynamic_j = power_.dynamic_j() - r.refresh_j - r.wakeup_j - r.switch_j;
    r.leakage_j = power_.leakage_j();
    r.avg_w = t_ > 0.0 ? r.energy_j / t_ : 0.0;
    double weighted = 0.0;
    for (size_t v = 0; v < variants_.size(); ++v) {
      weighted += r.variant_time_s[v] * variants_[v].accuracy;
      r.accuracy_per_inference +=
          static_cast<double>(r.variant_inferences[v]) * variants_[v].accuracy;
    }
    r.accuracy_time_weighted = t_ > 0.0 ? weighted / t_ : 0.0;
    r.accuracy_per_inference =
        r.inferences > 0 ? r.accuracy_per_inference / static_cast<double>(r.inferences) : 0.0;
    // Budget windows: only complete windows count.
    const auto complete = static_cast<size_t>(std::floor(t_ / params_.budget_window_s + 1e-9));
    for (size_t w = 0; w < complete; ++w) {
      const double ratio = budget_energy_.mean(w) / budget_allowed_.mean(w);
      r.worst_budget_ratio = std::max(r.worst_budget_ratio, ratio);
      ++r.budget_windows;
      if (ratio > 1.0 + params_.budget_tolerance) ++r.budget_violations;
    }
    // The output series.
    const auto windows = static_cast<size_t>(std::ceil(t_ / params_.window_s - 1e-9));
    size_t change = 0;
    for (size_t w = 0; w < windows; ++w) {
      ScenarioSample sample;
      sample.time_s = std::min(t_, (static_cast<double>(w) + 1.0) * params_.window_s);
      sample.power_w = power_windows_.mean(w);
      r.max_w = std::max(r.max_w, sample.power_w);
      sample.temperature_k = thermal_.junction_k_at(sample.time_s);
      const EnvironmentSample& env = trace_.at(sample.time_s - params_.window_s * 1e-6);
      sample.ambient_k = env.ambient_k;
      sample.budget_w = env.budget_w;
      sample.rate_hz = env.rate_hz;
      while (change + 1 < changes_.size() && changes_[change + 1].time_s <= sample.time_s) ++change;
      sample.variant = changes_[change].variant;
      r.series.push_back(sample);
    }
    return r;
  }

  const ScenarioParams& params_;
  const std::vector<VariantProfile>& variants_;
  std::vector<VariantCost> costs_;  // what the policy sees of each variant
  const EnvironmentTrace& trace_;
  ThermalModel& thermal_;
  PowerModel& power_;
  VariantPolicy& policy_;
  MemoryActivity* memory_;
  Windows power_windows_;
  Windows budget_energy_;
  Windows budget_allowed_;
  ScenarioResult result_;
  std::vector<Change> changes_;
  double t_ = 0.0;
  double anchor_s_ = 0.0;  // time of request 0 at the current rate
  uint64_t requests_ = 0;  // requests since the anchor
  double average_w_ = 0.0;
  double max_chunk_s_ = 0.1;
  int current_ = 0;
  bool gated_ = false;
};

}  // namespace

ScenarioResult run_scenario(const ScenarioParams& params,
                            const std::vector<VariantProfile>& variants,
                            const EnvironmentTrace& trace, ThermalModel& thermal, PowerModel& power,
                            VariantPolicy& policy, MemoryActivity* memory) {
  Engine engine(params, variants, trace, thermal, power, policy, memory);
  return engine.run();
}

}  // namespace cimtlm::power
