// The schemas programs use are the tables generated at build time from platforms/*.yaml
// (platforms/config/schema_codegen.cpp): they must equal what the YAML says, node for node.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "platforms/config/schema.h"
#include "platforms/config/schema_yaml.h"

namespace cimtlm::platforms {
namespace {

std::string source_text(const std::string& relative) {
  std::ifstream in(std::string(CIMTLM_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void expect_same(const SchemaNode& a, const SchemaNode& b, const std::string& path) {
  SCOPED_TRACE(path);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.doc, b.doc);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.dimension, b.dimension);
  EXPECT_EQ(a.type_name, b.type_name);
  EXPECT_EQ(a.required, b.required);
  EXPECT_EQ(a.optional, b.optional);
  EXPECT_EQ(a.default_text, b.default_text);
  EXPECT_EQ(a.min, b.min);  // exact: the generator writes doubles as hex floats
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.choices, b.choices);
  EXPECT_EQ(a.item_type, b.item_type);
  EXPECT_EQ(a.default_by_key, b.default_by_key);
  EXPECT_EQ(a.default_by, b.default_by);
  EXPECT_EQ(a.default_items_yaml, b.default_items_yaml);
  EXPECT_EQ(a.min_items, b.min_items);
  ASSERT_EQ(a.children.size(), b.children.size());
  for (size_t index = 0; index < a.children.size(); ++index) {
    expect_same(*a.children[index], *b.children[index], path + "." + a.children[index]->name);
  }
  ASSERT_EQ(a.item != nullptr, b.item != nullptr);
  if (a.item) expect_same(*a.item, *b.item, path + ".*");
}

TEST(Schema, GeneratedPlatformTableEqualsTheYaml) {
  const Schema parsed = parse_schema_yaml(source_text("platforms/schema.yaml"), "schema.yaml");
  expect_same(platform_schema().root(), parsed.root(), "");
  EXPECT_GT(platform_schema().leaf_paths().size(), 140u);
  EXPECT_EQ(platform_schema().name(), "platforms/schema.yaml");
}

TEST(Schema, GeneratedNetworkAndScenarioTablesEqualTheYaml) {
  expect_same(network_schema().root(),
              parse_schema_yaml(source_text("platforms/network_schema.yaml"), "n").root(), "");
  expect_same(scenario_schema().root(),
              parse_schema_yaml(source_text("platforms/scenario_schema.yaml"), "s").root(), "");
}

TEST(Schema, LeafPathsNameMapEntriesWithAStar) {
  const auto paths = platform_schema().leaf_paths();
  EXPECT_NE(std::find(paths.begin(), paths.end(), "core.memory.levels.*.technology"), paths.end());
  EXPECT_NE(std::find(paths.begin(), paths.end(), "clock.frequency"), paths.end());
  EXPECT_EQ(platform_schema().find("core.memory.levels.weights.technology")->type, ValueType::Enum);
}

TEST(Schema, MalformedSchemaIsABuildDefect) {
  EXPECT_THROW(parse_schema_yaml("a: {type: colour, doc: x}\n", "bad"), std::logic_error);
  EXPECT_THROW(parse_schema_yaml("a: {type: enum, doc: x}\n", "bad"), std::logic_error);
  EXPECT_THROW(parse_schema_yaml("a: {type: int, doc: x, mn: 1}\n", "bad"), std::logic_error);
}

}  // namespace
}  // namespace cimtlm::platforms
