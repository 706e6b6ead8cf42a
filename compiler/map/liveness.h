// Liveness of activations under a node order: the graph seen as buffers (views merged into
// their input's buffer), which nodes produce and read each buffer, and the step range over which
// each buffer is live. Computed once per network (analyse_liveness) and shared by the branch-order
// planner (schedule.h) and the per-core buffer allocation (memory_plan.h).
//
// Memory model (one memory holds every activation, as if the graph ran on one core):
// - an activation is every value that is not an initializer: graph inputs, node outputs, graph
//   outputs; its size is the byte size of the value in a reference run, rounded up to
//   LivenessOptions::alignment_bytes;
// - at step t (the t-th node of the order) a value is live when it was produced at or before t
//   and some consumer runs at or after t (a node's inputs and outputs are live together at its
//   step); graph inputs are live from step 0, graph outputs until the last step; a value nobody
//   consumes is live at its producer's step only;
// - views (Reshape, Flatten, Identity, Squeeze, Unsqueeze of the standard domain) share their
//   input's buffer: a view and its input are one buffer, live from the first producer to the last
//   consumer of any of them; views of initializers live in weight memory and are no activation;
// - graph inputs that no node reads and graph outputs that no node produces are not counted.
#pragma once

#include <cstdint>
#include <map>
#include <set>
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

struct LivenessOptions {
  // Every buffer is rounded up to this many bytes (1: exact sizes; the mapper aligns to 64).
  uint64_t alignment_bytes = 1;
  // Views share their input's buffer (the mapper implements them so).
  bool views_share_buffers = true;
};

// The graph seen as buffers and node dependencies (independent of any order).
struct Liveness {
  int node_count = 0;
  std::vector<std::string> node_names;
  std::vector<uint64_t> buffer_bytes;
  std::vector<std::vector<std::string>> buffer_values;  // owner first, then views
  std::vector<int> buffer_producer;                     // node, or -1 for a graph input
  std::vector<char> buffer_graph_output;
  std::vector<std::vector<int>> buffer_consumers;  // distinct nodes, ascending
  std::vector<std::vector<int>> uses;              // per node: buffers read (distinct, sorted)
  std::vector<std::vector<int>> defs;              // per node: buffers it creates (sorted)
  std::vector<std::vector<int>> successors;        // per node: dependent nodes (distinct)
  std::vector<std::vector<int>> predecessors;
  std::map<std::string, int> buffer_of;  // every activation value (views too) -> its buffer
  std::map<std::string, std::string> view_source;  // view value -> the value it views
  std::set<std::string> constant_views;  // views of initializers (weight memory, no buffer)
  LivenessOptions options;

  bool counted(int buffer) const {
    return buffer_producer[static_cast<size_t>(buffer)] >= 0 ||
           !buffer_consumers[static_cast<size_t>(buffer)].empty();
  }
  size_t buffers() const { return buffer_bytes.size(); }
};

// Throws graph::ModelError when a value has no size, is produced twice, or is read before it is
// produced (the graph's nodes must be topologically sorted).
Liveness analyse_liveness(const graph::Graph& graph, const ValueBytes& bytes,
                          const LivenessOptions& options = {});

// Positions of `order` (indices into graph.nodes), checked to be a topological permutation;
// throws std::invalid_argument otherwise.
std::vector<int> order_positions(const Liveness& liveness, const std::vector<int>& order);

// Live range of one counted buffer, steps inclusive.
struct LiveRange {
  int buffer = 0;
  int first = 0;
  int last = 0;
};
std::vector<LiveRange> live_ranges(const Liveness& liveness, const std::vector<int>& order);
// Live bytes at every step of `order`.
std::vector<uint64_t> live_bytes_per_step(const Liveness& liveness, const std::vector<int>& order);

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
                                           const LivenessOptions& options = {});
// Live bytes at every step of `order`, and their maximum.
std::vector<uint64_t> live_bytes_per_step(const graph::Graph& graph, const ValueBytes& bytes,
                                          const std::vector<int>& order,
                                          const LivenessOptions& options = {});
uint64_t peak_activation_bytes(const graph::Graph& graph, const ValueBytes& bytes,
                               const std::vector<int>& order, const LivenessOptions& options = {});

}  // namespace cimtlm::map
