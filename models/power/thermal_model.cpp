#include "models/power/thermal_model.h"

#include <algorithm>
#include <cmath>

namespace cimtlm::power {

std::string ThermalParams::validate() const {
  if (nodes.empty()) return "nodes: at least one thermal node";
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!(nodes[i].resistance_k_per_w > 0.0)) {
      return "nodes[" + std::to_string(i) + "].resistance_k_per_w must be > 0";
    }
    if (!(nodes[i].capacitance_j_per_k > 0.0)) {
      return "nodes[" + std::to_string(i) + "].capacitance_j_per_k must be > 0";
    }
  }
  if (!(initial_temperature_k > 0.0)) return "initial_temperature_k must be > 0 K";
  return "";
}

ThermalModel::ThermalModel(const ThermalParams& params)
    : params_(params), temperatures_(params.nodes.size(), params.initial_temperature_k) {}

double ThermalModel::steady_state_k(double power_w, double ambient_k) const {
  double resistance = 0.0;
  for (const auto& node : params_.nodes) resistance += node.resistance_k_per_w;
  return ambient_k + power_w * resistance;
}

double ThermalModel::time_constant_s() const {
  return params_.nodes.front().resistance_k_per_w * params_.nodes.front().capacitance_j_per_k;
}

void ThermalModel::advance(double seconds, double power_w, double ambient_k) {
  if (seconds <= 0.0) return;
  const double start_k = temperatures_.front();
  if (temperatures_.size() == 1) {
    // Exact solution of the single-node step.
    const double tau = time_constant_s();
    const double target = ambient_k + power_w * params_.nodes.front().resistance_k_per_w;
    temperatures_[0] = target + (start_k - target) * std::exp(-seconds / tau);
  } else {
    // Chain: exact exponential per node with the neighbours held over a sub-step much shorter
    // than the smallest time constant (operator splitting; error O(h / tau)).
    double smallest_tau = 1e300;
    for (const auto& node : params_.nodes) {
      smallest_tau = std::min(smallest_tau, node.resistance_k_per_w * node.capacitance_j_per_k);
    }
    const int steps = static_cast<int>(std::min(1e6, std::ceil(seconds / (smallest_tau / 200.0))));
    const double h = seconds / steps;
    const size_t n = temperatures_.size();
    std::vector<double> next(n);
    for (int step = 0; step < steps; ++step) {
      for (size_t i = 0; i < n; ++i) {
        // Node i exchanges heat with node i-1 (through R_{i-1}) and node i+1 or ambient (R_i).
        double conductance = 1.0 / params_.nodes[i].resistance_k_per_w;
        double inflow = (i + 1 < n ? temperatures_[i + 1] : ambient_k) * conductance;
        if (i > 0) {
          const double up = 1.0 / params_.nodes[i - 1].resistance_k_per_w;
          conductance += up;
          inflow += temperatures_[i - 1] * up;
        }
        if (i == 0) inflow += power_w;
        const double target = inflow / conductance;
        const double tau = params_.nodes[i].capacitance_j_per_k / conductance;
        next[i] = target + (temperatures_[i] - target) * std::exp(-h / tau);
      }
      temperatures_.swap(next);
    }
  }
  // Consecutive steps of the same power and ambient merge into one analytic segment only for
  // the single node; keep every step (they are few: one per inference or idle gap).
  history_.push_back(
      {time_s_, start_k, time_s_ + seconds, temperatures_.front(), power_w, ambient_k});
  time_s_ += seconds;
}

double ThermalModel::junction_k_at(double time_s) const {
  if (history_.empty() || time_s <= history_.front().start_s) {
    return history_.empty() ? temperatures_.front() : history_.front().start_k;
  }
  if (time_s >= history_.back().end_s) return temperatures_.front();
  const auto after = std::upper_bound(history_.begin(), history_.end(), time_s,
                                      [](double t, const Segment& s) { return t < s.end_s; });
  const Segment& s = *after;
  const double dt = time_s - s.start_s;
  if (temperatures_.size() == 1) {
    const double tau = time_constant_s();
    const double target = s.ambient_k + s.power_w * params_.nodes.front().resistance_k_per_w;
    return target + (s.start_k - target) * std::exp(-dt / tau);
  }
  const double span = s.end_s - s.start_s;
  return s.start_k + (s.end_k - s.start_k) * (span > 0 ? dt / span : 1.0);
}

double ThermalModel::temperature_k(const sc_core::sc_time& at) const {
  return junction_k_at(at.to_seconds());
}

}  // namespace cimtlm::power
