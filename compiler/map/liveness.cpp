#include "compiler/map/liveness.h"

#include <algorithm>
#include <stdexcept>

namespace cimtlm::map {

namespace {

using graph::ModelError;

uint64_t round_up(uint64_t bytes, uint64_t alignment) {
  if (alignment <= 1) return bytes;
  return (bytes + alignment - 1) / alignment * alignment;
}

void add_unique(std::vector<int>& list, int value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

}  // namespace

Liveness analyse_liveness(const graph::Graph& graph, const ValueBytes& bytes,
                          const LivenessOptions& options) {
  Liveness model;
  model.options = options;
  model.node_count = static_cast<int>(graph.nodes.size());
  model.uses.resize(graph.nodes.size());
  model.defs.resize(graph.nodes.size());
  model.successors.resize(graph.nodes.size());
  model.predecessors.resize(graph.nodes.size());
  std::map<std::string, int>& buffer_of = model.buffer_of;
  std::map<std::string, int> producer_of;  // value -> node that produces it
  std::set<std::string>& constant_views = model.constant_views;

  auto size_of = [&](const std::string& value, const std::string& where) {
    auto found = bytes.find(value);
    if (found == bytes.end()) {
      throw ModelError("schedule: no size known for value '" + value + "' (" + where + ")");
    }
    return round_up(found->second, options.alignment_bytes);
  };
  auto new_buffer = [&](const std::string& value, int producer, uint64_t size) {
    const int id = static_cast<int>(model.buffer_bytes.size());
    model.buffer_bytes.push_back(size);
    model.buffer_values.push_back({value});
    model.buffer_producer.push_back(producer);
    model.buffer_graph_output.push_back(0);
    model.buffer_consumers.emplace_back();
    buffer_of[value] = id;
    return id;
  };

  for (const auto& input : graph.inputs) {
    if (graph.is_initializer(input.name) || buffer_of.count(input.name)) continue;
    new_buffer(input.name, -1, size_of(input.name, "graph input"));
  }
  for (int index = 0; index < model.node_count; ++index) {
    const graph::Node& node = graph.nodes[static_cast<size_t>(index)];
    model.node_names.push_back(
        node.name.empty() ? (node.outputs.empty() ? node.op_type : node.outputs[0]) : node.name);
    for (const auto& input : node.inputs) {
      if (input.empty() || graph.is_initializer(input) || constant_views.count(input)) continue;
      auto buffer = buffer_of.find(input);
      if (buffer == buffer_of.end()) {
        throw ModelError("schedule: " + node.describe() + " reads '" + input +
                         "' before it is produced (nodes must be topologically sorted)");
      }
      add_unique(model.uses[static_cast<size_t>(index)], buffer->second);
      add_unique(model.buffer_consumers[static_cast<size_t>(buffer->second)], index);
      auto producer = producer_of.find(input);
      if (producer != producer_of.end()) {
        add_unique(model.successors[static_cast<size_t>(producer->second)], index);
        add_unique(model.predecessors[static_cast<size_t>(index)], producer->second);
      }
    }
    const bool view = options.views_share_buffers && is_view_op(node) && node.has_input(0);
    for (const auto& output : node.outputs) {
      if (output.empty()) continue;
      if (buffer_of.count(output) || constant_views.count(output)) {
        throw ModelError("schedule: value '" + output + "' is produced twice");
      }
      producer_of[output] = index;
      if (view && output == node.outputs[0]) {
        const std::string& source = node.inputs[0];
        if (graph.is_initializer(source) || constant_views.count(source)) {
          constant_views.insert(output);
          continue;
        }
        const int buffer = buffer_of.at(source);
        buffer_of[output] = buffer;
        model.view_source[output] = source;
        model.buffer_values[static_cast<size_t>(buffer)].push_back(output);
        continue;
      }
      const int buffer = new_buffer(output, index, size_of(output, node.describe()));
      model.defs[static_cast<size_t>(index)].push_back(buffer);
    }
  }
  for (const auto& output : graph.outputs) {
    auto buffer = buffer_of.find(output.name);
    if (buffer != buffer_of.end())
      model.buffer_graph_output[static_cast<size_t>(buffer->second)] = 1;
  }
  for (auto& list : model.uses) std::sort(list.begin(), list.end());
  for (auto& list : model.buffer_consumers) std::sort(list.begin(), list.end());
  return model;
}

std::vector<int> order_positions(const Liveness& model, const std::vector<int>& order) {
  if (static_cast<int>(order.size()) != model.node_count) {
    throw std::invalid_argument("schedule: the order has " + std::to_string(order.size()) +
                                " nodes, the graph " + std::to_string(model.node_count));
  }
  std::vector<int> position(order.size(), -1);
  for (size_t step = 0; step < order.size(); ++step) {
    const int node = order[step];
    if (node < 0 || node >= model.node_count || position[static_cast<size_t>(node)] >= 0) {
      throw std::invalid_argument("schedule: the order is not a permutation of the graph's nodes");
    }
    position[static_cast<size_t>(node)] = static_cast<int>(step);
  }
  for (int node = 0; node < model.node_count; ++node) {
    for (int successor : model.successors[static_cast<size_t>(node)]) {
      if (position[static_cast<size_t>(successor)] < position[static_cast<size_t>(node)]) {
        throw std::invalid_argument("schedule: the order runs '" + model.node_names[successor] +
                                    "' before its input's producer '" + model.node_names[node] +
                                    "'");
      }
    }
  }
  return position;
}

std::vector<LiveRange> live_ranges(const Liveness& model, const std::vector<int>& order) {
  const std::vector<int> position = order_positions(model, order);
  const int last_step = std::max(0, model.node_count - 1);
  std::vector<LiveRange> ranges;
  for (int buffer = 0; buffer < static_cast<int>(model.buffers()); ++buffer) {
    if (!model.counted(buffer)) continue;
    const int producer = model.buffer_producer[static_cast<size_t>(buffer)];
    const int first = producer >= 0 ? position[static_cast<size_t>(producer)] : 0;
    int last = first;
    for (int consumer : model.buffer_consumers[static_cast<size_t>(buffer)]) {
      last = std::max(last, position[static_cast<size_t>(consumer)]);
    }
    if (model.buffer_graph_output[static_cast<size_t>(buffer)]) last = last_step;
    ranges.push_back({buffer, first, last});
  }
  return ranges;
}

std::vector<uint64_t> live_bytes_per_step(const Liveness& model, const std::vector<int>& order) {
  std::vector<int64_t> delta(static_cast<size_t>(model.node_count) + 1, 0);
  for (const LiveRange& range : live_ranges(model, order)) {
    const auto size = static_cast<int64_t>(model.buffer_bytes[static_cast<size_t>(range.buffer)]);
    delta[static_cast<size_t>(range.first)] += size;
    delta[static_cast<size_t>(range.last) + 1] -= size;
  }
  std::vector<uint64_t> live(static_cast<size_t>(model.node_count), 0);
  int64_t running = 0;
  for (size_t step = 0; step < live.size(); ++step) {
    running += delta[step];
    live[step] = static_cast<uint64_t>(running);
  }
  return live;
}

ValueBytes value_bytes(const graph::ValueMap& values) {
  ValueBytes bytes;
  for (const auto& entry : values) bytes[entry.first] = entry.second.bytes();
  return bytes;
}

bool is_view_op(const graph::Node& node) {
  return node.domain.empty() &&
         (node.op_type == "Flatten" || node.op_type == "Reshape" || node.op_type == "Identity" ||
          node.op_type == "Squeeze" || node.op_type == "Unsqueeze");
}

std::vector<ValueLifetime> value_lifetimes(const graph::Graph& graph, const ValueBytes& bytes,
                                           const std::vector<int>& order,
                                           const LivenessOptions& options) {
  const Liveness model = analyse_liveness(graph, bytes, options);
  std::vector<ValueLifetime> lifetimes;
  for (const LiveRange& range : live_ranges(model, order)) {
    lifetimes.push_back({model.buffer_values[static_cast<size_t>(range.buffer)],
                         model.buffer_bytes[static_cast<size_t>(range.buffer)], range.first,
                         range.last});
  }
  return lifetimes;
}

std::vector<uint64_t> live_bytes_per_step(const graph::Graph& graph, const ValueBytes& bytes,
                                          const std::vector<int>& order,
                                          const LivenessOptions& options) {
  return live_bytes_per_step(analyse_liveness(graph, bytes, options), order);
}

uint64_t peak_activation_bytes(const graph::Graph& graph, const ValueBytes& bytes,
                               const std::vector<int>& order, const LivenessOptions& options) {
  const std::vector<uint64_t> live = live_bytes_per_step(graph, bytes, order, options);
  return live.empty() ? 0 : *std::max_element(live.begin(), live.end());
}

}  // namespace cimtlm::map
