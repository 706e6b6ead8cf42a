#include "compiler/graph/graph.h"

#include <set>

namespace cimtlm::graph {

Attribute Attribute::of_int(int64_t value) {
  Attribute attribute;
  attribute.kind = Kind::Int;
  attribute.i = value;
  return attribute;
}
Attribute Attribute::of_float(float value) {
  Attribute attribute;
  attribute.kind = Kind::Float;
  attribute.f = value;
  return attribute;
}
Attribute Attribute::of_string(std::string value) {
  Attribute attribute;
  attribute.kind = Kind::String;
  attribute.s = std::move(value);
  return attribute;
}
Attribute Attribute::of_ints(std::vector<int64_t> values) {
  Attribute attribute;
  attribute.kind = Kind::Ints;
  attribute.ints = std::move(values);
  return attribute;
}
Attribute Attribute::of_floats(std::vector<float> values) {
  Attribute attribute;
  attribute.kind = Kind::Floats;
  attribute.floats = std::move(values);
  return attribute;
}
Attribute Attribute::of_tensor(graph::Tensor value) {
  Attribute attribute;
  attribute.kind = Kind::Tensor;
  attribute.tensor = std::make_shared<const graph::Tensor>(std::move(value));
  return attribute;
}

namespace {
const Attribute* lookup(const Node& node, const std::string& name, Attribute::Kind kind) {
  auto found = node.attributes.find(name);
  if (found == node.attributes.end()) return nullptr;
  if (found->second.kind != kind) {
    throw ModelError(node.describe() + ": attribute '" + name + "' has the wrong type");
  }
  return &found->second;
}
[[noreturn]] void missing(const Node& node, const std::string& name) {
  throw ModelError(node.describe() + ": required attribute '" + name + "' is missing");
}
}  // namespace

int64_t Node::get_int(const std::string& attribute, int64_t fallback) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::Int);
  return found ? found->i : fallback;
}
int64_t Node::get_int(const std::string& attribute) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::Int);
  if (!found) missing(*this, attribute);
  return found->i;
}
float Node::get_float(const std::string& attribute, float fallback) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::Float);
  return found ? found->f : fallback;
}
float Node::get_float(const std::string& attribute) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::Float);
  if (!found) missing(*this, attribute);
  return found->f;
}
std::string Node::get_string(const std::string& attribute, const std::string& fallback) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::String);
  return found ? found->s : fallback;
}
std::vector<int64_t> Node::get_ints(const std::string& attribute,
                                    const std::vector<int64_t>& fallback) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::Ints);
  return found ? found->ints : fallback;
}
std::vector<int64_t> Node::get_ints(const std::string& attribute) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::Ints);
  if (!found) missing(*this, attribute);
  return found->ints;
}
std::vector<float> Node::get_floats(const std::string& attribute,
                                    const std::vector<float>& fallback) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::Floats);
  return found ? found->floats : fallback;
}
std::vector<float> Node::get_floats(const std::string& attribute) const {
  const Attribute* found = lookup(*this, attribute, Attribute::Kind::Floats);
  if (!found) missing(*this, attribute);
  return found->floats;
}

std::string Node::describe() const {
  std::string text = "node '" + (name.empty() ? (outputs.empty() ? std::string("?") : outputs[0])
                                               : name) + "' (";
  if (!domain.empty()) text += domain + ".";
  return text + op_type + ")";
}

size_t Node::input_count() const {
  size_t count = inputs.size();
  while (count > 0 && inputs[count - 1].empty()) --count;
  return count;
}

const Tensor* Graph::initializer(const std::string& value) const {
  auto found = initializers.find(value);
  return found == initializers.end() ? nullptr : &found->second;
}

int Graph::producer(const std::string& value) const {
  for (size_t index = 0; index < nodes.size(); ++index) {
    for (const auto& output : nodes[index].outputs) {
      if (output == value) return static_cast<int>(index);
    }
  }
  return -1;
}

std::vector<int> Graph::consumers(const std::string& value) const {
  std::vector<int> found;
  for (size_t index = 0; index < nodes.size(); ++index) {
    for (const auto& input : nodes[index].inputs) {
      if (input == value) {
        found.push_back(static_cast<int>(index));
        break;
      }
    }
  }
  return found;
}

void Graph::sort_topologically() {
  std::set<std::string> available;
  for (const auto& input : inputs) available.insert(input.name);
  for (const auto& entry : initializers) available.insert(entry.first);
  std::vector<Node> sorted;
  std::vector<bool> placed(nodes.size(), false);
  sorted.reserve(nodes.size());
  bool progress = true;
  while (sorted.size() < nodes.size() && progress) {
    progress = false;
    for (size_t index = 0; index < nodes.size(); ++index) {
      if (placed[index]) continue;
      bool ready = true;
      for (const auto& input : nodes[index].inputs) {
        if (!input.empty() && available.count(input) == 0) {
          ready = false;
          break;
        }
      }
      if (!ready) continue;
      placed[index] = true;
      progress = true;
      for (const auto& output : nodes[index].outputs) available.insert(output);
      sorted.push_back(nodes[index]);
    }
  }
  if (sorted.size() < nodes.size()) {
    for (size_t index = 0; index < nodes.size(); ++index) {
      if (placed[index]) continue;
      for (const auto& input : nodes[index].inputs) {
        if (!input.empty() && available.count(input) == 0) {
          throw ModelError(nodes[index].describe() + ": input '" + input +
                           "' is not produced by any node, graph input or initializer (or the "
                           "graph has a cycle)");
        }
      }
    }
  }
  nodes = std::move(sorted);
}

}  // namespace cimtlm::graph
