// Per-layer accounts of a run. Every command a core runs names its layer (the ONNX node it comes
// from); the account follows each core's command stream: when a core turns to another layer, what
// the core's blocks counted since its previous turn (CIM, memory and arithmetic energy, MACs,
// input zeros, disabled rows, bytes sent) goes to the layer it leaves. Time is the union of the
// busy intervals (fetch to completion) of the layer's commands on each core. Leakage is not
// attributed (it is the chip's, over the whole run).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "models/kernel/stats.h"

namespace cimtlm::platforms {

// What one core did for one layer.
struct LayerCounters {
  double cim_pj = 0, memory_pj = 0, arith_pj = 0;
  double macs = 0, rows_applied = 0, zero_inputs = 0, rows_disabled = 0, bytes_sent = 0;
  double busy_ps = 0;  // union of the busy intervals of the layer's commands
};

// (layer, core) -> counters.
using LayerAccountMap = std::map<std::pair<std::string, int>, LayerCounters>;

class LayerAccounts {
 public:
  // Where one core's counters live in its statistics tree, found once: a turn then reads a few
  // dozen values instead of walking the tree by name (it was 18 % of a small network's host time).
  // A source keeps the tree's shape (subtrees without the statistic left out), so its sum adds in
  // the same order as StatGroup::sum and StatGroup::energy_pj and is bit-identical to them.
  struct Source {
    std::vector<const kernel::Stat*> own;
    std::vector<Source> children;
    double sum() const;
  };

  // `cores`: every core's statistics group, by core index.
  explicit LayerAccounts(std::vector<const kernel::StatGroup*> cores);

  // Before a command of `layer` on `core` runs / after it ran, busy from `begin_ps` to `end_ps`.
  void command_issued(int core, const std::string& layer);
  void command_done(int core, const std::string& layer, double begin_ps, double end_ps);
  // Gives what every core did since its last turn to its current layer; call once after the
  // simulation, before leakage and refresh are accounted.
  void finish();
  const LayerAccountMap& accounts() const { return accounts_; }

 private:
  struct Tracker {
    std::string layer;
    LayerCounters at_turn;  // the core's totals when it turned to `layer`
    // The entries of the layer the core's last completed command belonged to (map nodes stay
    // put), so that a command's completion costs no map look-up while the layer does not change.
    std::string done_layer;
    double* covered_until_ps = nullptr;
    LayerCounters* done_account = nullptr;
  };
  struct Sources {
    Source cim_pj, memory_pj, arith_pj, macs, rows_applied, zero_inputs, rows_disabled, bytes_sent;
  };
  LayerCounters totals(int core);
  void turn(int core, const std::string& layer);

  std::vector<const kernel::StatGroup*> cores_;
  // Filled at the first turn, when elaboration is over and every statistic is registered.
  std::vector<Sources> sources_;
  std::vector<Tracker> trackers_;
  std::map<std::pair<std::string, int>, double> covered_until_ps_;
  LayerAccountMap accounts_;
};

}  // namespace cimtlm::platforms
