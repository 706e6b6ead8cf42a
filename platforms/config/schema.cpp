#include "platforms/config/schema.h"

#include <sstream>
#include <stdexcept>

namespace cimtlm::platforms {

const SchemaNode* SchemaNode::child(const std::string& child_name) const {
  for (const auto& entry : children) {
    if (entry->name == child_name) return entry.get();
  }
  return nullptr;
}

std::vector<std::string> SchemaNode::child_names() const {
  std::vector<std::string> names;
  for (const auto& entry : children) names.push_back(entry->name);
  return names;
}

Schema::Schema(std::unique_ptr<SchemaNode> root, std::string name)
    : root_(std::move(root)), name_(std::move(name)) {}

const SchemaNode* Schema::find(const std::string& path) const {
  const SchemaNode* node = root_.get();
  std::stringstream parts(path);
  std::string part;
  while (node && std::getline(parts, part, '.')) {
    if (node->kind == SchemaNode::Kind::MapOf || node->kind == SchemaNode::Kind::ListOf) {
      node = node->item.get();
    } else {
      node = node->child(part);
    }
  }
  return node;
}

namespace {

void collect_leaves(const SchemaNode& node, const std::string& path,
                    std::vector<std::string>& paths) {
  if (node.kind == SchemaNode::Kind::Leaf) {
    paths.push_back(path);
    return;
  }
  const std::string prefix = path.empty() ? "" : path + ".";
  if (node.item) collect_leaves(*node.item, prefix + "*", paths);
  for (const auto& child : node.children) collect_leaves(*child, prefix + child->name, paths);
}

std::vector<std::string> split(const char* text) {
  std::vector<std::string> words;
  if (!text || !*text) return words;
  std::string word;
  for (const char* at = text;; ++at) {
    if (*at == kSchemaSeparator || *at == '\0') {
      words.push_back(word);
      word.clear();
      if (*at == '\0') break;
    } else {
      word += *at;
    }
  }
  return words;
}

std::unique_ptr<SchemaNode> node_of(const SchemaTableEntry& entry) {
  auto node = std::make_unique<SchemaNode>();
  node->kind = entry.kind;
  node->name = entry.name;
  node->doc = entry.doc;
  node->type = entry.type;
  node->dimension = entry.dimension;
  node->type_name = entry.type_name;
  node->required = entry.required;
  node->optional = entry.optional;
  node->default_text = entry.default_text;
  if (entry.has_min) node->min = entry.min;
  if (entry.has_max) node->max = entry.max;
  node->choices = split(entry.choices);
  node->item_type = entry.item_type;
  node->default_by_key = entry.default_by_key;
  const auto by = split(entry.default_by);
  if (by.size() % 2 != 0) throw std::logic_error("schema table: odd default_by list");
  for (size_t index = 0; index + 1 < by.size(); index += 2)
    node->default_by[by[index]] = by[index + 1];
  node->default_items_yaml = entry.default_items_yaml;
  node->min_items = entry.min_items;
  return node;
}

}  // namespace

std::vector<std::string> Schema::leaf_paths() const {
  std::vector<std::string> paths;
  collect_leaves(*root_, "", paths);
  return paths;
}

std::unique_ptr<SchemaNode> schema_from_table(const SchemaTableEntry* entries, size_t count) {
  if (count == 0 || entries[0].depth != 0) throw std::logic_error("schema table: no root");
  auto root = node_of(entries[0]);
  std::vector<SchemaNode*> open = {root.get()};  // open[d]: the latest node at depth d
  for (size_t index = 1; index < count; ++index) {
    const SchemaTableEntry& entry = entries[index];
    if (entry.depth < 1 || static_cast<size_t>(entry.depth) > open.size()) {
      throw std::logic_error("schema table: entry " + std::to_string(index) + " has a bad depth");
    }
    SchemaNode* parent = open[static_cast<size_t>(entry.depth) - 1];
    auto node = node_of(entry);
    SchemaNode* raw = node.get();
    if (entry.is_item) {
      parent->item = std::move(node);
    } else {
      parent->children.push_back(std::move(node));
    }
    open.resize(static_cast<size_t>(entry.depth));
    open.push_back(raw);
  }
  return root;
}

}  // namespace cimtlm::platforms
