// Liveness-based activation buffer allocation for one core: offsets in an arena such that no two
// buffers that are live at the same step overlap, so the arena holds the peak of live bytes
// (plus fragmentation), not the sum of all buffers.
//
// Steps are the positions of a core's program (e.g. the nodes it runs, in order). A buffer is
// live over its range of steps, both ends inclusive; a range whose first step is after its last
// wraps around the end of the program (live from `first_step` to the last step and from step 0
// to `last_step`), which describes a buffer written by another core during the previous
// inference. Views share the buffer of the request they alias.
//
// Algorithm: greedy by size (Pisarchyk & Lee, "Efficient Memory Management for Deep Neural Net
// Inference", 2020; the TensorFlow Lite Micro GreedyMemoryPlanner): buffers by decreasing size,
// each at the lowest offset where it overlaps no already placed buffer whose live range
// intersects its own. O(n^2 log n) for n buffers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/map/liveness.h"

namespace cimtlm::map {

struct BufferRequest {
  std::string name;
  uint64_t bytes = 0;
  int first_step = 0;  // inclusive; after last_step: the range wraps around the program's end
  int last_step = 0;   // inclusive
  int alias_of = -1;   // index of another request whose buffer this one shares (-1: own buffer)
};

struct MemoryPlanOptions {
  uint64_t alignment_bytes = 64;  // offsets and sizes are multiples (the mapper's line size)
  // Steps of the program; 0: one more than the largest step of any request. Needed to close
  // wrapping ranges.
  int steps = 0;
};

struct MemoryPlan {
  std::vector<uint64_t> offsets;  // per request; an alias gets its buffer's offset
  uint64_t arena_bytes = 0;       // highest end of any buffer
  uint64_t peak_live_bytes = 0;   // most (aligned) bytes live at one step: the arena's lower bound
};

// Throws std::invalid_argument for a bad alias index or a step outside [0, steps).
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests,
                       const MemoryPlanOptions& options = {});

// A plan cut at a capacity: buffers whose bytes in `plan` end above `capacity` spill to another
// level, where they get an arena of their own (plan_memory over the spilled requests alone); the
// others keep their offsets. A view spills with the buffer it shares. Largest-first placement
// puts the biggest buffers at the lowest offsets, so the spill takes the smaller buffers that are
// live beside them at the peak (fewer bytes kept off chip than spilling the largest first).
struct SpillPlan {
  std::vector<char> spilled;      // per request
  std::vector<uint64_t> offsets;  // per request: in the on-chip arena, or in the spill arena
  uint64_t on_chip_bytes = 0;     // highest end of a kept buffer (<= capacity)
  uint64_t spill_bytes = 0;       // arena in the spill level
};
SpillPlan split_at_capacity(const std::vector<BufferRequest>& requests, const MemoryPlan& plan,
                            uint64_t capacity, const MemoryPlanOptions& options = {});

// ---- per-core activation plans for the mapper ----------------------------------------------

// How long a buffer that another core sends is kept on the receiving core.
enum class ReceivedLifetime {
  // The whole program. Required by the flow control where the receiver returns the credit
  // token right after its last reader: the sender may then write the next inference's data at
  // any later step, so the buffer is never free.
  WholeProgram,
  // From step 0 to the last local reader. Requires the receiver to return the credit token at
  // the end of each inference (just before InferenceDone) instead of right after the last
  // reader: the sender then writes the next inference's data after the receiver's program has
  // ended, i.e. during the next inference before its Receive, when every other buffer placed in
  // the same bytes is dead.
  FromProgramStart,
};

struct CoreActivationOptions {
  uint64_t alignment_bytes = 64;
  bool views_share_buffers = true;
  ReceivedLifetime received = ReceivedLifetime::WholeProgram;
};

// A temporary the mapper needs on `core` while it emits `node` (e.g. a requantized Concat input):
// live at that node's step only.
struct ScratchBuffer {
  int node = 0;  // index into graph.nodes
  int core = 0;
  std::string name;
  uint64_t bytes = 0;
};

// One core's activation buffers. Steps are the indices of the core's nodes in the node order.
// - a value produced on the core: from its producer's step to its last local reader; to the last
//   step when it is a graph output (the host reads it after the run); a Send to another core
//   reads it at the producer's step (the core's next command starts after the Send);
// - a value received from another core: ReceivedLifetime;
// - a graph input read on the core: the whole program (the host writes it once, before the
//   first inference);
// - a view shares its input's buffer on the same core (both values map to the same offset);
// - a node computed on several cores (a partitioned CIM layer, home core first): each other core
//   writes its slice into a buffer "<value>.slice" live at its step, and sends it to the home
//   core, whose output buffer is then written by other cores: ReceivedLifetime again, up to its
//   last local reader.
struct CoreActivationPlan {
  int core = 0;
  std::vector<int> nodes;               // graph nodes on this core, in execution order
  std::vector<BufferRequest> requests;  // as given to plan_memory
  MemoryPlan plan;
  // Arena offset of every buffer on the core by name: values (views included), "<value>.slice"
  // and scratch buffers.
  std::map<std::string, uint64_t> offset_of_value;
};

// `order`: the node order (indices into graph.nodes, topological); `cores_of_node`: for every
// node (indexed like graph.nodes) the cores that compute it, the home core first. One plan per
// core 0..cores-1 (empty for idle cores).
std::vector<CoreActivationPlan> plan_core_activations(
    const graph::Graph& graph, const ValueBytes& bytes, const std::vector<int>& order,
    const std::vector<std::vector<int>>& cores_of_node, int cores,
    const CoreActivationOptions& options = {}, const std::vector<ScratchBuffer>& scratch = {});
// With the network's liveness computed once (analyse_liveness; sizes and views come from it).
std::vector<CoreActivationPlan> plan_core_activations(
    const graph::Graph& graph, const Liveness& liveness, const std::vector<int>& order,
    const std::vector<std::vector<int>>& cores_of_node, int cores,
    const CoreActivationOptions& options = {}, const std::vector<ScratchBuffer>& scratch = {});
// Every node on one core.
std::vector<CoreActivationPlan> plan_core_activations(
    const graph::Graph& graph, const ValueBytes& bytes, const std::vector<int>& order,
    const std::vector<int>& core_of_node, int cores, const CoreActivationOptions& options = {});

}  // namespace cimtlm::map
