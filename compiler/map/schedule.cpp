#include "compiler/map/schedule.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <set>
#include <stdexcept>

namespace cimtlm::map {

namespace {

using graph::ModelError;

void add_unique(std::vector<int>& list, int value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

uint64_t saturating_minus(uint64_t value, uint64_t minus) {
  return value > minus ? value - minus : 0;
}

uint64_t max_of(const std::vector<uint64_t>& values, size_t begin = 0,
                size_t end = std::numeric_limits<size_t>::max()) {
  uint64_t peak = 0;
  for (size_t i = begin; i < std::min(end, values.size()); ++i) peak = std::max(peak, values[i]);
  return peak;
}

bool contains(const std::vector<int>& sorted, int value) {
  return std::binary_search(sorted.begin(), sorted.end(), value);
}

// ---- decomposition into series and parallel blocks ---------------------------------------------

struct Block {
  enum class Kind { Leaf, Sequence, Parallel, Fixed };
  Kind kind = Kind::Leaf;
  std::vector<int> nodes;     // graph nodes; Fixed: in its (the graph's) execution order
  std::vector<int> children;  // Sequence: in execution order; Parallel: branches in graph order
  std::vector<int> inputs;    // buffers read but not produced inside, sorted
  std::vector<int> produced;  // buffers produced inside, sorted
  std::vector<int> escaping;  // produced buffers still live after the block, sorted
  uint64_t escaping_bytes = 0;
  // Parallel: for each input (parallel to `inputs`), the branches that read it.
  std::vector<std::vector<int>> input_branches;
};

struct Evaluation {
  uint64_t peak = 0;
  std::vector<int> order;  // Parallel: branch order reaching `peak`
  std::string method;
};

struct Decision {
  int block = -1;
  std::vector<std::vector<int>> branch_nodes;  // execution order of each branch (graph order index)
  std::vector<int> order;
  size_t begin = 0;  // position range of the region in the final order
  size_t end = 0;
  std::string method;
};

class Planner {
 public:
  Planner(const Liveness& model, const ScheduleOptions& options)
      : model_(model), options_(options), membership_(static_cast<size_t>(model.node_count), 0) {}

  // Builds the block tree of the whole graph; returns the root.
  int build() {
    std::vector<int> all(static_cast<size_t>(model_.node_count));
    std::iota(all.begin(), all.end(), 0);
    return decompose(all);
  }

  // Inputs of the root that die inside the graph: graph inputs that are not graph outputs.
  std::vector<int> root_dying(int root) const {
    std::vector<int> dying;
    for (int buffer : block(root).inputs) {
      if (!model_.buffer_graph_output[static_cast<size_t>(buffer)]) dying.push_back(buffer);
    }
    return dying;
  }

  const Evaluation& evaluate(int id, const std::vector<int>& dying) {
    auto key = std::make_pair(id, dying);
    auto found = memo_.find(key);
    if (found != memo_.end()) return found->second;
    Evaluation evaluation;
    const Block& b = block(id);
    switch (b.kind) {
      case Block::Kind::Leaf:
        for (int buffer : b.inputs) evaluation.peak += bytes(buffer);
        for (int buffer : b.produced) evaluation.peak += bytes(buffer);
        break;
      case Block::Kind::Fixed:
        evaluation.peak = fixed_peak(b, dying);
        break;
      case Block::Kind::Sequence: {
        const auto contexts = sequence_contexts(b, dying);
        for (size_t k = 0; k < b.children.size(); ++k) {
          const uint64_t child = evaluate(b.children[k], contexts[k].dying).peak;
          evaluation.peak = std::max(evaluation.peak, contexts[k].offset + child);
        }
        break;
      }
      case Block::Kind::Parallel:
        evaluation = best_branch_order(id, dying);
        break;
    }
    return memo_.emplace(std::move(key), std::move(evaluation)).first->second;
  }

  // Appends the nodes of block `id` to `order`. `budget` (bytes over the block's own measure)
  // set: each region takes its first branch order within the budget; unset: its minimal order.
  void assemble(int id, const std::vector<int>& dying, std::optional<uint64_t> budget,
                std::vector<int>& order) {
    const Block& b = block(id);
    switch (b.kind) {
      case Block::Kind::Leaf:
      case Block::Kind::Fixed:
        order.insert(order.end(), b.nodes.begin(), b.nodes.end());
        return;
      case Block::Kind::Sequence: {
        const auto contexts = sequence_contexts(b, dying);
        for (size_t k = 0; k < b.children.size(); ++k) {
          std::optional<uint64_t> child_budget;
          if (budget) child_budget = saturating_minus(*budget, contexts[k].offset);
          assemble(b.children[k], contexts[k].dying, child_budget, order);
        }
        return;
      }
      case Block::Kind::Parallel:
        assemble_parallel(id, dying, budget, order);
        return;
    }
  }

  std::vector<Decision>& decisions() { return decisions_; }
  const Block& block(int id) const { return blocks_[static_cast<size_t>(id)]; }

  // "conv1" / "a+b" / "input": the producers of the block's inputs.
  std::string fork_name(const Block& b) const {
    std::vector<std::string> names;
    for (int buffer : b.inputs) {
      const int producer = model_.buffer_producer[static_cast<size_t>(buffer)];
      const std::string name =
          producer >= 0 ? model_.node_names[static_cast<size_t>(producer)] : "input";
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    return joined(names);
  }
  // The consumers after the block of what it leaves live ("" for graph outputs).
  std::string join_name(const Block& b) const {
    std::vector<int> consumers;
    bool graph_output = false;
    for (int buffer : b.escaping) {
      graph_output = graph_output || model_.buffer_graph_output[static_cast<size_t>(buffer)];
      for (int consumer : model_.buffer_consumers[static_cast<size_t>(buffer)]) {
        if (!std::binary_search(b.nodes.begin(), b.nodes.end(), consumer))
          add_unique(consumers, consumer);
      }
    }
    std::sort(consumers.begin(), consumers.end());
    std::vector<std::string> names;
    for (int consumer : consumers)
      names.push_back(model_.node_names[static_cast<size_t>(consumer)]);
    if (graph_output) names.push_back("output");
    return joined(names);
  }

  std::string first_node_name(int id) const {
    return model_.node_names[static_cast<size_t>(block(id).nodes.front())];
  }

 private:
  struct ChildContext {
    uint64_t offset = 0;     // bytes live during the child besides its own buffers and inputs
    std::vector<int> dying;  // the child's inputs whose last reader is inside the child
  };

  uint64_t bytes(int buffer) const { return model_.buffer_bytes[static_cast<size_t>(buffer)]; }

  static std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) {
      if (!text.empty()) text += "+";
      text += name;
    }
    return text;
  }

  // Nodes must be given ascending (the graph's order is topological).
  int decompose(const std::vector<int>& nodes) {
    if (nodes.size() == 1) {
      Block leaf;
      leaf.kind = Block::Kind::Leaf;
      leaf.nodes = nodes;
      return add_block(std::move(leaf), {});
    }
    const auto components = connected_components(nodes);
    if (components.size() > 1) {
      Block parallel;
      parallel.kind = Block::Kind::Parallel;
      parallel.nodes = nodes;
      std::vector<int> branches;
      for (const auto& component : components) branches.push_back(decompose(component));
      return add_block(std::move(parallel), branches);
    }
    const std::vector<char> cut = cut_nodes(nodes);
    if (std::none_of(cut.begin(), cut.end(), [](char c) { return c != 0; })) {
      Block fixed;  // neither series nor parallel: keep the graph's order
      fixed.kind = Block::Kind::Fixed;
      fixed.nodes = nodes;
      return add_block(std::move(fixed), {});
    }
    Block sequence;
    sequence.kind = Block::Kind::Sequence;
    sequence.nodes = nodes;
    std::vector<int> children;
    std::vector<int> segment;
    auto flush = [&]() {
      if (segment.empty()) return;
      const int child = decompose(segment);
      // A segment that is itself a sequence is spliced in (one flat series).
      if (block(child).kind == Block::Kind::Sequence) {
        const auto grandchildren = block(child).children;
        children.insert(children.end(), grandchildren.begin(), grandchildren.end());
      } else {
        children.push_back(child);
      }
      segment.clear();
    };
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (cut[i]) {
        flush();
        segment.push_back(nodes[i]);
        flush();
      } else {
        segment.push_back(nodes[i]);
      }
    }
    flush();
    return add_block(std::move(sequence), children);
  }

  std::vector<std::vector<int>> connected_components(const std::vector<int>& nodes) {
    for (size_t i = 0; i < nodes.size(); ++i)
      membership_[static_cast<size_t>(nodes[i])] = static_cast<int>(i) + 1;
    std::vector<int> parent(nodes.size());
    std::iota(parent.begin(), parent.end(), 0);
    auto find = [&](int x) {
      while (parent[static_cast<size_t>(x)] != x) {
        parent[static_cast<size_t>(x)] =
            parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
        x = parent[static_cast<size_t>(x)];
      }
      return x;
    };
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (int successor : model_.successors[static_cast<size_t>(nodes[i])]) {
        const int j = membership_[static_cast<size_t>(successor)] - 1;
        if (j < 0) continue;
        const int a = find(static_cast<int>(i)), b = find(j);
        if (a != b) parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
      }
    }
    std::map<int, std::vector<int>> by_root;  // roots ascending = components by first node
    for (size_t i = 0; i < nodes.size(); ++i)
      by_root[find(static_cast<int>(i))].push_back(nodes[i]);
    for (int node : nodes) membership_[static_cast<size_t>(node)] = 0;
    std::vector<std::vector<int>> components;
    for (auto& entry : by_root) components.push_back(std::move(entry.second));
    return components;
  }

  // Nodes of a connected set that every path from the set's entries to its exits passes through.
  // With the set in topological order, a virtual source before it feeding every entry (a node
  // with no predecessor inside the set) and a virtual sink after it fed by every exit (a node
  // with no successor inside the set), a node is a cut when no edge jumps over it. Only
  // dependencies count: graph inputs and outputs do not constrain the order (their memory is
  // accounted for exactly by the evaluation).
  std::vector<char> cut_nodes(const std::vector<int>& nodes) {
    const int count = static_cast<int>(nodes.size());
    for (int i = 0; i < count; ++i)
      membership_[static_cast<size_t>(nodes[static_cast<size_t>(i)])] = i + 1;
    int last_entry = -1;
    int first_exit = count;
    std::vector<int> reach(static_cast<size_t>(count), -1);  // furthest successor inside
    for (int i = 0; i < count; ++i) {
      const int node = nodes[static_cast<size_t>(i)];
      bool entry = model_.predecessors[static_cast<size_t>(node)].empty();
      for (int predecessor : model_.predecessors[static_cast<size_t>(node)]) {
        if (membership_[static_cast<size_t>(predecessor)] == 0) entry = true;
      }
      if (entry) last_entry = std::max(last_entry, i);
      bool exit = model_.successors[static_cast<size_t>(node)].empty();
      for (int successor : model_.successors[static_cast<size_t>(node)]) {
        const int j = membership_[static_cast<size_t>(successor)] - 1;
        if (j < 0) {
          exit = true;
        } else {
          reach[static_cast<size_t>(i)] = std::max(reach[static_cast<size_t>(i)], j);
        }
      }
      if (exit) first_exit = std::min(first_exit, i);
    }
    std::vector<char> cut(static_cast<size_t>(count), 0);
    int furthest = -1;  // furthest head of the edges leaving positions before i
    for (int i = 0; i < count; ++i) {
      cut[static_cast<size_t>(i)] = furthest <= i && last_entry <= i && first_exit >= i;
      furthest = std::max(furthest, reach[static_cast<size_t>(i)]);
    }
    for (int node : nodes) membership_[static_cast<size_t>(node)] = 0;
    return cut;
  }

  int add_block(Block b, const std::vector<int>& children) {
    b.children = children;
    for (int node : b.nodes) membership_[static_cast<size_t>(node)] = 1;
    std::set<int> produced, read;
    for (int node : b.nodes) {
      for (int buffer : model_.defs[static_cast<size_t>(node)]) produced.insert(buffer);
      for (int buffer : model_.uses[static_cast<size_t>(node)]) read.insert(buffer);
    }
    for (int buffer : read) {
      if (!produced.count(buffer)) b.inputs.push_back(buffer);
    }
    b.produced.assign(produced.begin(), produced.end());
    for (int buffer : b.produced) {
      bool escapes = model_.buffer_graph_output[static_cast<size_t>(buffer)] != 0;
      for (int consumer : model_.buffer_consumers[static_cast<size_t>(buffer)]) {
        if (!membership_[static_cast<size_t>(consumer)]) escapes = true;
      }
      if (escapes) {
        b.escaping.push_back(buffer);
        b.escaping_bytes += bytes(buffer);
      }
    }
    for (int node : b.nodes) membership_[static_cast<size_t>(node)] = 0;
    if (b.kind == Block::Kind::Parallel) {
      b.input_branches.resize(b.inputs.size());
      for (size_t x = 0; x < b.inputs.size(); ++x) {
        for (size_t branch = 0; branch < children.size(); ++branch) {
          if (contains(block(children[branch]).inputs, b.inputs[x])) {
            b.input_branches[x].push_back(static_cast<int>(branch));
          }
        }
      }
    }
    blocks_.push_back(std::move(b));
    return static_cast<int>(blocks_.size()) - 1;
  }

  // ---- evaluation --------------------------------------------------------------------------

  uint64_t fixed_peak(const Block& b, const std::vector<int>& dying) const {
    std::map<int, int> step_of;
    for (size_t i = 0; i < b.nodes.size(); ++i) step_of[b.nodes[i]] = static_cast<int>(i);
    const int last = static_cast<int>(b.nodes.size()) - 1;
    std::vector<int64_t> delta(b.nodes.size() + 1, 0);
    auto last_reader = [&](int buffer, int from) {
      int at = from;
      for (int consumer : model_.buffer_consumers[static_cast<size_t>(buffer)]) {
        auto found = step_of.find(consumer);
        if (found != step_of.end()) at = std::max(at, found->second);
      }
      return at;
    };
    auto add = [&](int buffer, int first, int end) {
      delta[static_cast<size_t>(first)] += static_cast<int64_t>(bytes(buffer));
      delta[static_cast<size_t>(end) + 1] -= static_cast<int64_t>(bytes(buffer));
    };
    for (int buffer : b.inputs)
      add(buffer, 0, contains(dying, buffer) ? last_reader(buffer, 0) : last);
    for (int buffer : b.produced) {
      const int first = step_of.at(model_.buffer_producer[static_cast<size_t>(buffer)]);
      add(buffer, first, contains(b.escaping, buffer) ? last : last_reader(buffer, first));
    }
    uint64_t peak = 0;
    int64_t running = 0;
    for (size_t i = 0; i < b.nodes.size(); ++i) {
      running += delta[i];
      peak = std::max(peak, static_cast<uint64_t>(running));
    }
    return peak;
  }

  std::vector<ChildContext> sequence_contexts(const Block& b, const std::vector<int>& dying) const {
    // Every buffer the sequence touches: where it is produced, its last reading child, and
    // whether it survives the sequence.
    struct Touch {
      int buffer;
      int producer_child;  // -1: an input of the sequence
      int last_child;      // -1: read by no child
      bool survives;
    };
    std::vector<Touch> touched;
    std::map<int, size_t> index_of;
    for (int buffer : b.inputs) {
      index_of[buffer] = touched.size();
      touched.push_back({buffer, -1, -1, !contains(dying, buffer)});
    }
    for (int buffer : b.produced) {
      index_of[buffer] = touched.size();
      touched.push_back({buffer, -1, -1, contains(b.escaping, buffer)});
    }
    for (size_t k = 0; k < b.children.size(); ++k) {
      const Block& child = block(b.children[k]);
      for (int buffer : child.produced)
        touched[index_of.at(buffer)].producer_child = static_cast<int>(k);
      for (int buffer : child.inputs) touched[index_of.at(buffer)].last_child = static_cast<int>(k);
    }
    std::vector<ChildContext> contexts(b.children.size());
    for (size_t k = 0; k < b.children.size(); ++k) {
      const Block& child = block(b.children[k]);
      const int position = static_cast<int>(k);
      for (const Touch& touch : touched) {
        if (touch.producer_child == position) continue;
        if (contains(child.inputs, touch.buffer)) {
          if (touch.last_child == position && !touch.survives) {
            contexts[k].dying.push_back(touch.buffer);
          }
          continue;
        }
        if (touch.producer_child > position) continue;
        if (touch.survives || touch.last_child > position)
          contexts[k].offset += bytes(touch.buffer);
      }
      std::sort(contexts[k].dying.begin(), contexts[k].dying.end());
    }
    return contexts;
  }

  // Branch `branch` of parallel block `b` running after the branches marked in `done`.
  ChildContext branch_context(const Block& b, int branch, const std::vector<char>& done,
                              const std::vector<int>& dying) const {
    ChildContext context;
    for (size_t j = 0; j < b.children.size(); ++j) {
      if (done[j]) context.offset += block(b.children[j]).escaping_bytes;
    }
    for (size_t x = 0; x < b.inputs.size(); ++x) {
      const auto& readers = b.input_branches[x];
      const bool survives = !contains(dying, b.inputs[x]);
      const bool read_here = std::find(readers.begin(), readers.end(), branch) != readers.end();
      bool read_later = false;
      for (int reader : readers) {
        if (reader != branch && !done[static_cast<size_t>(reader)]) read_later = true;
      }
      if (read_here) {
        if (!survives && !read_later) context.dying.push_back(b.inputs[x]);
      } else if (survives || read_later) {
        context.offset += bytes(b.inputs[x]);
      }
    }
    return context;  // inputs ascending, so `dying` is sorted
  }

  uint64_t branch_cost(int id, int branch, const std::vector<char>& done,
                       const std::vector<int>& dying) {
    const Block& b = block(id);
    const ChildContext context = branch_context(b, branch, done, dying);
    const int child = b.children[static_cast<size_t>(branch)];
    return context.offset + evaluate(child, context.dying).peak;
  }

  uint64_t order_peak(int id, const std::vector<int>& order, const std::vector<int>& dying) {
    std::vector<char> done(block(id).children.size(), 0);
    uint64_t peak = 0;
    for (int branch : order) {
      peak = std::max(peak, branch_cost(id, branch, done, dying));
      done[static_cast<size_t>(branch)] = 1;
    }
    return peak;
  }

  Evaluation best_branch_order(int id, const std::vector<int>& dying) {
    const int branches = static_cast<int>(block(id).children.size());
    Evaluation evaluation;
    std::vector<int> identity(static_cast<size_t>(branches));
    std::iota(identity.begin(), identity.end(), 0);
    if (branches <= options_.exact_branch_limit && branches < 31) {
      // best[S]: least peak of running the branches in S first, in some order. The cost of a
      // branch depends only on the set run before it, so best[S] = min over the last branch i of
      // max(best[S - i], cost(i after S - i)).
      const uint32_t full = (1u << branches) - 1;
      std::vector<uint64_t> best(static_cast<size_t>(full) + 1,
                                 std::numeric_limits<uint64_t>::max());
      std::vector<int> last(static_cast<size_t>(full) + 1, -1);
      best[0] = 0;
      std::vector<char> done(static_cast<size_t>(branches), 0);
      for (uint32_t set = 1; set <= full; ++set) {
        for (int i = branches - 1; i >= 0; --i) {  // ties: the latest branch last (graph order)
          if (!(set & (1u << i))) continue;
          const uint32_t before = set & ~(1u << i);
          for (int j = 0; j < branches; ++j) done[static_cast<size_t>(j)] = (before >> j) & 1u;
          const uint64_t cost = std::max(best[before], branch_cost(id, i, done, dying));
          if (cost < best[set]) {
            best[set] = cost;
            last[set] = i;
          }
        }
      }
      evaluation.peak = best[full];
      for (uint32_t set = full; set != 0; set &= ~(1u << last[set]))
        evaluation.order.push_back(last[set]);
      std::reverse(evaluation.order.begin(), evaluation.order.end());
      evaluation.method = "exact";
      return evaluation;
    }
    // Greedy: the classic order for series-parallel graphs runs branches by (peak - resident
    // output) descending (optimal when branches share no inputs that die inside them).
    std::vector<std::pair<int64_t, int>> keyed;
    const std::vector<char> none(static_cast<size_t>(branches), 0);
    const Block& b = block(id);
    for (int i = 0; i < branches; ++i) {
      std::vector<int> own_dying;
      for (size_t x = 0; x < b.inputs.size(); ++x) {
        if (b.input_branches[x].size() == 1 && b.input_branches[x][0] == i &&
            contains(dying, b.inputs[x])) {
          own_dying.push_back(b.inputs[x]);
        }
      }
      const int child = b.children[static_cast<size_t>(i)];
      const uint64_t peak = evaluate(child, own_dying).peak;
      keyed.emplace_back(
          static_cast<int64_t>(peak) - static_cast<int64_t>(block(child).escaping_bytes), i);
    }
    std::stable_sort(keyed.begin(), keyed.end(),
                     [](const auto& a, const auto& c) { return a.first > c.first; });
    std::vector<int> greedy;
    for (const auto& entry : keyed) greedy.push_back(entry.second);
    const uint64_t greedy_peak = order_peak(id, greedy, dying);
    const uint64_t identity_peak = order_peak(id, identity, dying);
    evaluation.method = "greedy";
    if (identity_peak <= greedy_peak) {
      evaluation.peak = identity_peak;
      evaluation.order = identity;
    } else {
      evaluation.peak = greedy_peak;
      evaluation.order = greedy;
    }
    return evaluation;
  }

  // The lexicographically first branch order (the graph's order first) in which every branch
  // stays within `limit`; empty when there is none. Whether the remaining branches can finish
  // within the limit depends only on the set already run, so failed sets are remembered.
  std::vector<int> first_fit(int id, const std::vector<int>& dying, uint64_t limit) {
    const int branches = static_cast<int>(block(id).children.size());
    const uint32_t full = (1u << branches) - 1;
    std::vector<char> failed(static_cast<size_t>(full) + 1, 0);
    std::vector<char> done(static_cast<size_t>(branches), 0);
    std::vector<int> prefix;
    std::function<bool(uint32_t)> search = [&](uint32_t set) {
      if (set == full) return true;
      if (failed[set]) return false;
      for (int i = 0; i < branches; ++i) {
        if (set & (1u << i)) continue;
        if (branch_cost(id, i, done, dying) > limit) continue;
        done[static_cast<size_t>(i)] = 1;
        prefix.push_back(i);
        if (search(set | (1u << i))) return true;
        done[static_cast<size_t>(i)] = 0;
        prefix.pop_back();
      }
      failed[set] = 1;
      return false;
    };
    if (!search(0)) prefix.clear();
    return prefix;
  }

  void assemble_parallel(int id, const std::vector<int>& dying, std::optional<uint64_t> budget,
                         std::vector<int>& order) {
    const Evaluation evaluation = evaluate(id, dying);  // copy: the memo may grow
    const Block& b = block(id);
    const int branches = static_cast<int>(b.children.size());
    const uint64_t limit = std::max(budget.value_or(0), evaluation.peak);
    std::vector<int> chosen;
    if (branches <= options_.exact_branch_limit && branches < 31) {
      chosen = first_fit(id, dying, limit);
    } else {
      std::vector<int> identity(static_cast<size_t>(branches));
      std::iota(identity.begin(), identity.end(), 0);
      if (order_peak(id, identity, dying) <= limit) chosen = identity;
    }
    if (chosen.empty()) chosen = evaluation.order;

    Decision decision;
    decision.block = id;
    decision.order = chosen;
    decision.method = evaluation.method;
    decision.begin = order.size();
    decision.branch_nodes.resize(static_cast<size_t>(branches));
    const size_t index = decisions_.size();
    decisions_.push_back(decision);
    std::vector<char> done(static_cast<size_t>(branches), 0);
    for (int branch : chosen) {
      const ChildContext context = branch_context(b, branch, done, dying);
      std::optional<uint64_t> child_budget;
      if (budget) child_budget = saturating_minus(limit, context.offset);
      const size_t start = order.size();
      assemble(b.children[static_cast<size_t>(branch)], context.dying, child_budget, order);
      decisions_[index].branch_nodes[static_cast<size_t>(branch)].assign(
          order.begin() + static_cast<std::ptrdiff_t>(start), order.end());
      done[static_cast<size_t>(branch)] = 1;
    }
    decisions_[index].end = order.size();
  }

  const Liveness& model_;
  const ScheduleOptions& options_;
  std::vector<Block> blocks_;
  std::vector<int> membership_;  // scratch, all zero between calls
  std::map<std::pair<int, std::vector<int>>, Evaluation> memo_;
  std::vector<Decision> decisions_;
};

std::string describe_order(const std::vector<std::string>& names) {
  std::string text = "[";
  for (size_t i = 0; i < names.size(); ++i) text += (i ? ", " : "") + names[i];
  return text + "]";
}

}  // namespace

ScheduleResult plan_schedule(const graph::Graph& graph, const graph::ValueMap& values,
                             const ScheduleOptions& options) {
  return plan_schedule(graph, value_bytes(values), options);
}

ScheduleResult plan_schedule(const graph::Graph& graph, const ValueBytes& bytes,
                             const ScheduleOptions& options) {
  return plan_schedule(analyse_liveness(graph, bytes, options), options);
}

ScheduleResult plan_schedule(const Liveness& model, const ScheduleOptions& options) {
  ScheduleResult result;
  std::vector<int> naive(static_cast<size_t>(model.node_count));
  std::iota(naive.begin(), naive.end(), 0);
  const std::vector<uint64_t> naive_live = live_bytes_per_step(model, naive);
  result.naive_peak_bytes = max_of(naive_live);
  auto keep_naive = [&]() {
    result.node_order = naive;
    result.peak_bytes = result.naive_peak_bytes;
    result.decisions.clear();
    result.branch_order.clear();
  };
  auto finish_target = [&]() {
    result.target_met =
        !options.memory_target_bytes || result.peak_bytes <= *options.memory_target_bytes;
  };
  if (model.node_count == 0 ||
      (options.memory_target_bytes && result.naive_peak_bytes <= *options.memory_target_bytes)) {
    keep_naive();  // nothing to order, or the graph's order already fits
    finish_target();
    return result;
  }

  Planner planner(model, options);
  const int root = planner.build();
  const std::vector<int> root_dying = planner.root_dying(root);
  const uint64_t minimum = planner.evaluate(root, root_dying).peak;
  planner.assemble(root, root_dying, options.memory_target_bytes, result.node_order);
  const std::vector<uint64_t> live = live_bytes_per_step(model, result.node_order);
  result.peak_bytes = max_of(live);
  if (!options.memory_target_bytes && result.peak_bytes != minimum) {
    throw std::logic_error("plan_schedule: the assembled order's peak (" +
                           std::to_string(result.peak_bytes) + ") differs from its evaluation (" +
                           std::to_string(minimum) + ")");
  }
  if (result.naive_peak_bytes < result.peak_bytes) {
    // The graph's order interleaves branches and needs less than any order that keeps them
    // contiguous.
    keep_naive();
    finish_target();
    return result;
  }

  for (const Decision& decision : planner.decisions()) {
    const Block& region = planner.block(decision.block);
    BranchDecision report;
    report.fork = planner.fork_name(region);
    report.join = planner.join_name(region);
    for (int child : region.children) report.branches.push_back(planner.first_node_name(child));
    report.order = decision.order;
    report.method = decision.method;
    report.peak_bytes = max_of(live, decision.begin, decision.end);
    // The same schedule with this region's branches in the graph's order.
    std::vector<int> naive_region(
        result.node_order.begin(),
        result.node_order.begin() + static_cast<std::ptrdiff_t>(decision.begin));
    for (const auto& nodes : decision.branch_nodes)
      naive_region.insert(naive_region.end(), nodes.begin(), nodes.end());
    naive_region.insert(naive_region.end(),
                        result.node_order.begin() + static_cast<std::ptrdiff_t>(decision.end),
                        result.node_order.end());
    report.naive_peak_bytes =
        max_of(live_bytes_per_step(model, naive_region), decision.begin, decision.end);
    std::vector<std::string> names;
    for (int branch : report.order) names.push_back(report.branches[static_cast<size_t>(branch)]);
    if (!result.branch_order.empty()) result.branch_order += "; ";
    result.branch_order += report.fork + " -> " + report.join + ": " + describe_order(names);
    result.decisions.push_back(std::move(report));
  }
  finish_target();
  return result;
}

}  // namespace cimtlm::map
