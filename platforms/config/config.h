// Configuration: YAML files checked against a schema (platforms/schema.yaml), defaults filled in.
//
// The schema is itself YAML and is the single place where every key has its type, unit, default,
// range and one-line description; validation, the effective-config dump, `cimtlm validate` and
// the generated configs/README.md all come from it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "platforms/config/units.h"

namespace YAML {
class Node;
}

namespace cimtlm::platforms {

// Bad input: every message names the file, line, column and key path. The CLI exits 2.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& message) : std::runtime_error(message) {}
};

// ---------------------------------------------------------------------------------------------
// Schema

enum class ValueType { Int, Float, Bool, String, Path, Enum, Quantity, List };

struct SchemaNode {
  enum class Kind { Group, Leaf, MapOf, ListOf };
  Kind kind = Kind::Group;
  std::string name;
  std::string doc;

  // Leaf
  ValueType type = ValueType::String;
  Dimension dimension = Dimension::Dimensionless;
  std::string type_name;  // as written in the schema ("frequency", "int", ...)
  bool required = false;  // no default: the user must give it
  bool optional = false;  // no default, may be absent (then no value)
  std::string default_text;
  std::optional<double> min, max;  // SI units
  std::vector<std::string> choices;   // Enum
  ValueType item_type = ValueType::String;  // List
  std::string default_by_key;  // default depends on a sibling enum (e.g. technology)
  std::map<std::string, std::string> default_by;

  // Group: ordered children. MapOf/ListOf: `item` describes each entry.
  std::vector<std::unique_ptr<SchemaNode>> children;
  std::unique_ptr<SchemaNode> item;
  std::string default_items_yaml;  // MapOf: entries used when the key is absent
  int min_items = 0;

  const SchemaNode* child(const std::string& child_name) const;
  std::vector<std::string> child_names() const;
};

class Schema {
 public:
  // Parses a schema document; throws std::logic_error on a malformed schema (a build defect).
  Schema(const std::string& yaml_text, const std::string& name);
  const SchemaNode& root() const { return *root_; }
  const std::string& name() const { return name_; }
  // The leaf or group at a dotted path (map-of entries as "*"), or null.
  const SchemaNode* find(const std::string& path) const;

 private:
  std::unique_ptr<SchemaNode> root_;
  std::string name_;
};

// The platform and network schemas embedded from platforms/*.yaml at build time.
const Schema& platform_schema();
const Schema& network_schema();

// ---------------------------------------------------------------------------------------------
// Values

struct ConfigValue {
  const SchemaNode* schema = nullptr;
  std::string path;
  std::string text;  // normalized text, as written in the effective config
  double number = 0.0;  // Int, Float, Quantity (SI)
  bool boolean = false;
  std::string string;  // String, Path (resolved against the file's folder), Enum
  std::vector<std::string> list;
  std::string source;  // "file:line:col", "default" or "--set"
};

class Config {
 public:
  const std::string& file() const { return file_; }
  bool has(const std::string& path) const { return values_.count(path) != 0; }
  const ConfigValue& at(const std::string& path) const;
  double number(const std::string& path) const { return at(path).number; }
  int64_t integer(const std::string& path) const;
  bool boolean(const std::string& path) const { return at(path).boolean; }
  const std::string& string(const std::string& path) const { return at(path).string; }
  const std::vector<std::string>& list(const std::string& path) const { return at(path).list; }
  // Entry names of a map-of key, or "0", "1", ... for a list-of key, in file order.
  std::vector<std::string> items(const std::string& path) const;
  // Where a key path came from, for messages about values that are valid alone but not together.
  std::string where(const std::string& path) const;

  // Effective configuration as YAML: every key with its value, defaults filled in, the source of
  // each value as a comment.
  std::string effective_yaml() const;

 private:
  friend class ConfigLoader;
  std::string file_;
  const Schema* schema_ = nullptr;
  std::map<std::string, ConfigValue> values_;
  std::map<std::string, std::vector<std::string>> items_;
  std::vector<std::string> order_;  // leaf paths in schema/file order
};

// A `--set key.path=value` override.
struct Override {
  std::string path;
  std::string value;
};

// Loads `path` (YAML), applies overrides, validates against `schema`, fills defaults.
// Throws ConfigError listing every problem found (file:line:col: key.path: message).
Config load_config(const std::string& path, const Schema& schema,
                   const std::vector<Override>& overrides = {});
// Same from text (for tests); `file` names it in messages.
Config load_config_text(const std::string& text, const std::string& file, const Schema& schema,
                        const std::vector<Override>& overrides = {});

// Parses "key.path=value" (throws ConfigError naming the bad argument).
Override parse_override(const std::string& argument);

// The configuration reference (Markdown) generated from a schema.
std::string schema_reference_markdown(const Schema& schema, const std::string& title,
                                      const std::string& intro);

// Edit distance, for "did you mean" suggestions.
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace cimtlm::platforms
