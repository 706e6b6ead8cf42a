// Power of the chip per component: dynamic power from the energy each module reports per time
// window, plus leakage that depends on the die temperature.
//
// Leakage of a component at temperature T:  P(T) = P_ref * exp(k * (T - T_ref)), with P_ref the
// static power the platform gives for that component (at T_ref, the platform's specification
// temperature) and k the per-technology temperature coefficient (platforms/scenario_schema.yaml
// gives the sources). Gated components draw no leakage while gated.
#pragma once

#include <string>
#include <vector>

namespace cimtlm::power {

struct LeakageComponent {
  std::string name;                // "cim", "arith", "noc", "memory.weights", ...
  double reference_w = 0.0;        // static power at reference_k, whole chip
  double reference_k = 358.15;     // temperature of reference_w
  double coefficient_per_k = 0.0;  // d ln(P) / dT
  bool gateable = false;           // power-gated between inferences by the scenario policy
  double leakage_w(double temperature_k) const;
};

struct PowerParams {
  std::vector<LeakageComponent> components;
  std::string validate() const;
};

// Accumulates energy per component over windows of simulated time and gives their power.
class PowerModel {
 public:
  explicit PowerModel(const PowerParams& params);

  const PowerParams& params() const { return params_; }
  size_t components() const { return params_.components.size(); }
  // Index of a component (components() when absent).
  size_t component_index(const std::string& name) const;

  // Leakage of every component at `temperature_k`; gated components draw nothing.
  double leakage_w(double temperature_k, bool gated) const;
  double component_leakage_w(size_t component, double temperature_k, bool gated) const;

  // Adds `seconds` at the given state: dynamic energy (J, already spent by the modules over the
  // interval) plus the leakage of that interval. Returns the interval's total energy (J).
  double account(double seconds, double dynamic_j, double temperature_k, bool gated);

  // Totals since the start.
  double energy_j() const { return dynamic_j_ + leakage_j_; }
  double dynamic_j() const { return dynamic_j_; }
  double leakage_j() const { return leakage_j_; }
  double component_leakage_j(size_t component) const { return component_leakage_j_.at(component); }

 private:
  PowerParams params_;
  double dynamic_j_ = 0.0;
  double leakage_j_ = 0.0;
  std::vector<double> component_leakage_j_;
};

}  // namespace cimtlm::power
