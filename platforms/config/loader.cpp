#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "compiler/graph/input_limits.h"
#include "platforms/config/config.h"
#include "platforms/config/overrides.h"

namespace cimtlm::platforms {

namespace fs = std::filesystem;

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

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace

class ConfigLoader {
 public:
  ConfigLoader(const Schema& schema, std::string file,
               std::map<std::string, std::string> overridden)
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
        case SchemaNode::Kind::Leaf:
          leaf(*child, sub, path, prefix);
          break;
        case SchemaNode::Kind::Group:
          group(*child, sub, path);
          break;
        case SchemaNode::Kind::MapOf:
          map_of(*child, sub, path);
          break;
        case SchemaNode::Kind::ListOf:
          list_of(*child, sub, path);
          break;
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
        error_at(
            node, path,
            "missing required list (at least " + std::to_string(schema.min_items) + " entries)");
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
      case ValueType::String:
        value.string = text;
        return "";
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
      case ValueType::List:
        return "nested lists are not supported";
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
          error_at(node, path,
                   "expected a value of type " + schema.type_name + ", not a " +
                       (node.IsMap() ? "mapping" : "list"));
          return;
        }
        value.text = node.Scalar();
      }
    } else {
      std::string text = schema.default_text;
      bool have_default = !schema.required && !schema.optional;
      if (!schema.default_by_key.empty()) {
        const std::string key_path =
            parent.empty() ? schema.default_by_key : parent + "." + schema.default_by_key;
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

}  // namespace cimtlm::platforms
