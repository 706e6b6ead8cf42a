#include "models/power/power_model.h"

#include <algorithm>
#include <cmath>

namespace cimtlm::power {

double LeakageComponent::leakage_w(double temperature_k) const {
  return reference_w * std::exp(coefficient_per_k * (temperature_k - reference_k));
}

std::string PowerParams::validate() const {
  for (const auto& component : components) {
    if (component.name.empty()) return "components: a component without a name";
    if (!(component.reference_w >= 0.0)) return component.name + ".reference_w must be >= 0";
    if (!(component.reference_k > 0.0)) return component.name + ".reference_k must be > 0 K";
    if (!(std::fabs(component.coefficient_per_k) < 1.0)) {
      return component.name + ".coefficient_per_k must be in (-1, 1) per K";
    }
  }
  return "";
}

PowerModel::PowerModel(const PowerParams& params)
    : params_(params), component_leakage_j_(params.components.size(), 0.0) {}

size_t PowerModel::component_index(const std::string& name) const {
  for (size_t i = 0; i < params_.components.size(); ++i) {
    if (params_.components[i].name == name) return i;
  }
  return params_.components.size();
}

double PowerModel::component_leakage_w(size_t component, double temperature_k, bool gated) const {
  const auto& c = params_.components.at(component);
  return gated && c.gateable ? 0.0 : c.leakage_w(temperature_k);
}

double PowerModel::leakage_w(double temperature_k, bool gated) const {
  double total = 0.0;
  for (size_t i = 0; i < params_.components.size(); ++i) {
    total += component_leakage_w(i, temperature_k, gated);
  }
  return total;
}

double PowerModel::account(double seconds, double dynamic_j, double temperature_k, bool gated) {
  double leakage = 0.0;
  for (size_t i = 0; i < params_.components.size(); ++i) {
    const double joules = component_leakage_w(i, temperature_k, gated) * seconds;
    component_leakage_j_[i] += joules;
    leakage += joules;
  }
  dynamic_j_ += dynamic_j;
  leakage_j_ += leakage;
  return dynamic_j + leakage;
}

}  // namespace cimtlm::power
