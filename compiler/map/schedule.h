// Memory-aware node order: liveness of activations under a node order, and the choice of the
// order in which parallel branches (residual, inception-like blocks) execute so that the peak of
// live activation bytes is minimal, or stays under a memory target.
//
// The method follows the idea of evaluating, before execution, the memory that each sequential
// order of a fork's branches needs and selecting the order that minimises it or keeps it below a
// target (see compiler/map/README.md, section "Scheduling", for definitions, the algorithm, its
// complexity and a worked example).
//
// Memory model (one memory holds every activation, as if the graph ran on one core):
// - an activation is every value that is not an initializer: graph inputs, node outputs, graph
//   outputs; its size is the byte size of the value in a reference run, rounded up to
//   ScheduleOptions::alignment_bytes;
// - at step t (the t-th node of the order) a value is live when it was produced at or before t
//   and some consumer runs at or after t (a node's inputs and outputs are live together at its
//   step); graph inputs are live from step 0, graph outputs until the last step; a value nobody
//   consumes is live at its producer's step only;
// - views (Reshape, Flatten, Identity, Squeeze, Unsqueeze of the standard domain) share their
//   input's buffer: a view and its input are one buffer, live from the first producer to the last
//   consumer of any of them;
// - graph inputs that no node reads and graph outputs that no node produces are not counted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::map {

// Bytes of every value (the activations; extra entries, e.g. initializers, are ignored).
using ValueBytes = std::map<std::string, uint64_t>;

// Bytes of every tensor of a reference run (ReferenceExecutor::run(.., keep_all = true)).
ValueBytes value_bytes(const graph::ValueMap& values);

// Whether `node`'s output is a view of its first input (same bytes, no buffer of its own).
bool is_view_op(const graph::Node& node);

struct ScheduleOptions {
  // Peak the schedule should stay under. Set: in every parallel region the first branch order
  // (lexicographic from the graph's order) that keeps the peak under the target is taken, so the
  // graph's order is kept wherever it already fits; when no order fits, the minimal one is used
  // and ScheduleResult::target_met is false. Unset: every region takes its minimal-peak order.
  std::optional<uint64_t> memory_target_bytes;
  // Every buffer is rounded up to this many bytes (1: exact sizes; the mapper aligns to 64).
  uint64_t alignment_bytes = 1;
  // Views share their input's buffer (the mapper implements them so).
  bool views_share_buffers = true;
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

// Live range of one activation buffer under a node order.
struct ValueLifetime {
  std::vector<std::string> values;  // the value owning the buffer first, then its views
  uint64_t bytes = 0;               // rounded up to the alignment
  int first_step = 0;               // inclusive, positions in the order
  int last_step = 0;
};

// Buffers and their live ranges under `order` (indices into graph.nodes; must be topological).
std::vector<ValueLifetime> value_lifetimes(const graph::Graph& graph, const ValueBytes& bytes,
                                           const std::vector<int>& order,
                                           const ScheduleOptions& options = {});
// Live bytes at every step of `order`, and their maximum.
std::vector<uint64_t> live_bytes_per_step(const graph::Graph& graph, const ValueBytes& bytes,
                                          const std::vector<int>& order,
                                          const ScheduleOptions& options = {});
uint64_t peak_activation_bytes(const graph::Graph& graph, const ValueBytes& bytes,
                               const std::vector<int>& order, const ScheduleOptions& options = {});

}  // namespace cimtlm::map
