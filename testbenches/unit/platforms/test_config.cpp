// Platform configuration files: validation errors name file, line, column and key path;
// defaults are filled in; overrides apply; the effective configuration loads again.
#include <gtest/gtest.h>

#include "platforms/config/config.h"

namespace cimtlm::platforms {
namespace {

std::string error_of(const std::string& yaml, const std::vector<Override>& overrides = {}) {
  try {
    load_config_text(yaml, "test.yaml", platform_schema(), overrides);
  } catch (const ConfigError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error for:\n" << yaml;
  return "";
}

TEST(Config, EmptyFileTakesEveryDefault) {
  const Config config = load_config_text("", "empty.yaml", platform_schema());
  EXPECT_DOUBLE_EQ(config.number("clock.frequency"), 1e9);
  EXPECT_EQ(config.integer("core.cim.rows"), 256);
  EXPECT_EQ(config.at("core.cim.rows").source, "default");
  EXPECT_EQ(config.items("core.memory.levels"), (std::vector<std::string>{"weights", "activations"}));
  // Technology presets fill each level's keys.
  EXPECT_EQ(config.string("core.memory.levels.weights.technology"), "nosram");
  EXPECT_EQ(config.integer("core.memory.levels.weights.stack_layer"), 1);
  EXPECT_EQ(config.integer("core.memory.levels.activations.read_cycles"), 60);  // DOSRAM macro
  EXPECT_DOUBLE_EQ(config.number("core.memory.levels.activations.retention"), 3600.0);
}

TEST(Config, ValuesComeFromTheFileWithTheirLocation) {
  const Config config = load_config_text("clock:\n  frequency: 800 MHz\n", "good.yaml", platform_schema());
  EXPECT_DOUBLE_EQ(config.number("clock.frequency"), 8e8);
  EXPECT_EQ(config.at("clock.frequency").source, "good.yaml:2:14");
}

TEST(Config, MisspelledKeyNamesLineColumnPathAndSuggestion) {
  const std::string error = error_of("core:\n  cim:\n    rowz: 128\n");
  EXPECT_NE(error.find("test.yaml:3:5: core.cim.rowz: unknown key 'rowz' (did you mean 'rows'?)"),
            std::string::npos)
      << error;
}

TEST(Config, BadUnitNamesTheKey) {
  const std::string error = error_of("clock:\n  frequency: 1 GHzz\n");
  EXPECT_NE(error.find("test.yaml:2:14: clock.frequency: unknown unit 'GHzz'"), std::string::npos)
      << error;
}

TEST(Config, WrongDimensionNamesTheKey) {
  const std::string error = error_of("environment:\n  temperature: 85 ns\n");
  EXPECT_NE(error.find("environment.temperature: unit 'ns' is a time, expected a temperature"),
            std::string::npos)
      << error;
}

TEST(Config, WrongTypeNamesTheKey) {
  EXPECT_NE(error_of("core:\n  macros: four\n").find("test.yaml:2:11: core.macros: 'four' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of("core:\n  macros: 2.5\n").find("core.macros: '2.5' is not an integer"),
            std::string::npos);
  EXPECT_NE(error_of("core:\n  cim: 5\n").find("test.yaml:2:8: core.cim: expected a mapping"),
            std::string::npos);
  EXPECT_NE(error_of("noc:\n  topology: ring\n").find("noc.topology: 'ring' is not one of mesh, torus"),
            std::string::npos);
}

TEST(Config, OutOfRangeNamesTheLimit) {
  const std::string error = error_of("core:\n  cim:\n    rows: 0\n");
  EXPECT_NE(error.find("test.yaml:3:11: core.cim.rows: value 0 is below the minimum 1"),
            std::string::npos)
      << error;
  EXPECT_NE(error_of("core:\n  cim:\n    sparsity_threshold: 1.5\n").find("above the maximum 1"),
            std::string::npos);
}

TEST(Config, ReportsEveryProblemAtOnce) {
  const std::string error = error_of("clock:\n  frequncy: 1 GHz\ncore:\n  macros: 0\n");
  EXPECT_NE(error.find("clock.frequncy"), std::string::npos);
  EXPECT_NE(error.find("core.macros"), std::string::npos);
}

TEST(Config, InvalidYamlNamesLine) {
  const std::string error = error_of("clock: [1 GHz\n");
  EXPECT_NE(error.find("test.yaml:"), std::string::npos);
  EXPECT_NE(error.find("invalid YAML"), std::string::npos);
}

TEST(Config, MissingFileNamesThePath) {
  try {
    load_config("/nonexistent/platform.yaml", platform_schema());
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), "/nonexistent/platform.yaml: no such file");
  }
}

TEST(Config, OverridesApplyAndAreChecked) {
  const Config config = load_config_text("clock:\n  frequency: 1 GHz\n", "o.yaml", platform_schema(),
                                         {{"clock.frequency", "500 MHz"}, {"core.cim.adc_bits", "5"}});
  EXPECT_DOUBLE_EQ(config.number("clock.frequency"), 5e8);
  EXPECT_EQ(config.integer("core.cim.adc_bits"), 5);
  const std::string error = error_of("", {{"core.cim.adc_bits", "0"}});
  EXPECT_NE(error.find("command line --set core.cim.adc_bits=0: core.cim.adc_bits: value 0 is below"),
            std::string::npos)
      << error;
  EXPECT_THROW(parse_override("no_equals_sign"), ConfigError);
}

TEST(Config, MemoryLevelsTakePresetsAndOverrides) {
  const Config config = load_config_text(
      "core:\n  memory:\n    levels:\n      fast: {technology: sram, capacity: 64 KiB}\n", "m.yaml",
      platform_schema());
  EXPECT_EQ(config.items("core.memory.levels"), std::vector<std::string>{"fast"});
  EXPECT_DOUBLE_EQ(config.number("core.memory.levels.fast.capacity"), 65536.0);
  EXPECT_EQ(config.integer("core.memory.levels.fast.read_cycles"), 2);
  EXPECT_FALSE(config.boolean("core.memory.levels.fast.refresh"));
  const std::string error = error_of("core:\n  memory:\n    levels:\n      x: {technology: flash}\n");
  EXPECT_NE(error.find("core.memory.levels.x.technology: 'flash' is not one of"), std::string::npos);
}

TEST(Config, EffectiveConfigurationLoadsToTheSameValues) {
  const Config first = load_config_text("clock:\n  frequency: 750 MHz\nnoc:\n  rows: 3\n", "a.yaml",
                                        platform_schema());
  const std::string effective = first.effective_yaml();
  const Config second = load_config_text(effective, "effective.yaml", platform_schema());
  EXPECT_DOUBLE_EQ(second.number("clock.frequency"), 7.5e8);
  EXPECT_EQ(second.integer("noc.rows"), 3);
  EXPECT_EQ(second.items("core.memory.levels"), first.items("core.memory.levels"));
  EXPECT_DOUBLE_EQ(second.number("core.memory.levels.weights.retention"),
                   first.number("core.memory.levels.weights.retention"));
  EXPECT_NE(effective.find("frequency: 750 MHz  # a.yaml:2:14"), std::string::npos) << effective;
}

TEST(Config, DuplicateKeysAreErrors) {
  const std::string error = error_of("noc:\n  rows: 2\n  rows: 3\n");
  EXPECT_NE(error.find("test.yaml:3:3: noc.rows: duplicate key 'rows' (first at line 2)"), std::string::npos)
      << error;
  EXPECT_NE(error_of("core:\n  memory:\n    levels:\n      a: {technology: sram}\n      a: {technology: sram}\n")
                .find("duplicate"),
            std::string::npos);
}

TEST(Config, MissingNetworkFilesAreNamedWithTheirKey) {
  const std::string error = error_of("workload:\n  networks: [no_such_network.yaml]\n");
  EXPECT_NE(error.find("test.yaml:2:13: workload.networks: 'no_such_network.yaml': no such file"),
            std::string::npos)
      << error;
}

TEST(Config, SuggestionDistance) {
  EXPECT_EQ(edit_distance("rows", "rowz"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

}  // namespace
}  // namespace cimtlm::platforms
