// Memory-aware node order: the choice of the order in which parallel branches (residual,
// inception-like blocks) execute so that the peak of live activation bytes is minimal, or stays
// under a memory target.
//
// The method follows the idea of evaluating, before execution, the memory that each sequential
// order of a fork's branches needs and selecting the order that minimises it or keeps it below a
// target (see compiler/map/README.md, section "Scheduling", for definitions, the algorithm, its
// complexity and a worked example).
//
// Liveness (what is live when, views, alignment) is defined in liveness.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"
#include "compiler/map/liveness.h"

namespace cimtlm::map {

// alignment_bytes and views_share_buffers (LivenessOptions) define the buffers.
struct ScheduleOptions : LivenessOptions {
  // Peak the schedule should stay under. Set: in every parallel region the first branch order
  // (lexicographic from the graph's order) that keeps the peak under the target is taken, so the
  // graph's order is kept wherever it already fits; when no order fits, the minimal one is used
  // and ScheduleResult::target_met is false. Unset: every region takes its minimal-peak order.
  std::optional<uint64_t> memory_target_bytes;
  // Branch orders of regions with up to this many branches are found exactly: dynamic
  // programming over the subsets of branches for the minimal peak, and a depth-first search in
  // lexicographic order (pruned by the subsets that cannot finish within the budget) for the
  // first order within the budget, both O(2^k k) branch evaluations. Larger regions use the
  // greedy rule (branches by peak minus resident output, descending) or keep the graph's order
  // when it fits the budget.
  int exact_branch_limit = 12;
};

// The decision taken for one parallel region: the branches between a fork and its join.
struct BranchDecision {
  // The producers of the region's inputs and the readers of its results after it, "+"-joined;
  // "input" / "output" stand for graph inputs and outputs.
  std::string fork;
  std::string join;
  // Each branch named by its first node (in the graph's order), in the graph's order.
  std::vector<std::string> branches;
  std::vector<int> order;  // chosen order: indices into `branches`
  // Peak live bytes over the region's steps in the final schedule, with the chosen order and
  // with the branches in the graph's order (everything else as chosen).
  uint64_t peak_bytes = 0;
  uint64_t naive_peak_bytes = 0;
  std::string method;  // "exact" (dynamic programming) or "greedy"
};

struct ScheduleResult {
  std::vector<int> node_order;            // indices into graph.nodes, a topological order
  std::vector<BranchDecision> decisions;  // one per parallel region, in schedule order
  uint64_t peak_bytes = 0;                // peak live activation bytes of node_order
  uint64_t naive_peak_bytes = 0;          // ... of the graph's own node order
  bool target_met = true;                 // peak_bytes <= memory_target_bytes (true when unset)
  // Every decision, "fork -> join: [branches in the chosen order]", "; "-separated, e.g.
  // "stem -> concat: [b5x5_1, b3x3_1, b1x1, pool]"; "" when the graph has no parallel region or
  // its own order was kept.
  std::string branch_order;
};

// Chooses the node order. Branches are found as the connected components between the cut nodes
// of the graph (nodes every path passes through), recursively, so nested regions are ordered too;
// each branch runs contiguously. The result's peak is never above the graph's own order's peak.
// Throws graph::ModelError when a value has no size or the graph's nodes are not topologically
// sorted.
ScheduleResult plan_schedule(const graph::Graph& graph, const ValueBytes& bytes,
                             const ScheduleOptions& options = {});
ScheduleResult plan_schedule(const graph::Graph& graph, const graph::ValueMap& values,
                             const ScheduleOptions& options = {});
// With the network's liveness computed once (its alignment and views options are the ones used;
// those of `options` are ignored).
ScheduleResult plan_schedule(const Liveness& liveness, const ScheduleOptions& options = {});

}  // namespace cimtlm::map
