#include "platforms/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/graph/input_limits.h"
#include "network_schema_yaml.h"
#include "platform_schema_yaml.h"

namespace cimtlm::platforms {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Schema

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
    static const std::set<std::string> known = {"type", "doc", "default", "min", "max",
                                                "choices", "item", "default_by"};
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

Schema::Schema(const std::string& yaml_text, const std::string& name) : name_(name) {
  YAML::Node document;
  try {
    document = YAML::Load(yaml_text);
  } catch (const YAML::Exception& error) {
    schema_defect(name, "", error.what());
  }
  root_ = parse_group(name, "", "", document);
}

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

const Schema& platform_schema() {
  static const Schema schema(embedded::platform_schema_yaml, "platforms/schema.yaml");
  return schema;
}

const Schema& network_schema() {
  static const Schema schema(embedded::network_schema_yaml, "platforms/network_schema.yaml");
  return schema;
}

// ---------------------------------------------------------------------------------------------
// Values

const ConfigValue& Config::at(const std::string& path) const {
  auto found = values_.find(path);
  if (found == values_.end()) throw std::out_of_range("configuration has no key '" + path + "'");
  return found->second;
}

int64_t Config::integer(const std::string& path) const {
  const double number = at(path).number;
  // Sizes are quantities (doubles); 1e30 B must be an error, not an undefined conversion.
  if (!(std::fabs(number) < 0x1p62)) {
    throw ConfigError(where(path) + ": value " + at(path).text + " is too large");
  }
  return static_cast<int64_t>(number);
}

std::vector<std::string> Config::items(const std::string& path) const {
  auto found = items_.find(path);
  return found == items_.end() ? std::vector<std::string>{} : found->second;
}

std::string Config::where(const std::string& path) const {
  auto found = values_.find(path);
  if (found == values_.end() || found->second.source == "default") {
    return file_ + ": " + path + " (default)";
  }
  if (found->second.source.rfind("--set", 0) == 0) return found->second.source + ": " + path;
  return found->second.source + ": " + path;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

namespace {

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string join(const std::vector<std::string>& words, const std::string& separator = ", ") {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : separator) + word;
  return text;
}

}  // namespace

class ConfigLoader {
 public:
  ConfigLoader(const Schema& schema, std::string file, std::map<std::string, std::string> overridden)
      : schema_(schema), overridden_(std::move(overridden)) {
    config_.file_ = std::move(file);
    config_.schema_ = &schema;
    base_dir_ = fs::path(config_.file_).parent_path();
  }

  Config load(const YAML::Node& document) {
    if (document && !document.IsNull() && !document.IsMap()) {
      error_at(document, "", "the file must be a YAML mapping of keys to values");
    } else {
      group(schema_.root(), document, "");
    }
    if (!errors_.empty()) throw ConfigError(join(errors_, "\n"));
    return std::move(config_);
  }

 private:
  std::string location(const YAML::Node& node, const std::string& path) const {
    for (const auto& entry : overridden_) {
      // The key itself, a key below it, or a group the override created on its way down.
      if (path == entry.first || path.rfind(entry.first + ".", 0) == 0 ||
          (!path.empty() && entry.first.rfind(path + ".", 0) == 0)) {
        return "command line --set " + entry.first + "=" + entry.second;
      }
    }
    if (node && node.Mark().pos >= 0) {
      return config_.file_ + ":" + std::to_string(node.Mark().line + 1) + ":" +
             std::to_string(node.Mark().column + 1);
    }
    return config_.file_;
  }

  void error_at(const YAML::Node& node, const std::string& path, const std::string& message) {
    errors_.push_back(location(node, path) + ": " + (path.empty() ? "" : path + ": ") + message);
    failed_.insert(path);
  }

  void group(const SchemaNode& schema, const YAML::Node& node, const std::string& prefix) {
    if (node && !node.IsNull() && !node.IsMap()) {
      error_at(node, prefix, "expected a mapping of keys (" + join(schema.child_names()) + ")");
      return;
    }
    if (node && node.IsMap()) {
      std::map<std::string, YAML::Mark> seen;
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {  // found by fuzz_network_config: "{[a]: 1}"
          error_at(entry.first, prefix, "a key must be a plain name, not a list or mapping");
          continue;
        }
        const auto key = entry.first.Scalar();
        const auto first = seen.emplace(key, entry.first.Mark());
        if (!first.second) {
          const std::string path = prefix.empty() ? key : prefix + "." + key;
          error_at(entry.first, path,
                   "duplicate key '" + key + "' (first at line " +
                       std::to_string(first.first->second.line + 1) + ")");
          continue;
        }
        if (schema.child(key)) continue;
        const std::string path = prefix.empty() ? key : prefix + "." + key;
        std::string message = "unknown key '" + key + "'";
        const std::string suggestion = closest(key, schema.child_names());
        if (!suggestion.empty()) {
          message += " (did you mean '" + suggestion + "'?)";
        } else {
          message += "; valid keys here: " + join(schema.child_names());
        }
        error_at(entry.first, path, message);
      }
    }
    for (const auto& child : schema.children) {
      const std::string path = prefix.empty() ? child->name : prefix + "." + child->name;
      YAML::Node sub;
      if (node && node.IsMap() && node[child->name]) sub = node[child->name];
      switch (child->kind) {
        case SchemaNode::Kind::Leaf: leaf(*child, sub, path, prefix); break;
        case SchemaNode::Kind::Group: group(*child, sub, path); break;
        case SchemaNode::Kind::MapOf: map_of(*child, sub, path); break;
        case SchemaNode::Kind::ListOf: list_of(*child, sub, path); break;
      }
    }
  }

  void map_of(const SchemaNode& schema, YAML::Node node, const std::string& path) {
    if (!node || node.IsNull()) {
      if (schema.default_items_yaml.empty()) {
        node = YAML::Node(YAML::NodeType::Map);
      } else {
        node = YAML::Load(schema.default_items_yaml);
      }
    }
    if (!node.IsMap()) {
      error_at(node, path, "expected a mapping of named entries");
      return;
    }
    auto& names = config_.items_[path];
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        error_at(entry.first, path, "an entry name must be a plain name, not a list or mapping");
        continue;
      }
      const auto name = entry.first.Scalar();
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        error_at(entry.first, path + "." + name, "duplicate entry '" + name + "'");
        continue;
      }
      names.push_back(name);
      group(*schema.item, entry.second, path + "." + name);
    }
    if (static_cast<int>(names.size()) < schema.min_items) {
      error_at(node, path, "needs at least " + std::to_string(schema.min_items) + " entries");
    }
  }

  void list_of(const SchemaNode& schema, const YAML::Node& node, const std::string& path) {
    auto& names = config_.items_[path];
    if (!node || node.IsNull()) {
      if (schema.min_items > 0) {
        error_at(node, path, "missing required list (at least " +
                                 std::to_string(schema.min_items) + " entries)");
      }
      return;
    }
    if (!node.IsSequence()) {
      error_at(node, path, "expected a list");
      return;
    }
    for (size_t index = 0; index < node.size(); ++index) {
      names.push_back(std::to_string(index));
      group(*schema.item, node[index], path + "." + std::to_string(index));
    }
    if (static_cast<int>(names.size()) < schema.min_items) {
      error_at(node, path, "needs at least " + std::to_string(schema.min_items) + " entries");
    }
  }

  std::string resolve_path(const std::string& text, bool from_file) const {
    if (text.empty() || fs::path(text).is_absolute() || !from_file) return text;
    return (base_dir_ / text).lexically_normal().string();
  }

  // Parses one scalar of `type` into `value`; returns an error message or "".
  std::string parse_scalar(const SchemaNode& schema, ValueType type, const std::string& text,
                           bool from_file, ConfigValue& value) {
    switch (type) {
      case ValueType::Int: {
        std::string error;
        const auto quantity = parse_quantity(text, schema.dimension, error);
        if (!quantity) return error + " (expected an integer)";
        if (!(std::fabs(quantity->si) < 0x1p62))
          return "'" + text + "' is too large for an integer";
        if (quantity->si != static_cast<double>(static_cast<int64_t>(quantity->si))) {
          return "'" + text + "' is not an integer";
        }
        value.number = quantity->si;
        return "";
      }
      case ValueType::Float:
      case ValueType::Quantity: {
        std::string error;
        const auto quantity = parse_quantity(text, schema.dimension, error);
        if (!quantity) return error;
        if (!std::isfinite(quantity->si)) return "'" + text + "' is not a finite number";
        value.number = quantity->si;
        return "";
      }
      case ValueType::Bool: {
        static const std::set<std::string> yes = {"true", "True", "yes", "on"};
        static const std::set<std::string> no = {"false", "False", "no", "off"};
        if (yes.count(text)) {
          value.boolean = true;
        } else if (no.count(text)) {
          value.boolean = false;
        } else {
          return "'" + text + "' is not a boolean (true or false)";
        }
        return "";
      }
      case ValueType::String: value.string = text; return "";
      case ValueType::Path: {
        value.string = resolve_path(text, from_file);
        std::error_code code;
        if (!fs::exists(value.string, code)) return "'" + value.string + "': no such file";
        return "";
      }
      case ValueType::Enum: {
        if (std::find(schema.choices.begin(), schema.choices.end(), text) == schema.choices.end()) {
          std::string message = "'" + text + "' is not one of " + join(schema.choices);
          const std::string suggestion = closest(text, schema.choices);
          if (!suggestion.empty()) message += " (did you mean '" + suggestion + "'?)";
          return message;
        }
        value.string = text;
        return "";
      }
      case ValueType::List: return "nested lists are not supported";
    }
    return "";
  }

  std::string check_range(const SchemaNode& schema, double number) const {
    if (schema.min && number < *schema.min) {
      return "value " + format_quantity(number, schema.dimension) + " is below the minimum " +
             format_quantity(*schema.min, schema.dimension);
    }
    if (schema.max && number > *schema.max) {
      return "value " + format_quantity(number, schema.dimension) + " is above the maximum " +
             format_quantity(*schema.max, schema.dimension);
    }
    return "";
  }

  void leaf(const SchemaNode& schema, const YAML::Node& node, const std::string& path,
            const std::string& parent) {
    ConfigValue value;
    value.schema = &schema;
    value.path = path;
    bool from_file = false;
    YAML::Node source_node = node;
    if (node && !node.IsNull()) {
      from_file = overridden_.count(path) == 0;
      value.source = location(node, path);
      if (schema.type == ValueType::List) {
        if (node.IsSequence()) {
          for (const auto& item : node) {
            if (!item.IsScalar()) {
              error_at(item, path, "list items must be plain values");
              return;
            }
            value.list.push_back(item.Scalar());
          }
        } else if (node.IsScalar()) {
          value.list.push_back(node.Scalar());
        } else {
          error_at(node, path, "expected a list");
          return;
        }
        value.text = scalar_text(node);
      } else {
        if (!node.IsScalar()) {
          error_at(node, path, "expected a value of type " + schema.type_name + ", not a " +
                                   (node.IsMap() ? "mapping" : "list"));
          return;
        }
        value.text = node.Scalar();
      }
    } else {
      std::string text = schema.default_text;
      bool have_default = !schema.required && !schema.optional;
      if (!schema.default_by_key.empty()) {
        const std::string key_path = parent.empty() ? schema.default_by_key
                                                    : parent + "." + schema.default_by_key;
        // The selector's own value was wrong (already reported): the defaults that follow from
        // it are unknown, and "missing" errors for keys the user never wrote would be noise.
        if (failed_.count(key_path)) return;
        auto selector = config_.values_.find(key_path);
        if (selector != config_.values_.end()) {
          auto by = schema.default_by.find(selector->second.string);
          if (by != schema.default_by.end()) {
            text = by->second;
            have_default = true;
          }
        }
        if (!have_default && !schema.default_text.empty()) have_default = true;
      }
      if (!have_default) {
        if (schema.optional) return;
        error_at(source_node, path, "missing required key (" + schema.doc + ")");
        return;
      }
      value.source = "default";
      value.text = text;
      if (schema.type == ValueType::List) {
        const YAML::Node parsed = YAML::Load(text);
        if (parsed.IsSequence()) {
          for (const auto& item : parsed) value.list.push_back(item.Scalar());
        } else if (parsed.IsScalar()) {
          value.list.push_back(parsed.Scalar());
        }
      }
    }

    if (schema.type == ValueType::List) {
      for (auto& item : value.list) {
        ConfigValue parsed;
        const std::string error = parse_scalar(schema, schema.item_type, item, from_file, parsed);
        if (!error.empty()) {
          error_at(node, path, error);
          return;
        }
        if (schema.item_type == ValueType::Path) item = parsed.string;
      }
    } else {
      const std::string error = parse_scalar(schema, schema.type, value.text, from_file, value);
      if (!error.empty()) {
        error_at(node, path, error);
        return;
      }
      if (schema.type == ValueType::Int || schema.type == ValueType::Float ||
          schema.type == ValueType::Quantity) {
        const std::string range = check_range(schema, value.number);
        if (!range.empty()) {
          error_at(node, path, range);
          return;
        }
      }
    }
    config_.order_.push_back(path);
    config_.values_[path] = std::move(value);
  }

  const Schema& schema_;
  std::map<std::string, std::string> overridden_;
  Config config_;
  fs::path base_dir_;
  std::vector<std::string> errors_;
  std::set<std::string> failed_;  // key paths with an error already reported
};

Override parse_override(const std::string& argument) {
  const size_t equals = argument.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError("command line --set " + argument +
                      ": expected key.path=value (e.g. --set clock.frequency=\"800 MHz\")");
  }
  const std::string path = argument.substr(0, equals);
  std::stringstream parts(path + ".");
  std::string part;
  while (std::getline(parts, part, '.')) {
    const bool plain = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    if (!plain) {
      throw ConfigError("command line --set " + argument + ": '" + path +
                        "' is not a key path (names of letters, digits, '_' or '-' joined by '.')");
    }
  }
  return {path, argument.substr(equals + 1)};
}

namespace {

void apply_overrides(YAML::Node& document, const std::vector<Override>& overrides) {
  if (!document || document.IsNull()) document = YAML::Node(YAML::NodeType::Map);
  for (const auto& item : overrides) {
    std::vector<std::string> parts;
    std::stringstream stream(item.path);
    std::string part;
    while (std::getline(stream, part, '.')) parts.push_back(part);
    YAML::Node current = document;
    for (size_t index = 0; index + 1 < parts.size(); ++index) {
      if (!current.IsMap()) {
        throw ConfigError("command line --set " + item.path + "=" + item.value + ": '" +
                          parts[index - 1] + "' is not a mapping");
      }
      if (!current[parts[index]] || !current[parts[index]].IsMap()) {
        current[parts[index]] = YAML::Node(YAML::NodeType::Map);
      }
      YAML::Node next = current[parts[index]];
      current.reset(next);
    }
    if (!current.IsMap()) {
      throw ConfigError("command line --set " + item.path + "=" + item.value +
                        ": the parent of the key is not a mapping");
    }
    YAML::Node value;
    try {
      value = YAML::Load(item.value);
    } catch (const YAML::Exception&) {
      value = YAML::Node(item.value);
    }
    if (!value || value.IsNull()) value = YAML::Node(item.value);
    current[parts.back()] = value;
  }
}

}  // namespace

Config load_config_text(const std::string& text, const std::string& file, const Schema& schema,
                        const std::vector<Override>& overrides) {
  YAML::Node document;
  try {
    document = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    throw ConfigError(file + ":" + std::to_string(error.mark.line + 1) + ":" +
                      std::to_string(error.mark.column + 1) + ": invalid YAML: " + error.msg);
  }
  std::map<std::string, std::string> overridden;
  for (const auto& item : overrides) overridden[item.path] = item.value;
  if (!overrides.empty()) {
    // Overrides need a mapping document to attach to.
    if (document && !document.IsNull() && !document.IsMap()) {
      throw ConfigError(file + ": the file must be a YAML mapping of keys to values");
    }
    apply_overrides(document, overrides);
  }
  ConfigLoader loader(schema, file, std::move(overridden));
  return loader.load(document);
}

Config load_config(const std::string& path, const Schema& schema,
                   const std::vector<Override>& overrides) {
  std::string text;
  const std::string error = graph::read_input_file(path, text);
  if (!error.empty()) throw ConfigError((path.empty() ? "''" : path) + ": " + error);
  // An empty file is a mistake (a truncated copy, the wrong file), not "all defaults" (which
  // load_config_text("") still gives programs and tests).
  bool empty = true;
  try {
    const YAML::Node document = YAML::Load(text);
    empty = !document || document.IsNull();
  } catch (const YAML::Exception&) {
    empty = false;  // reported with its line by load_config_text
  }
  if (empty) {
    throw ConfigError(path +
                      ": the file is empty (no keys); for a starting point see cimtlm docs "
                      "or configs/platforms/default.yaml");
  }
  return load_config_text(text, path, schema, overrides);
}

// ---------------------------------------------------------------------------------------------
// Effective configuration and documentation

std::string Config::effective_yaml() const {
  std::ostringstream out;
  out << "# Effective configuration of " << file_
      << ": every key with defaults filled in.\n# Comments give each value's source.\n";
  std::vector<std::string> previous;
  for (const auto& path : order_) {
    const ConfigValue& value = values_.at(path);
    std::vector<std::string> parts;
    std::stringstream stream(path);
    std::string part;
    while (std::getline(stream, part, '.')) parts.push_back(part);
    size_t common = 0;
    while (common + 1 < parts.size() && common < previous.size() &&
           previous[common] == parts[common]) {
      ++common;
    }
    for (size_t depth = common; depth + 1 < parts.size(); ++depth) {
      out << std::string(2 * depth, ' ') << parts[depth] << ":\n";
    }
    YAML::Emitter scalar;
    if (value.schema->type == ValueType::List) {
      scalar << YAML::Flow << YAML::BeginSeq;
      for (const auto& item : value.list) scalar << item;
      scalar << YAML::EndSeq;
    } else if (value.schema->type == ValueType::Path) {
      scalar << value.string;
    } else {
      scalar << value.text;
    }
    out << std::string(2 * (parts.size() - 1), ' ') << parts.back() << ": " << scalar.c_str()
        << "  # " << value.source << '\n';
    previous = parts;
  }
  return out.str();
}

namespace {

std::string type_column(const SchemaNode& leaf) {
  switch (leaf.type) {
    case ValueType::Enum: return "one of `" + join(leaf.choices, "`, `") + "`";
    case ValueType::List: return "list";
    case ValueType::Quantity:
      return std::string(dimension_name(leaf.dimension)) + " (" +
             join(accepted_units(leaf.dimension)) + ")";
    default: return leaf.type_name;
  }
}

std::string default_column(const SchemaNode& leaf) {
  if (leaf.required) return "required";
  std::string text;
  if (!leaf.default_by.empty()) {
    std::vector<std::string> cases;
    for (const auto& entry : leaf.default_by) cases.push_back(entry.first + ": `" + entry.second + "`");
    text = "by " + leaf.default_by_key + " — " + join(cases, "; ");
    if (!leaf.default_text.empty()) text += "; otherwise `" + leaf.default_text + "`";
    return text;
  }
  if (leaf.optional) return "none";
  return "`" + leaf.default_text + "`";
}

std::string range_column(const SchemaNode& leaf) {
  std::string text;
  if (leaf.min) text += "≥ " + format_quantity(*leaf.min, leaf.dimension);
  if (leaf.max) text += std::string(text.empty() ? "" : ", ") + "≤ " + format_quantity(*leaf.max, leaf.dimension);
  return text;
}

std::string escape_cell(std::string text) {
  size_t at = 0;
  while ((at = text.find('|', at)) != std::string::npos) {
    text.replace(at, 1, "\\|");
    at += 2;
  }
  return text;
}

void document_group(const SchemaNode& group, const std::string& prefix, std::ostringstream& out,
                    int depth) {
  // Leaves of this group in one table, then sub-groups as their own sections.
  bool table_open = false;
  for (const auto& child : group.children) {
    if (child->kind != SchemaNode::Kind::Leaf) continue;
    if (!table_open) {
      out << "| key | type | default | range | description |\n|---|---|---|---|---|\n";
      table_open = true;
    }
    out << "| `" << prefix << child->name << "` | " << escape_cell(type_column(*child)) << " | "
        << escape_cell(default_column(*child)) << " | " << range_column(*child) << " | "
        << escape_cell(child->doc) << " |\n";
  }
  if (table_open) out << '\n';
  for (const auto& child : group.children) {
    if (child->kind == SchemaNode::Kind::Leaf) continue;
    const std::string title = prefix + child->name;
    out << std::string(std::min(depth + 2, 6), '#') << " `" << title << "`";
    if (child->kind == SchemaNode::Kind::MapOf) out << " (named entries: `" << title << ".<name>`)";
    if (child->kind == SchemaNode::Kind::ListOf) out << " (a list)";
    out << "\n\n";
    if (!child->doc.empty()) out << child->doc << "\n\n";
    if (child->kind == SchemaNode::Kind::Group) {
      document_group(*child, title + ".", out, depth + 1);
    } else {
      if (!child->default_items_yaml.empty()) {
        out << "Default entries when absent:\n\n```yaml\n" << child->default_items_yaml
            << "\n```\n\n";
      }
      document_group(*child->item, title + (child->kind == SchemaNode::Kind::MapOf ? ".<name>." : "[i]."),
                     out, depth + 1);
    }
  }
}

}  // namespace

std::string schema_reference_markdown(const Schema& schema, const std::string& title,
                                      const std::string& intro) {
  std::ostringstream out;
  out << "# " << title << "\n\n" << intro << "\n\n";
  document_group(schema.root(), "", out, 0);
  return out.str();
}

}  // namespace cimtlm::platforms
