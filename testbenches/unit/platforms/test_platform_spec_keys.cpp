// One definition of each key: building a platform reads every key of platforms/schema.yaml, so a
// key added to the schema cannot be validated and documented but forgotten by the models.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms {
namespace {

// "core.memory.levels.weights.technology" -> "core.memory.levels.*.technology"
std::string schema_path(const std::string& path) {
  const SchemaNode* node = &platform_schema().root();
  std::string out, part;
  std::stringstream parts(path);
  while (node && std::getline(parts, part, '.')) {
    const bool entry =
        node->kind == SchemaNode::Kind::MapOf || node->kind == SchemaNode::Kind::ListOf;
    out += (out.empty() ? "" : ".") + (entry ? std::string("*") : part);
    node = entry ? node->item.get() : node->child(part);
  }
  return out;
}

std::set<std::string> keys_read(const std::string& yaml) {
  const Config config = load_config_text(yaml, "keys.yaml", platform_schema());
  build_platform_spec(config);
  std::set<std::string> read;
  for (const auto& path : config.read_paths()) read.insert(schema_path(path));
  return read;
}

TEST(PlatformSpecKeys, BuildingThePlatformReadsEveryKeyOfTheSchema) {
  std::set<std::string> read = keys_read("");
  // Keys read only in some configurations: the bare array's timing, an optional target.
  for (const auto& path : keys_read("core:\n  memory:\n    levels:\n"
                                    "      weights: {technology: nosram, timing: array}\n"
                                    "mapping: {memory_target: 1 MiB}\n")) {
    read.insert(path);
  }
  // Selectors of technology presets are read by the loader: their siblings' defaults follow them.
  for (const auto& path : platform_schema().leaf_paths()) {
    const SchemaNode* leaf = platform_schema().find(path);
    if (leaf->default_by_key.empty()) continue;
    read.insert(path.substr(0, path.rfind('.') + 1) + leaf->default_by_key);
  }
  std::vector<std::string> unread;
  for (const auto& path : platform_schema().leaf_paths()) {
    if (!read.count(path)) unread.push_back(path);
  }
  EXPECT_TRUE(unread.empty()) << "schema keys that build_platform_spec() never reads: "
                              << ::testing::PrintToString(unread);
}

TEST(PlatformSpecKeys, ReadPathsAreSchemaKeys) {
  for (const auto& path : keys_read("")) {
    EXPECT_NE(platform_schema().find(path), nullptr) << path;
  }
}

}  // namespace
}  // namespace cimtlm::platforms

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
