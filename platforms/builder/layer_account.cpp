#include "platforms/builder/layer_account.h"

#include <algorithm>

namespace cimtlm::platforms {

LayerAccounts::LayerAccounts(std::vector<const kernel::StatGroup*> cores)
    : cores_(std::move(cores)), trackers_(cores_.size()) {}

LayerCounters LayerAccounts::totals(int core) const {
  const kernel::StatGroup& group = *cores_.at(static_cast<size_t>(core));
  LayerCounters counters;
  counters.cim_pj = group.energy_pj(kernel::EnergyCategory::Cim);
  counters.memory_pj = group.energy_pj(kernel::EnergyCategory::Memory);
  counters.arith_pj = group.energy_pj(kernel::EnergyCategory::Arith);
  counters.macs = group.sum("macs", "cim");
  counters.rows_applied = group.sum("rows_applied", "cim");
  counters.zero_inputs = group.sum("zero_inputs", "cim");
  counters.rows_disabled = group.sum("rows_disabled", "cim");
  counters.bytes_sent = group.sum("bytes_sent", "core");
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
  double& covered = covered_until_ps_[{layer, core}];
  LayerCounters& account = accounts_[{layer, core}];
  if (end_ps > covered) {
    account.busy_ps += end_ps - std::max(begin_ps, covered);
    covered = end_ps;
  }
}

void LayerAccounts::finish() {
  for (size_t core = 0; core < trackers_.size(); ++core) turn(static_cast<int>(core), "");
}

}  // namespace cimtlm::platforms
