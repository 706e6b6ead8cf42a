// Configuration: YAML files checked against a schema (platforms/schema.yaml), defaults filled in.
//
// The schema (schema.h) is the single place where every key has its type, unit, default, range
// and one-line description; validation (loader.cpp), the `--set` overrides (overrides.cpp), the
// effective-config dump, `cimtlm validate` and the generated configs/README.md (docs.cpp) all
// come from it, and C++ names keys through the constants generated from it (platform_keys.h).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "platforms/config/schema.h"
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
// Values

struct ConfigValue {
  const SchemaNode* schema = nullptr;
  std::string path;
  std::string text;     // normalized text, as written in the effective config
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
  // The path of `key` in entry `item` of the map-of/list-of key `list`: "list.item.key" (with the
  // generated constants: item_path(keys::x::kPath, name, keys::x::item::y)).
  static std::string item_path(const std::string& list, const std::string& item, const char* key) {
    return list + "." + item + "." + key;
  }

  // Effective configuration as YAML: every key with its value, defaults filled in, the source of
  // each value as a comment.
  std::string effective_yaml() const;

  // Key paths read through at() so far: a test checks that building the platform reads every
  // key of the schema (a key added to the schema and forgotten by platform_spec.cpp fails it).
  const std::set<std::string>& read_paths() const { return read_; }

 private:
  friend class ConfigLoader;
  std::string file_;
  const Schema* schema_ = nullptr;
  std::map<std::string, ConfigValue> values_;
  std::map<std::string, std::vector<std::string>> items_;
  std::vector<std::string> order_;  // leaf paths in schema/file order
  mutable std::set<std::string> read_;
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
