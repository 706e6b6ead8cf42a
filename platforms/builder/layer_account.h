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
  };
  LayerCounters totals(int core) const;
  void turn(int core, const std::string& layer);

  std::vector<const kernel::StatGroup*> cores_;
  std::vector<Tracker> trackers_;
  std::map<std::pair<std::string, int>, double> covered_until_ps_;
  LayerAccountMap accounts_;
};

}  // namespace cimtlm::platforms
