// Graphs for the schedule and memory-plan tests: a small builder, seeded random series-parallel
// graphs that remember their branch structure, random DAGs, and reference computations written
// independently of compiler/map (liveness by direct definition, brute-force enumerations).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/random.h"
#include "compiler/map/schedule.h"

namespace cimtlm::map::testing {

// Builds a graph of opaque ops ("Op") with given output sizes.
class GraphBuilder {
 public:
  GraphBuilder& input(const std::string& name, uint64_t bytes) {
    graph_.inputs.push_back({name, graph::DataType::UInt8, {static_cast<int64_t>(bytes)}});
    bytes_[name] = bytes;
    return *this;
  }
  GraphBuilder& node(const std::string& name, const std::vector<std::string>& inputs,
                     const std::vector<std::pair<std::string, uint64_t>>& outputs,
                     const std::string& op = "Op") {
    graph::Node node;
    node.name = name;
    node.op_type = op;
    node.inputs = inputs;
    for (const auto& output : outputs) {
      node.outputs.push_back(output.first);
      bytes_[output.first] = output.second;
    }
    graph_.nodes.push_back(node);
    return *this;
  }
  GraphBuilder& constant(const std::string& name, uint64_t bytes) {
    graph_.initializers[name] =
        graph::Tensor(graph::DataType::UInt8, {static_cast<int64_t>(bytes)});
    return *this;
  }
  GraphBuilder& output(const std::string& name) {
    graph_.outputs.push_back({name, graph::DataType::UInt8, {}});
    return *this;
  }
  const graph::Graph& graph() const { return graph_; }
  const ValueBytes& bytes() const { return bytes_; }

 private:
  graph::Graph graph_;
  ValueBytes bytes_;
};

// Peak of live bytes under `order`, straight from the definition (no views, exact sizes): value v
// is live at step t when produced at or before t (graph inputs: from step 0) and read at or after
// t (graph outputs: until the last step); a value nobody reads is live at its producer's step.
inline std::vector<uint64_t> reference_live(const graph::Graph& graph, const ValueBytes& bytes,
                                            const std::vector<int>& order) {
  const int steps = static_cast<int>(order.size());
  std::map<std::string, int> produced_at, last_read;
  std::set<std::string> outputs;
  for (const auto& output : graph.outputs) outputs.insert(output.name);
  for (const auto& input : graph.inputs) produced_at[input.name] = 0;
  for (int step = 0; step < steps; ++step) {
    const graph::Node& node = graph.nodes[static_cast<size_t>(order[static_cast<size_t>(step)])];
    for (const auto& input : node.inputs) {
      if (!input.empty() && !graph.is_initializer(input)) last_read[input] = step;
    }
    for (const auto& output : node.outputs) produced_at[output] = step;
  }
  std::vector<uint64_t> live(static_cast<size_t>(steps), 0);
  for (const auto& entry : produced_at) {
    const std::string& value = entry.first;  // not a structured binding: lambdas capture it
    const int first = entry.second;
    const bool read = last_read.count(value) != 0;
    const bool graph_input = std::any_of(graph.inputs.begin(), graph.inputs.end(),
                                         [&](const auto& info) { return info.name == value; });
    if (graph_input && !read) continue;  // not counted
    int last = read ? std::max(first, last_read[value]) : first;
    if (outputs.count(value)) last = steps - 1;
    for (int step = first; step <= last; ++step) live[static_cast<size_t>(step)] += bytes.at(value);
  }
  return live;
}

inline uint64_t reference_peak(const graph::Graph& graph, const ValueBytes& bytes,
                               const std::vector<int>& order) {
  const auto live = reference_live(graph, bytes, order);
  return live.empty() ? 0 : *std::max_element(live.begin(), live.end());
}

inline bool is_topological(const graph::Graph& graph, const std::vector<int>& order) {
  if (order.size() != graph.nodes.size()) return false;
  std::vector<int> seen(order.size(), 0);
  std::set<std::string> available;
  for (const auto& input : graph.inputs) available.insert(input.name);
  for (int node : order) {
    if (node < 0 || node >= static_cast<int>(order.size()) || seen[static_cast<size_t>(node)]++)
      return false;
    for (const auto& input : graph.nodes[static_cast<size_t>(node)].inputs) {
      if (!input.empty() && !graph.is_initializer(input) && !available.count(input)) return false;
    }
    for (const auto& output : graph.nodes[static_cast<size_t>(node)].outputs)
      available.insert(output);
  }
  return true;
}

// Node-level predecessors (by value), for the enumerations.
inline std::vector<std::vector<int>> predecessors_of(const graph::Graph& graph) {
  std::map<std::string, int> producer;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (const auto& output : graph.nodes[n].outputs) producer[output] = static_cast<int>(n);
  }
  std::vector<std::vector<int>> predecessors(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (const auto& input : graph.nodes[n].inputs) {
      auto found = producer.find(input);
      if (found != producer.end()) predecessors[n].push_back(found->second);
    }
  }
  return predecessors;
}

// Least peak over *all* topological orders, by dynamic programming over the sets of executed
// nodes (the live bytes while a node runs depend only on the set run before it). n <= ~18.
inline uint64_t global_optimum(const graph::Graph& graph, const ValueBytes& bytes) {
  const int n = static_cast<int>(graph.nodes.size());
  const auto predecessors = predecessors_of(graph);
  std::set<std::string> outputs;
  for (const auto& output : graph.outputs) outputs.insert(output.name);
  // Per value: producer (-1 graph input), readers mask, graph output flag.
  struct Value {
    int producer;
    uint32_t readers;
    bool output;
    uint64_t bytes;
  };
  std::map<std::string, Value> values;
  for (const auto& input : graph.inputs)
    values[input.name] = {-1, 0, outputs.count(input.name) != 0, bytes.at(input.name)};
  for (int v = 0; v < n; ++v) {
    for (const auto& output : graph.nodes[static_cast<size_t>(v)].outputs) {
      values[output] = {v, 0, outputs.count(output) != 0, bytes.at(output)};
    }
  }
  for (int v = 0; v < n; ++v) {
    for (const auto& input : graph.nodes[static_cast<size_t>(v)].inputs) {
      if (!input.empty() && !graph.is_initializer(input)) values[input].readers |= 1u << v;
    }
  }
  auto cost = [&](uint32_t done, int v) {
    uint64_t live = 0;
    for (const auto& [name, value] : values) {
      if (value.producer < 0 && value.readers == 0) continue;
      if (value.producer == v) {
        live += value.bytes;
        continue;
      }
      const bool produced = value.producer < 0 || (done >> value.producer & 1u);
      if (!produced) continue;
      if (value.output || (value.readers & ~done) != 0) live += value.bytes;
    }
    return live;
  };
  const uint32_t full = (1u << n) - 1;
  std::vector<uint64_t> best(static_cast<size_t>(full) + 1, std::numeric_limits<uint64_t>::max());
  best[0] = 0;
  for (uint32_t set = 0; set < full; ++set) {
    if (best[set] == std::numeric_limits<uint64_t>::max()) continue;
    for (int v = 0; v < n; ++v) {
      if (set >> v & 1u) continue;
      bool ready = true;
      for (int p : predecessors[static_cast<size_t>(v)]) ready = ready && (set >> p & 1u);
      if (!ready) continue;
      const uint32_t next = set | (1u << v);
      best[next] = std::min(best[next], std::max(best[set], cost(set, v)));
    }
  }
  return best[full];
}

// A series-parallel graph that remembers its parallel regions.
struct SpGraph {
  graph::Graph graph;
  ValueBytes bytes;
  // Structure for the enumeration: a tree of sequences and parallels over node indices.
  struct Item {
    bool parallel = false;
    int node = -1;                            // a leaf
    std::vector<std::vector<Item>> branches;  // a parallel: branches, each a sequence
  };
  std::vector<Item> root;  // a sequence
};

class SpGenerator {
 public:
  explicit SpGenerator(uint64_t seed) : random_(seed) {}

  SpGraph make(int max_depth) {
    SpGraph sp;
    graph_ = &sp;
    counter_ = 0;
    std::vector<std::string> current;
    const int inputs = static_cast<int>(random_.uniform_int(1, 2));
    for (int i = 0; i < inputs; ++i) {
      const std::string name = "in" + std::to_string(i);
      sp.graph.inputs.push_back({name, graph::DataType::UInt8, {1}});
      sp.bytes[name] = size();
      current.push_back(name);
    }
    sp.root = sequence(max_depth, current, 4);
    for (const auto& value : current)
      sp.graph.outputs.push_back({value, graph::DataType::UInt8, {}});
    return sp;
  }

 private:
  uint64_t size() { return static_cast<uint64_t>(random_.uniform_int(1, 12)) * 16; }

  // A leaf reading `current`, producing one or two values (a second one is sometimes a graph
  // output or read by nobody).
  SpGraph::Item leaf(std::vector<std::string>& current) {
    graph::Node node;
    node.name = "n" + std::to_string(counter_++);
    node.op_type = "Op";
    node.inputs = current;
    const std::string out = node.name + "_y";
    node.outputs.push_back(out);
    graph_->bytes[out] = size();
    std::vector<std::string> next{out};
    const int64_t extra = random_.uniform_int(0, 9);
    if (extra <= 2) {  // a second value for the next item
      const std::string second = node.name + "_z";
      node.outputs.push_back(second);
      graph_->bytes[second] = size();
      next.push_back(second);
    } else if (extra == 3) {  // a side result that is a graph output
      const std::string side = node.name + "_out";
      node.outputs.push_back(side);
      graph_->bytes[side] = size();
      graph_->graph.outputs.push_back({side, graph::DataType::UInt8, {}});
    } else if (extra == 4) {  // a value nobody reads
      const std::string dead = node.name + "_dead";
      node.outputs.push_back(dead);
      graph_->bytes[dead] = size();
    }
    graph_->graph.nodes.push_back(node);
    current = next;
    SpGraph::Item item;
    item.node = static_cast<int>(graph_->graph.nodes.size()) - 1;
    return item;
  }

  // A sequence of 1..max_items items ending with a leaf; `current` is updated to its outputs.
  std::vector<SpGraph::Item> sequence(int depth, std::vector<std::string>& current, int max_items) {
    std::vector<SpGraph::Item> items;
    const int count = static_cast<int>(random_.uniform_int(1, max_items));
    for (int i = 0; i < count; ++i) {
      if (depth > 0 && random_.uniform() < 0.5) {
        items.push_back(parallel(depth, current));
        items.push_back(leaf(current));  // the join
      } else {
        items.push_back(leaf(current));
      }
    }
    return items;
  }

  // Branches reading non-empty subsets of `current`; `current` becomes their outputs plus the
  // values skipped to the join (residual connections).
  SpGraph::Item parallel(int depth, std::vector<std::string>& current) {
    SpGraph::Item item;
    item.parallel = true;
    const int branches = static_cast<int>(random_.uniform_int(2, 4));
    std::vector<std::string> joined;
    for (int b = 0; b < branches; ++b) {
      std::vector<std::string> reads;
      for (const auto& value : current) {
        if (random_.uniform() < 0.6) reads.push_back(value);
      }
      if (reads.empty())
        reads.push_back(current[static_cast<size_t>(
            random_.uniform_int(0, static_cast<int64_t>(current.size()) - 1))]);
      item.branches.push_back(sequence(depth - 1, reads, 2));
      joined.insert(joined.end(), reads.begin(), reads.end());
    }
    for (const auto& value : current) {
      if (random_.uniform() < 0.3) joined.push_back(value);  // skip connection
    }
    current = joined;
    return item;
  }

  graph::SplitMix64 random_;
  SpGraph* graph_ = nullptr;
  int counter_ = 0;
};

// Every order of an SP structure that keeps each branch contiguous (calls `visit` per order);
// returns false when more than `limit` orders exist (nothing visited then).
inline uint64_t count_contiguous_orders(const std::vector<SpGraph::Item>& sequence);
inline uint64_t count_item_orders(const SpGraph::Item& item) {
  if (!item.parallel) return 1;
  uint64_t count = 1;
  for (size_t b = 1; b <= item.branches.size(); ++b) count *= b;  // branch permutations
  for (const auto& branch : item.branches) count *= count_contiguous_orders(branch);
  return count;
}
inline uint64_t count_contiguous_orders(const std::vector<SpGraph::Item>& sequence) {
  uint64_t count = 1;
  for (const auto& item : sequence) count *= count_item_orders(item);
  return count;
}

// Orders of a sequence, as vectors of nodes.
inline std::vector<std::vector<int>> contiguous_orders(const std::vector<SpGraph::Item>& sequence) {
  std::vector<std::vector<int>> orders{{}};
  for (const auto& item : sequence) {
    std::vector<std::vector<int>> item_orders;
    if (!item.parallel) {
      item_orders.push_back({item.node});
    } else {
      std::vector<std::vector<std::vector<int>>> branch_orders;
      for (const auto& branch : item.branches) branch_orders.push_back(contiguous_orders(branch));
      std::vector<int> permutation(item.branches.size());
      std::iota(permutation.begin(), permutation.end(), 0);
      do {
        std::vector<std::vector<int>> partial{{}};
        for (int b : permutation) {
          std::vector<std::vector<int>> extended;
          for (const auto& prefix : partial) {
            for (const auto& tail : branch_orders[static_cast<size_t>(b)]) {
              auto joined = prefix;
              joined.insert(joined.end(), tail.begin(), tail.end());
              extended.push_back(std::move(joined));
            }
          }
          partial = std::move(extended);
        }
        item_orders.insert(item_orders.end(), partial.begin(), partial.end());
      } while (std::next_permutation(permutation.begin(), permutation.end()));
    }
    std::vector<std::vector<int>> extended;
    for (const auto& prefix : orders) {
      for (const auto& tail : item_orders) {
        auto joined = prefix;
        joined.insert(joined.end(), tail.begin(), tail.end());
        extended.push_back(std::move(joined));
      }
    }
    orders = std::move(extended);
  }
  return orders;
}

// The node sets of every branch of every parallel region (for the contiguity filter).
inline void branch_node_sets(const std::vector<SpGraph::Item>& sequence,
                             std::vector<std::vector<int>>& sets) {
  auto nodes_of = [](const std::vector<SpGraph::Item>& seq, auto& self) -> std::vector<int> {
    std::vector<int> nodes;
    for (const auto& item : seq) {
      if (!item.parallel) {
        nodes.push_back(item.node);
      } else {
        for (const auto& branch : item.branches) {
          auto inner = self(branch, self);
          nodes.insert(nodes.end(), inner.begin(), inner.end());
        }
      }
    }
    return nodes;
  };
  for (const auto& item : sequence) {
    if (!item.parallel) continue;
    for (const auto& branch : item.branches) {
      sets.push_back(nodes_of(branch, nodes_of));
      branch_node_sets(branch, sets);
    }
  }
}

// Calls `visit` for every topological order of the graph (DFS); stops after `limit` orders and
// returns false then.
inline bool for_each_topological_order(const graph::Graph& graph, uint64_t limit,
                                       const std::function<void(const std::vector<int>&)>& visit) {
  const int n = static_cast<int>(graph.nodes.size());
  const auto predecessors = predecessors_of(graph);
  std::vector<int> order;
  std::vector<char> done(static_cast<size_t>(n), 0);
  uint64_t visited = 0;
  std::function<bool()> recurse = [&]() {
    if (static_cast<int>(order.size()) == n) {
      if (++visited > limit) return false;
      visit(order);
      return true;
    }
    for (int v = 0; v < n; ++v) {
      if (done[static_cast<size_t>(v)]) continue;
      bool ready = true;
      for (int p : predecessors[static_cast<size_t>(v)])
        ready = ready && done[static_cast<size_t>(p)];
      if (!ready) continue;
      done[static_cast<size_t>(v)] = 1;
      order.push_back(v);
      const bool go_on = recurse();
      order.pop_back();
      done[static_cast<size_t>(v)] = 0;
      if (!go_on) return false;
    }
    return true;
  };
  return recurse();
}

// A random DAG in topological order: every node reads 1..3 earlier values (or graph inputs).
inline GraphBuilder random_dag(uint64_t seed, int nodes) {
  graph::SplitMix64 random(seed);
  GraphBuilder builder;
  std::vector<std::string> values;
  const int inputs = static_cast<int>(random.uniform_int(1, 3));
  for (int i = 0; i < inputs; ++i) {
    values.push_back("in" + std::to_string(i));
    builder.input(values.back(), static_cast<uint64_t>(random.uniform_int(1, 10)) * 8);
  }
  std::set<std::string> read;
  for (int n = 0; n < nodes; ++n) {
    std::vector<std::string> reads;
    const int count = static_cast<int>(random.uniform_int(1, 3));
    for (int r = 0; r < count; ++r) {
      // Favour recent values so that chains and forks appear.
      const int64_t span = std::min<int64_t>(static_cast<int64_t>(values.size()), 6);
      const auto& value =
          values[values.size() - 1 - static_cast<size_t>(random.uniform_int(0, span - 1))];
      if (std::find(reads.begin(), reads.end(), value) == reads.end()) reads.push_back(value);
    }
    for (const auto& value : reads) read.insert(value);
    std::vector<std::pair<std::string, uint64_t>> outputs;
    const int produced = random.uniform() < 0.2 ? 2 : 1;
    for (int o = 0; o < produced; ++o) {
      outputs.push_back({"v" + std::to_string(n) + "_" + std::to_string(o),
                         static_cast<uint64_t>(random.uniform_int(1, 10)) * 8});
      values.push_back(outputs.back().first);
    }
    builder.node("n" + std::to_string(n), reads, outputs);
  }
  for (const auto& value : values) {
    if (!read.count(value) && value.rfind("in", 0) != 0) builder.output(value);
  }
  return builder;
}

}  // namespace cimtlm::map::testing
