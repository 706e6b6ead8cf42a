// Lumped thermal RC network of the die: the junction temperature over simulated time.
//
// One node per die (or a chain of nodes, one per stacked layer, when their figures are given):
//   C_i dT_i/dt = P_i - (T_i - T_{i+1}) / R_i ,  T_{n} = T_ambient.
// Power is piecewise constant between calls of advance(); for one node the step is integrated
// exactly, T(t) = T_a + P R + (T0 - T_a - P R) exp(-t / (R C)), so the temperature after a step in
// power is the analytic RC solution to rounding. Chains use the matrix exponential of the
// (small) system, evaluated by eigen-decomposition-free sub-stepping (see advance()).
//
// The model is also the die's kernel::TemperatureSource: memory levels read the temperature of
// any past or current time from the recorded segments.
#pragma once

#include <string>
#include <vector>

#include "models/kernel/environment.h"

namespace cimtlm::power {

struct ThermalNodeParams {
  std::string name = "die";
  double resistance_k_per_w = 40.0;   // to the next node (the last node: to ambient)
  double capacitance_j_per_k = 0.05;  // heat capacity of the node
};

struct ThermalParams {
  // Node 0 is the hottest (the silicon layer with the logic); the last node couples to ambient.
  std::vector<ThermalNodeParams> nodes{ThermalNodeParams{}};
  double initial_temperature_k = 298.15;  // every node at t = 0
  // Empty when consistent, otherwise a message naming the bad field.
  std::string validate() const;
};

class ThermalModel : public kernel::TemperatureSource {
 public:
  explicit ThermalModel(const ThermalParams& params);

  // Advances from the current time by `seconds` with `power_w` dissipated in node 0 and the
  // ambient at `ambient_k` (both constant over the step).
  void advance(double seconds, double power_w, double ambient_k);

  double time_s() const { return time_s_; }
  // Temperature of node 0 (the junction) now, and of any node.
  double junction_k() const { return temperatures_.front(); }
  double node_k(size_t node) const { return temperatures_.at(node); }
  size_t nodes() const { return temperatures_.size(); }
  // Steady state of node 0 for a constant power and ambient.
  double steady_state_k(double power_w, double ambient_k) const;
  // Time constant of the first node alone (R C), seconds.
  double time_constant_s() const;

  // kernel::TemperatureSource: the junction temperature at `at` (any time up to now; later times
  // are held at the current value). Inside a recorded step the single-node solution is exact;
  // chains interpolate linearly between the sub-steps.
  double temperature_k(const sc_core::sc_time& at) const override;
  double junction_k_at(double time_s) const;

 private:
  struct Segment {
    double start_s;
    double start_k;
    double end_s;
    double end_k;
    double power_w;
    double ambient_k;
  };
  ThermalParams params_;
  std::vector<double> temperatures_;
  double time_s_ = 0.0;
  std::vector<Segment> history_;
};

}  // namespace cimtlm::power
