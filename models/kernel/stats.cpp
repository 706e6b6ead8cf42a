#include "models/kernel/stats.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace cimtlm::kernel {

const char* to_string(EnergyCategory category) {
  switch (category) {
    case EnergyCategory::None: return "none";
    case EnergyCategory::Cim: return "cim";
    case EnergyCategory::Memory: return "memory";
    case EnergyCategory::Arith: return "arith";
    case EnergyCategory::Noc: return "noc";
    case EnergyCategory::Leakage: return "leakage";
  }
  return "none";
}

StatGroup::StatGroup(std::string name, std::string component)
    : name_(std::move(name)), component_(std::move(component)) {}

StatGroup& StatGroup::child(const std::string& name, const std::string& component) {
  auto found = child_index_.find(name);
  if (found != child_index_.end()) return *found->second;
  children_.push_back(std::make_unique<StatGroup>(name, component.empty() ? component_ : component));
  child_index_[name] = children_.back().get();
  return *children_.back();
}

const StatGroup* StatGroup::find_child(const std::string& name) const {
  auto found = child_index_.find(name);
  return found == child_index_.end() ? nullptr : found->second;
}

Stat& StatGroup::add(const std::string& name, StatKind kind, EnergyCategory category,
                     const std::string& description) {
  auto found = stat_index_.find(name);
  if (found != stat_index_.end()) {
    if (found->second->kind != kind) {
      throw std::logic_error("statistic '" + name_ + "." + name + "' registered with two kinds");
    }
    return *found->second;
  }
  auto stat = std::make_unique<Stat>();
  stat->name = name;
  stat->kind = kind;
  stat->category = category;
  stat->description = description;
  stats_.push_back(std::move(stat));
  stat_index_[name] = stats_.back().get();
  return *stats_.back();
}

uint64_t& StatGroup::count(const std::string& name, const std::string& description) {
  return add(name, StatKind::Count, EnergyCategory::None, description).count;
}
double& StatGroup::time_ns(const std::string& name, const std::string& description) {
  return add(name, StatKind::TimeNs, EnergyCategory::None, description).value;
}
double& StatGroup::energy_pj(const std::string& name, EnergyCategory category,
                             const std::string& description) {
  return add(name, StatKind::EnergyPj, category, description).value;
}
double& StatGroup::value(const std::string& name, const std::string& description) {
  return add(name, StatKind::Value, EnergyCategory::None, description).value;
}

const Stat* StatGroup::find(const std::string& name) const {
  auto found = stat_index_.find(name);
  return found == stat_index_.end() ? nullptr : found->second;
}

double StatGroup::sum(const std::string& stat_name, const std::string& component) const {
  double total = 0.0;
  if (component.empty() || component_ == component) {
    if (const Stat* stat = find(stat_name)) total += stat->as_double();
  }
  for (const auto& group : children_) total += group->sum(stat_name, component);
  return total;
}

double StatGroup::energy_pj(EnergyCategory category) const {
  double total = 0.0;
  for (const auto& stat : stats_) {
    if (stat->kind == StatKind::EnergyPj && stat->category == category) total += stat->value;
  }
  for (const auto& group : children_) total += group->energy_pj(category);
  return total;
}

double StatGroup::total_energy_pj() const {
  double total = 0.0;
  for (const auto& stat : stats_) {
    if (stat->kind == StatKind::EnergyPj) total += stat->value;
  }
  for (const auto& group : children_) total += group->total_energy_pj();
  return total;
}

void StatGroup::for_each(
    const std::function<void(const StatGroup&, const std::string& path)>& visit,
    const std::string& prefix) const {
  const std::string path = prefix.empty() ? name_ : (name_.empty() ? prefix : prefix + "." + name_);
  visit(*this, path);
  for (const auto& group : children_) group->for_each(visit, path);
}

nlohmann::json StatGroup::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& stat : stats_) {
    if (stat->kind == StatKind::Count) {
      out[stat->name] = stat->count;
    } else {
      out[stat->name] = stat->value;
    }
  }
  for (const auto& group : children_) out[group->name()] = group->to_json();
  return out;
}

}  // namespace cimtlm::kernel
