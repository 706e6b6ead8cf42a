// The schema of a YAML file kind (platform, network, scenario): every key with its type, unit,
// default, range and one-line description.
//
// The schemas are written in platforms/*.yaml and turned into C++ tables at build time
// (schema_codegen.cpp, generated schema_tables.cpp), so that start-up does not parse YAML and a
// program can name a key only through the generated constants of platforms/config/*_keys.h.
// Validation (loader.cpp), the effective-config dump and the docs (docs.cpp) all read the tree.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "platforms/config/units.h"

namespace cimtlm::platforms {

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
  std::optional<double> min, max;           // SI units
  std::vector<std::string> choices;         // Enum
  ValueType item_type = ValueType::String;  // List
  std::string default_by_key;               // default depends on a sibling enum (e.g. technology)
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
  Schema(std::unique_ptr<SchemaNode> root, std::string name);
  const SchemaNode& root() const { return *root_; }
  const std::string& name() const { return name_; }
  // The leaf or group at a dotted path (map-of entries as "*" or any name), or null.
  const SchemaNode* find(const std::string& path) const;
  // Every leaf's dotted path, map-of and list-of entries written as "*", in schema order.
  std::vector<std::string> leaf_paths() const;

 private:
  std::unique_ptr<SchemaNode> root_;
  std::string name_;
};

// One node of a schema in the compact form the build generates: nodes in pre-order, each with its
// depth; an entry whose `is_item` is set is the item of the map-of/list-of node before it.
// Lists of words are joined by kSchemaSeparator ('\x1f', which no schema text contains).
struct SchemaTableEntry {
  int depth;
  SchemaNode::Kind kind;
  bool is_item;
  const char* name;
  const char* doc;
  ValueType type;
  Dimension dimension;
  const char* type_name;
  bool required;
  bool optional;
  const char* default_text;
  bool has_min;
  double min;
  bool has_max;
  double max;
  const char* choices;  // separated
  ValueType item_type;
  const char* default_by_key;
  const char* default_by;  // key, value, key, value... separated
  const char* default_items_yaml;
  int min_items;
};
inline constexpr char kSchemaSeparator = '\x1f';

// Builds the tree of a generated table (a build defect, std::logic_error, if it is malformed).
std::unique_ptr<SchemaNode> schema_from_table(const SchemaTableEntry* entries, size_t count);

// The schemas embedded from platforms/*.yaml at build time (generated schema_tables.cpp).
const Schema& platform_schema();
const Schema& network_schema();
const Schema& scenario_schema();

}  // namespace cimtlm::platforms
