#include "platforms/builder/layer_account.h"

#include <algorithm>

namespace cimtlm::platforms {

LayerAccounts::LayerAccounts(std::vector<const kernel::StatGroup*> cores)
    : cores_(std::move(cores)), trackers_(cores_.size()) {}

namespace {

using kernel::EnergyCategory;
using kernel::Stat;
using kernel::StatGroup;

// The statistics of `group`'s subtree that `select` picks, in the tree's shape.
template <typename Select>
bool collect(const StatGroup& group, const Select& select, LayerAccounts::Source& into);

}  // namespace

double LayerAccounts::Source::sum() const {
  double total = 0.0;
  for (const Stat* stat : own) total += stat->as_double();
  for (const Source& child : children) total += child.sum();
  return total;
}

namespace {

template <typename Select>
bool collect(const StatGroup& group, const Select& select, LayerAccounts::Source& into) {
  for (const auto& stat : group.stats()) {
    if (select(group, *stat)) into.own.push_back(stat.get());
  }
  for (const auto& child : group.children()) {
    LayerAccounts::Source source;
    if (collect(*child, select, source)) into.children.push_back(std::move(source));
  }
  return !into.own.empty() || !into.children.empty();
}

LayerAccounts::Source energy_source(const StatGroup& group, EnergyCategory category) {
  LayerAccounts::Source source;
  collect(
      group,
      [category](const StatGroup&, const Stat& stat) {
        return stat.kind == kernel::StatKind::EnergyPj && stat.category == category;
      },
      source);
  return source;
}

LayerAccounts::Source named_source(const StatGroup& group, const std::string& name,
                                   const std::string& component) {
  LayerAccounts::Source source;
  collect(
      group,
      [&](const StatGroup& owner, const Stat& stat) {
        return owner.component() == component && stat.name == name;
      },
      source);
  return source;
}

}  // namespace

LayerCounters LayerAccounts::totals(int core) {
  if (sources_.empty()) {
    for (const StatGroup* group : cores_) {
      Sources sources;
      sources.cim_pj = energy_source(*group, EnergyCategory::Cim);
      sources.memory_pj = energy_source(*group, EnergyCategory::Memory);
      sources.arith_pj = energy_source(*group, EnergyCategory::Arith);
      sources.macs = named_source(*group, "macs", "cim");
      sources.rows_applied = named_source(*group, "rows_applied", "cim");
      sources.zero_inputs = named_source(*group, "zero_inputs", "cim");
      sources.rows_disabled = named_source(*group, "rows_disabled", "cim");
      sources.bytes_sent = named_source(*group, "bytes_sent", "core");
      sources_.push_back(std::move(sources));
    }
  }
  const Sources& sources = sources_.at(static_cast<size_t>(core));
  LayerCounters counters;
  counters.cim_pj = sources.cim_pj.sum();
  counters.memory_pj = sources.memory_pj.sum();
  counters.arith_pj = sources.arith_pj.sum();
  counters.macs = sources.macs.sum();
  counters.rows_applied = sources.rows_applied.sum();
  counters.zero_inputs = sources.zero_inputs.sum();
  counters.rows_disabled = sources.rows_disabled.sum();
  counters.bytes_sent = sources.bytes_sent.sum();
  return counters;
}

void LayerAccounts::turn(int core, const std::string& layer) {
  Tracker& tracker = trackers_.at(static_cast<size_t>(core));
  const LayerCounters now = totals(core);
  if (!tracker.layer.empty()) {
    LayerCounters& account = accounts_[{tracker.layer, core}];
    account.cim_pj += now.cim_pj - tracker.at_turn.cim_pj;
    account.memory_pj += now.memory_pj - tracker.at_turn.memory_pj;
    account.arith_pj += now.arith_pj - tracker.at_turn.arith_pj;
    account.macs += now.macs - tracker.at_turn.macs;
    account.rows_applied += now.rows_applied - tracker.at_turn.rows_applied;
    account.zero_inputs += now.zero_inputs - tracker.at_turn.zero_inputs;
    account.rows_disabled += now.rows_disabled - tracker.at_turn.rows_disabled;
    account.bytes_sent += now.bytes_sent - tracker.at_turn.bytes_sent;
  }
  tracker.layer = layer;
  tracker.at_turn = now;
}

void LayerAccounts::command_issued(int core, const std::string& layer) {
  // Markers (InferenceDone, PowerGate) belong to no layer. Totals are taken at turns only, so the
  // cost is one look at the core's statistics per turn, not per command.
  if (!layer.empty() && layer != trackers_.at(static_cast<size_t>(core)).layer) turn(core, layer);
}

void LayerAccounts::command_done(int core, const std::string& layer, double begin_ps,
                                 double end_ps) {
  if (layer.empty() || end_ps <= begin_ps) return;
  Tracker& tracker = trackers_.at(static_cast<size_t>(core));
  if (tracker.done_account == nullptr || tracker.done_layer != layer) {
    tracker.done_layer = layer;
    tracker.covered_until_ps = &covered_until_ps_[{layer, core}];
    tracker.done_account = &accounts_[{layer, core}];
  }
  double& covered = *tracker.covered_until_ps;
  LayerCounters& account = *tracker.done_account;
  if (end_ps > covered) {
    account.busy_ps += end_ps - std::max(begin_ps, covered);
    covered = end_ps;
  }
}

void LayerAccounts::finish() {
  for (size_t core = 0; core < trackers_.size(); ++core) turn(static_cast<int>(core), "");
}

}  // namespace cimtlm::platforms
