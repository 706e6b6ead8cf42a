#include "platforms/config/schema_yaml.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <stdexcept>

namespace cimtlm::platforms {

namespace {

[[noreturn]] void schema_defect(const std::string& schema, const std::string& path,
                                const std::string& message) {
  throw std::logic_error("schema " + schema + ": " + path + ": " + message);
}

bool is_leaf(const YAML::Node& node) {
  return node.IsMap() && node["type"] && node["type"].IsScalar() && node["doc"];
}

struct TypeInfo {
  ValueType type;
  Dimension dimension;
};

std::optional<TypeInfo> type_info(const std::string& name) {
  static const std::map<std::string, TypeInfo> types = {
      {"int", {ValueType::Int, Dimension::Dimensionless}},
      {"float", {ValueType::Float, Dimension::Dimensionless}},
      {"ratio", {ValueType::Float, Dimension::Dimensionless}},
      {"bool", {ValueType::Bool, Dimension::Dimensionless}},
      {"string", {ValueType::String, Dimension::Dimensionless}},
      {"path", {ValueType::Path, Dimension::Dimensionless}},
      {"enum", {ValueType::Enum, Dimension::Dimensionless}},
      {"list", {ValueType::List, Dimension::Dimensionless}},
      {"cycles", {ValueType::Int, Dimension::Cycles}},
      {"frequency", {ValueType::Quantity, Dimension::Frequency}},
      {"time", {ValueType::Quantity, Dimension::Time}},
      {"temperature", {ValueType::Quantity, Dimension::Temperature}},
      {"size", {ValueType::Quantity, Dimension::Size}},
      {"energy", {ValueType::Quantity, Dimension::Energy}},
      {"power", {ValueType::Quantity, Dimension::Power}},
      {"area", {ValueType::Quantity, Dimension::Area}},
      {"activation_energy", {ValueType::Quantity, Dimension::ActivationEnergy}},
  };
  auto found = types.find(name);
  if (found == types.end()) return std::nullopt;
  return found->second;
}

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

std::unique_ptr<SchemaNode> parse_leaf(const std::string& schema, const std::string& path,
                                       const std::string& name, const YAML::Node& node) {
  auto leaf = std::make_unique<SchemaNode>();
  leaf->kind = SchemaNode::Kind::Leaf;
  leaf->name = name;
  leaf->doc = node["doc"].as<std::string>();
  leaf->type_name = node["type"].as<std::string>();
  const auto info = type_info(leaf->type_name);
  if (!info) schema_defect(schema, path, "unknown type '" + leaf->type_name + "'");
  leaf->type = info->type;
  leaf->dimension = info->dimension;
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    static const std::set<std::string> known = {"type", "doc",     "default", "min",
                                                "max",  "choices", "item",    "default_by"};
    if (!known.count(key)) schema_defect(schema, path, "unknown schema field '" + key + "'");
  }
  if (node["choices"]) leaf->choices = node["choices"].as<std::vector<std::string>>();
  if (leaf->type == ValueType::Enum && leaf->choices.empty()) {
    schema_defect(schema, path, "enum without choices");
  }
  if (node["item"]) {
    const auto item = type_info(node["item"].as<std::string>());
    if (!item) schema_defect(schema, path, "unknown list item type");
    leaf->item_type = item->type;
  }
  if (node["default"]) {
    if (node["default"].IsNull()) {
      leaf->optional = true;
    } else {
      leaf->default_text = scalar_text(node["default"]);
    }
  }
  if (node["default_by"]) {
    leaf->default_by_key = node["default_by"]["key"].as<std::string>();
    for (const auto& entry : node["default_by"]["values"]) {
      leaf->default_by[entry.first.as<std::string>()] = scalar_text(entry.second);
    }
  }
  if (!node["default"] && leaf->default_by.empty()) leaf->required = true;
  auto bound = [&](const char* key) -> std::optional<double> {
    if (!node[key]) return std::nullopt;
    std::string error;
    const auto quantity = parse_quantity(node[key].as<std::string>(), leaf->dimension, error);
    if (!quantity) schema_defect(schema, path, std::string("bad ") + key + ": " + error);
    return quantity->si;
  };
  leaf->min = bound("min");
  leaf->max = bound("max");
  return leaf;
}

std::unique_ptr<SchemaNode> parse_group(const std::string& schema, const std::string& path,
                                        const std::string& name, const YAML::Node& node) {
  auto group = std::make_unique<SchemaNode>();
  group->kind = SchemaNode::Kind::Group;
  group->name = name;
  if (!node.IsMap()) schema_defect(schema, path, "expected a mapping");
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    const std::string child_path = path.empty() ? key : path + "." + key;
    if (key == "_doc") {
      group->doc = entry.second.as<std::string>();
    } else if (key == "_map_of" || key == "_list_of") {
      group->kind = key == "_map_of" ? SchemaNode::Kind::MapOf : SchemaNode::Kind::ListOf;
      group->item = parse_group(schema, path + ".*", "*", entry.second);
    } else if (key == "_default") {
      group->default_items_yaml = YAML::Dump(entry.second);
    } else if (key == "_min_items") {
      group->min_items = entry.second.as<int>();
    } else if (is_leaf(entry.second)) {
      group->children.push_back(parse_leaf(schema, child_path, key, entry.second));
    } else {
      group->children.push_back(parse_group(schema, child_path, key, entry.second));
    }
  }
  return group;
}

}  // namespace

Schema parse_schema_yaml(const std::string& yaml_text, const std::string& name) {
  YAML::Node document;
  try {
    document = YAML::Load(yaml_text);
  } catch (const YAML::Exception& error) {
    schema_defect(name, "", error.what());
  }
  return Schema(parse_group(name, "", "", document), name);
}

}  // namespace cimtlm::platforms
