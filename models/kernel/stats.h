// The statistics tree: counts, time and energy per module instance.
//
// Every module owns one StatGroup (a node of the tree named after its SystemC hierarchy) and
// registers its statistics there once, at construction. Registration returns a reference to
// the stored value, so counting in the hot path is a plain increment with no lookup.
// Energy statistics carry an EnergyCategory so that the platform can sum them by component
// (the `energy_pj.{cim,memory,arith,noc,leakage}` keys of the stats contract).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace cimtlm::kernel {

enum class StatKind {
  Count,   // events (uint64)
  TimeNs,  // durations, nanoseconds
  EnergyPj,  // energy, picojoules
  Value,   // any other quantity (ratio, bytes, cycles); its unit is in the description
};

enum class EnergyCategory { None, Cim, Memory, Arith, Noc, Leakage };
const char* to_string(EnergyCategory category);

struct Stat {
  std::string name;
  StatKind kind = StatKind::Value;
  EnergyCategory category = EnergyCategory::None;
  std::string description;
  uint64_t count = 0;  // StatKind::Count
  double value = 0.0;  // every other kind

  double as_double() const { return kind == StatKind::Count ? static_cast<double>(count) : value; }
};

class StatGroup {
 public:
  explicit StatGroup(std::string name = "", std::string component = "");
  StatGroup(const StatGroup&) = delete;
  StatGroup& operator=(const StatGroup&) = delete;

  const std::string& name() const { return name_; }
  // The component kind this group belongs to ("cim", "memory", "core", ...); used to sum
  // instances of the same component. Children inherit it unless they set their own.
  const std::string& component() const { return component_; }

  // Returns the child group `name`, creating it on first use. References stay valid.
  StatGroup& child(const std::string& name, const std::string& component = "");
  const StatGroup* find_child(const std::string& name) const;
  const std::vector<std::unique_ptr<StatGroup>>& children() const { return children_; }

  // Registration. Registering the same name twice returns the same value.
  uint64_t& count(const std::string& name, const std::string& description);
  double& time_ns(const std::string& name, const std::string& description);
  double& energy_pj(const std::string& name, EnergyCategory category,
                    const std::string& description);
  double& value(const std::string& name, const std::string& description);

  const std::vector<std::unique_ptr<Stat>>& stats() const { return stats_; }
  const Stat* find(const std::string& name) const;

  // Sum of a statistic over this group and all its descendants (by stat name), optionally
  // restricted to groups of one component.
  double sum(const std::string& stat_name, const std::string& component = "") const;
  // Sum of every energy statistic of a category over this subtree.
  double energy_pj(EnergyCategory category) const;
  double total_energy_pj() const;

  // Calls `visit(group, path)` for this group and every descendant, depth first.
  void for_each(const std::function<void(const StatGroup&, const std::string& path)>& visit,
                const std::string& prefix = "") const;

  // Nested JSON: {"stat": value, ..., "child": {...}}.
  nlohmann::json to_json() const;

 private:
  Stat& add(const std::string& name, StatKind kind, EnergyCategory category,
            const std::string& description);

  std::string name_;
  std::string component_;
  std::vector<std::unique_ptr<Stat>> stats_;
  std::map<std::string, Stat*> stat_index_;
  std::vector<std::unique_ptr<StatGroup>> children_;
  std::map<std::string, StatGroup*> child_index_;
};

}  // namespace cimtlm::kernel
