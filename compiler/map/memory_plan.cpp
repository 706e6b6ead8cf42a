#include "compiler/map/memory_plan.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>

namespace cimtlm::map {

namespace {

uint64_t align_up(uint64_t bytes, uint64_t alignment) {
  if (alignment <= 1) return bytes;
  return (bytes + alignment - 1) / alignment * alignment;
}

struct StepRange {
  int first, last;  // inclusive, first <= last
};

// One buffer: a request and the requests that alias it.
struct Group {
  int root = 0;
  uint64_t size = 0;
  std::vector<StepRange> ranges;
  int earliest = 0;
  uint64_t offset = 0;
};

bool intersect(const Group& a, const Group& b) {
  for (const StepRange& x : a.ranges) {
    for (const StepRange& y : b.ranges) {
      if (x.first <= y.last && y.first <= x.last) return true;
    }
  }
  return false;
}

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests,
                       const MemoryPlanOptions& options) {
  const int count = static_cast<int>(requests.size());
  int steps = options.steps;
  if (steps <= 0) {
    for (const auto& request : requests) {
      steps = std::max({steps, request.first_step + 1, request.last_step + 1});
    }
  }
  // Root of every request (aliases of aliases resolve to the owner of the buffer).
  std::vector<int> root(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    int at = i;
    for (int hops = 0; requests[static_cast<size_t>(at)].alias_of >= 0; ++hops) {
      const int next = requests[static_cast<size_t>(at)].alias_of;
      if (next >= count || next == at || hops > count) {
        throw std::invalid_argument(
            "plan_memory: request '" + requests[static_cast<size_t>(i)].name +
            "' aliases an invalid request (index " + std::to_string(next) + " or a cycle)");
      }
      at = next;
    }
    root[static_cast<size_t>(i)] = at;
    const auto& request = requests[static_cast<size_t>(i)];
    if (request.first_step < 0 || request.last_step < 0 || request.first_step >= steps ||
        request.last_step >= steps) {
      throw std::invalid_argument("plan_memory: request '" + request.name + "' has steps [" +
                                  std::to_string(request.first_step) + ", " +
                                  std::to_string(request.last_step) + "] outside [0, " +
                                  std::to_string(steps) + ")");
    }
  }

  // Group ranges: the hull of the plain ranges (a view's data must persist in between), plus the
  // wrapping ranges as given.
  std::vector<int> group_of(static_cast<size_t>(count), -1);
  std::vector<Group> groups;
  std::vector<StepRange> hull;
  for (int i = 0; i < count; ++i) {
    const int owner = root[static_cast<size_t>(i)];
    if (group_of[static_cast<size_t>(owner)] < 0) {
      group_of[static_cast<size_t>(owner)] = static_cast<int>(groups.size());
      groups.push_back({owner, 0, {}, steps, 0});
      hull.push_back({steps, -1});
    }
    const int g = group_of[static_cast<size_t>(owner)];
    group_of[static_cast<size_t>(i)] = g;
    const auto& request = requests[static_cast<size_t>(i)];
    Group& group = groups[static_cast<size_t>(g)];
    group.size = std::max(group.size, align_up(request.bytes, options.alignment_bytes));
    if (request.first_step <= request.last_step) {
      hull[static_cast<size_t>(g)].first =
          std::min(hull[static_cast<size_t>(g)].first, request.first_step);
      hull[static_cast<size_t>(g)].last =
          std::max(hull[static_cast<size_t>(g)].last, request.last_step);
    } else {
      group.ranges.push_back({request.first_step, steps - 1});
      group.ranges.push_back({0, request.last_step});
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    if (hull[g].first <= hull[g].last) groups[g].ranges.push_back(hull[g]);
    for (const StepRange& range : groups[g].ranges)
      groups[g].earliest = std::min(groups[g].earliest, range.first);
  }

  // Greedy by size: largest first (ties: earliest live, then request order).
  std::vector<size_t> by_size(groups.size());
  std::iota(by_size.begin(), by_size.end(), 0);
  std::stable_sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) {
    if (groups[a].size != groups[b].size) return groups[a].size > groups[b].size;
    return groups[a].earliest < groups[b].earliest;
  });
  MemoryPlan plan;
  std::vector<size_t> placed;
  for (size_t g : by_size) {
    Group& group = groups[g];
    if (group.size == 0) continue;
    std::vector<std::pair<uint64_t, uint64_t>> busy;  // (offset, size) of live-overlapping buffers
    for (size_t other : placed) {
      if (intersect(group, groups[other]))
        busy.emplace_back(groups[other].offset, groups[other].size);
    }
    std::sort(busy.begin(), busy.end());
    uint64_t candidate = 0;
    for (const auto& [offset, size] : busy) {
      if (candidate + group.size <= offset) break;
      candidate = std::max(candidate, offset + size);
    }
    group.offset = candidate;
    plan.arena_bytes = std::max(plan.arena_bytes, candidate + group.size);
    placed.push_back(g);
  }
  plan.offsets.resize(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    plan.offsets[static_cast<size_t>(i)] =
        groups[static_cast<size_t>(group_of[static_cast<size_t>(i)])].offset;
  }
  // Live bytes per step (each group's ranges merged first: a wrapping view may overlap its hull).
  std::vector<int64_t> delta(static_cast<size_t>(steps) + 1, 0);
  for (Group& group : groups) {
    std::sort(group.ranges.begin(), group.ranges.end(),
              [](const StepRange& a, const StepRange& b) { return a.first < b.first; });
    int covered = -1;  // last step already counted
    for (const StepRange& range : group.ranges) {
      const int first = std::max(range.first, covered + 1);
      if (first > range.last) continue;
      delta[static_cast<size_t>(first)] += static_cast<int64_t>(group.size);
      delta[static_cast<size_t>(range.last) + 1] -= static_cast<int64_t>(group.size);
      covered = range.last;
    }
  }
  std::vector<uint64_t> live(static_cast<size_t>(steps), 0);
  int64_t running = 0;
  for (size_t step = 0; step < live.size(); ++step) {
    running += delta[step];
    live[step] = static_cast<uint64_t>(running);
  }
  for (uint64_t bytes : live) plan.peak_live_bytes = std::max(plan.peak_live_bytes, bytes);
  return plan;
}

SpillPlan split_at_capacity(const std::vector<BufferRequest>& requests, const MemoryPlan& plan,
                            uint64_t capacity, const MemoryPlanOptions& options) {
  const size_t count = requests.size();
  if (plan.offsets.size() != count) {
    throw std::invalid_argument("split_at_capacity: the plan does not belong to the requests");
  }
  std::vector<size_t> root(count);
  std::map<size_t, uint64_t> group_end;  // per root: highest end of any member
  for (size_t i = 0; i < count; ++i) {
    size_t at = i;
    for (size_t hops = 0; requests[at].alias_of >= 0 && hops <= count; ++hops) {
      at = static_cast<size_t>(requests[at].alias_of);
    }
    root[i] = at;
    const uint64_t end = plan.offsets[i] + align_up(requests[i].bytes, options.alignment_bytes);
    group_end[at] = std::max(group_end[at], end);
  }
  SpillPlan split;
  split.spilled.assign(count, 0);
  split.offsets = plan.offsets;
  std::vector<BufferRequest> off_chip;
  std::vector<size_t> original;  // off_chip index -> request index
  std::map<size_t, int> index_of_root;
  for (size_t i = 0; i < count; ++i) {
    if (group_end[root[i]] <= capacity) {
      if (requests[i].bytes > 0)
        split.on_chip_bytes = std::max(split.on_chip_bytes, group_end[root[i]]);
      continue;
    }
    split.spilled[i] = 1;
  }
  // Owners first, so that every spilled view can alias its owner's new index.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < count; ++i) {
      if (!split.spilled[i] || (root[i] == i) != (pass == 0)) continue;
      BufferRequest request = requests[i];
      request.alias_of = root[i] == i ? -1 : index_of_root.at(root[i]);
      if (root[i] == i) index_of_root[i] = static_cast<int>(off_chip.size());
      off_chip.push_back(request);
      original.push_back(i);
    }
  }
  if (off_chip.empty()) return split;
  const MemoryPlan spill = plan_memory(off_chip, options);
  split.spill_bytes = spill.arena_bytes;
  for (size_t k = 0; k < off_chip.size(); ++k) split.offsets[original[k]] = spill.offsets[k];
  return split;
}

std::vector<CoreActivationPlan> plan_core_activations(
    const graph::Graph& graph, const ValueBytes& bytes, const std::vector<int>& order,
    const std::vector<int>& core_of_node, int cores, const CoreActivationOptions& options) {
  std::vector<std::vector<int>> cores_of_node;
  for (int core : core_of_node) cores_of_node.push_back({core});
  return plan_core_activations(graph, bytes, order, cores_of_node, cores, options);
}

std::vector<CoreActivationPlan> plan_core_activations(
    const graph::Graph& graph, const ValueBytes& bytes, const std::vector<int>& order,
    const std::vector<std::vector<int>>& cores_of_node, int cores,
    const CoreActivationOptions& options, const std::vector<ScratchBuffer>& scratch) {
  LivenessOptions liveness_options;
  liveness_options.alignment_bytes = options.alignment_bytes;
  liveness_options.views_share_buffers = options.views_share_buffers;
  return plan_core_activations(graph, analyse_liveness(graph, bytes, liveness_options), order,
                               cores_of_node, cores, options, scratch);
}

std::vector<CoreActivationPlan> plan_core_activations(
    const graph::Graph& graph, const Liveness& liveness, const std::vector<int>& order,
    const std::vector<std::vector<int>>& cores_of_node, int cores,
    const CoreActivationOptions& options, const std::vector<ScratchBuffer>& scratch) {
  if (cores_of_node.size() != graph.nodes.size()) {
    throw std::invalid_argument("plan_core_activations: cores_of_node has " +
                                std::to_string(cores_of_node.size()) + " entries for " +
                                std::to_string(graph.nodes.size()) + " nodes");
  }
  // Where every value comes from: the home core of its producer, -1 for a graph input; views of
  // constants live in weight memory and are skipped (the network's liveness knows both).
  std::map<std::string, int> origin_core;
  const std::map<std::string, std::string>& view_source = liveness.view_source;
  const std::set<std::string>& constants = liveness.constant_views;
  for (const auto& input : graph.inputs) {
    if (!graph.is_initializer(input.name)) origin_core[input.name] = -1;
  }
  std::vector<std::vector<int>> nodes_of_core(static_cast<size_t>(std::max(cores, 0)));
  for (int node : order) {
    const auto& node_cores = cores_of_node.at(static_cast<size_t>(node));
    if (node_cores.empty()) {
      throw std::invalid_argument("plan_core_activations: node " + std::to_string(node) +
                                  " has no core");
    }
    for (int core : node_cores) {
      if (core < 0 || core >= cores) {
        throw std::invalid_argument("plan_core_activations: node " + std::to_string(node) +
                                    " is on core " + std::to_string(core) + " of " +
                                    std::to_string(cores));
      }
      nodes_of_core[static_cast<size_t>(core)].push_back(node);
    }
    for (const auto& output : graph.nodes.at(static_cast<size_t>(node)).outputs) {
      if (!output.empty() && !constants.count(output)) origin_core[output] = node_cores.front();
    }
  }
  std::set<std::string> graph_outputs;
  for (const auto& output : graph.outputs) graph_outputs.insert(output.name);
  auto size_of = [&](const std::string& value) {
    auto found = liveness.buffer_of.find(value);
    if (found == liveness.buffer_of.end()) {
      throw graph::ModelError("plan_core_activations: no size known for value '" + value + "'");
    }
    return liveness.buffer_bytes[static_cast<size_t>(found->second)];
  };

  std::vector<CoreActivationPlan> plans(static_cast<size_t>(std::max(cores, 0)));
  for (int core = 0; core < cores; ++core) {
    CoreActivationPlan& plan = plans[static_cast<size_t>(core)];
    plan.core = core;
    plan.nodes = nodes_of_core[static_cast<size_t>(core)];
    const int steps = static_cast<int>(plan.nodes.size());
    if (steps == 0) continue;
    const bool whole_when_written_remotely = options.received == ReceivedLifetime::WholeProgram;
    std::map<std::string, int> request_of;
    auto request = [&](const std::string& name, uint64_t size, int first, int last, int alias_of) {
      request_of[name] = static_cast<int>(plan.requests.size());
      plan.requests.push_back({name, size, first, last, alias_of});
    };
    for (int step = 0; step < steps; ++step) {
      const int index = plan.nodes[static_cast<size_t>(step)];
      const graph::Node& node = graph.nodes[static_cast<size_t>(index)];
      const auto& node_cores = cores_of_node[static_cast<size_t>(index)];
      for (const auto& input : node.inputs) {
        if (input.empty() || graph.is_initializer(input) || constants.count(input)) continue;
        auto found = request_of.find(input);
        if (found == request_of.end()) {
          auto origin = origin_core.find(input);
          if (origin == origin_core.end()) {
            throw graph::ModelError("plan_core_activations: " + node.describe() + " reads '" +
                                    input + "' before it is produced");
          }
          if (origin->second == core) {
            throw std::invalid_argument("plan_core_activations: the order runs " + node.describe() +
                                        " before the producer of '" + input + "'");
          }
          // A graph input (written once by the host) or a value sent by another core.
          const bool whole = origin->second < 0 || whole_when_written_remotely;
          request(input, size_of(input), 0, whole ? steps - 1 : step, -1);
          continue;
        }
        BufferRequest& buffer = plan.requests[static_cast<size_t>(found->second)];
        buffer.last_step = std::max(buffer.last_step, step);
      }
      const bool home = node_cores.front() == core;
      for (const auto& output : node.outputs) {
        if (output.empty() || constants.count(output)) continue;
        if (!home) {  // a slice computed here and sent to the home core
          request(output + ".slice", size_of(output), step, step, -1);
          continue;
        }
        // Other cores write their slices of a partitioned node's output here.
        const bool written_remotely = node_cores.size() > 1;
        const int first = written_remotely ? 0 : step;
        int last = graph_outputs.count(output) ? steps - 1 : step;
        if (written_remotely && whole_when_written_remotely) last = steps - 1;
        auto source = view_source.find(output);
        request(output, size_of(output), first, last,
                source != view_source.end() ? request_of.at(source->second) : -1);
      }
      for (const ScratchBuffer& buffer : scratch) {
        if (buffer.node == index && buffer.core == core)
          request(buffer.name, buffer.bytes, step, step, -1);
      }
    }
    MemoryPlanOptions memory;
    memory.alignment_bytes = options.alignment_bytes;
    memory.steps = steps;
    plan.plan = plan_memory(plan.requests, memory);
    for (const auto& entry : request_of) {
      plan.offset_of_value[entry.first] = plan.plan.offsets[static_cast<size_t>(entry.second)];
    }
  }
  return plans;
}

}  // namespace cimtlm::map
