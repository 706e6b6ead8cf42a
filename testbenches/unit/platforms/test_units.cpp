// Quantities in configuration files: units, dimensions, errors.
#include <gtest/gtest.h>

#include "platforms/config/units.h"

namespace cimtlm::platforms {
namespace {

double parse(const std::string& text, Dimension dimension) {
  std::string error;
  const auto quantity = parse_quantity(text, dimension, error);
  EXPECT_TRUE(quantity.has_value()) << text << ": " << error;
  return quantity ? quantity->si : -1;
}

std::string error_of(const std::string& text, Dimension dimension) {
  std::string error;
  EXPECT_FALSE(parse_quantity(text, dimension, error).has_value()) << text;
  return error;
}

TEST(Units, ParsesEveryDimension) {
  EXPECT_DOUBLE_EQ(parse("1 GHz", Dimension::Frequency), 1e9);
  EXPECT_DOUBLE_EQ(parse("800MHz", Dimension::Frequency), 8e8);
  EXPECT_DOUBLE_EQ(parse("2 ns", Dimension::Time), 2e-9);
  EXPECT_DOUBLE_EQ(parse("1 h", Dimension::Time), 3600.0);
  EXPECT_DOUBLE_EQ(parse("85 C", Dimension::Temperature), 358.15);
  EXPECT_DOUBLE_EQ(parse("300 K", Dimension::Temperature), 300.0);
  EXPECT_DOUBLE_EQ(parse("64 KiB", Dimension::Size), 65536.0);
  EXPECT_DOUBLE_EQ(parse("1 MB", Dimension::Size), 1e6);
  EXPECT_DOUBLE_EQ(parse("0.35 pJ", Dimension::Energy), 0.35e-12);
  EXPECT_DOUBLE_EQ(parse("3 fJ", Dimension::Energy), 3e-15);
  EXPECT_DOUBLE_EQ(parse("0.2 mW", Dimension::Power), 0.2e-3);
  EXPECT_DOUBLE_EQ(parse("0.5 um2", Dimension::Area), 0.5e-12);
  EXPECT_DOUBLE_EQ(parse("1.1 eV", Dimension::ActivationEnergy), 1.1);
  EXPECT_DOUBLE_EQ(parse("12", Dimension::Cycles), 12.0);
  EXPECT_DOUBLE_EQ(parse("12 cycles", Dimension::Cycles), 12.0);
  EXPECT_DOUBLE_EQ(parse("50%", Dimension::Dimensionless), 0.5);
}

TEST(Units, RejectsWrongDimensionUnknownUnitAndMissingUnit) {
  EXPECT_NE(error_of("1 ns", Dimension::Frequency).find("is a time, expected a frequency"),
            std::string::npos);
  EXPECT_NE(error_of("1 GHzz", Dimension::Frequency).find("unknown unit 'GHzz'"), std::string::npos);
  EXPECT_NE(error_of("5", Dimension::Energy).find("has no unit"), std::string::npos);
  EXPECT_NE(error_of("fast", Dimension::Frequency).find("is not a number"), std::string::npos);
  EXPECT_NE(error_of("", Dimension::Time).find("empty"), std::string::npos);
}

TEST(Units, FormatsWithTheDisplayUnit) {
  EXPECT_EQ(format_quantity(1e9, Dimension::Frequency), "1 GHz");
  EXPECT_EQ(format_quantity(65536, Dimension::Size), "64 KiB");
  EXPECT_EQ(format_quantity(358.15, Dimension::Temperature), "85 C");
  EXPECT_EQ(format_quantity(2e-9, Dimension::Time), "2 ns");
}

}  // namespace
}  // namespace cimtlm::platforms
