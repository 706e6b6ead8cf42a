// CimMacroParams: validation names the bad field; derived quantities follow README formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "models/cim/cim_array_model.h"
#include "models/cim/cim_params.h"

namespace cimtlm::cim {
namespace {

TEST(CimMacroParams, DefaultsAreValidAndLossless) {
  const CimMacroParams params;
  EXPECT_EQ(params.validate(), "");
  // 64 rows x 1-bit cells = 64 <= 2^7 - 1.
  EXPECT_TRUE(params.adc_lossless());
  EXPECT_FALSE(params.has_nonidealities());
  EXPECT_EQ(params.adc_count(), 32);
}

struct BadField {
  const char* field;
  std::function<void(CimMacroParams&)> corrupt;
};

TEST(CimMacroParams, RejectsBadFieldsByName) {
  const BadField cases[] = {
      {"rows", [](CimMacroParams& p) { p.rows = 0; }},
      {"cols", [](CimMacroParams& p) { p.cols = 0; }},
      {"cell_bits", [](CimMacroParams& p) { p.cell_bits = 3; }},
      {"max_weight_bits", [](CimMacroParams& p) { p.max_weight_bits = 9; }},
      {"max_weight_bits", [](CimMacroParams& p) { p.max_weight_bits = 0; }},
      {"max_input_bits", [](CimMacroParams& p) { p.max_input_bits = 9; }},
      {"adc_bits", [](CimMacroParams& p) { p.adc_bits = 0; }},
      {"sparsity_threshold", [](CimMacroParams& p) { p.sparsity_threshold = -0.01; }},
      {"sparsity_threshold", [](CimMacroParams& p) { p.sparsity_threshold = 1.01; }},
      {"sparsity_threshold",
       [](CimMacroParams& p) { p.sparsity_threshold = std::numeric_limits<double>::quiet_NaN(); }},
      {"rows_per_activation", [](CimMacroParams& p) { p.rows_per_activation = 512; }},
      {"row_block", [](CimMacroParams& p) { p.row_block = 24; }},       // does not divide 64
      {"cols_per_adc", [](CimMacroParams& p) { p.cols_per_adc = 7; }},  // does not divide 256
      {"encoding", [](CimMacroParams& p) { p.encoding = "twos"; }},
      {"activation_packing", [](CimMacroParams& p) { p.activation_packing = "columns"; }},
      {"adc_conversion_cycles", [](CimMacroParams& p) { p.adc_conversion_cycles = 0; }},
      {"write_energy_pj_per_cell", [](CimMacroParams& p) { p.write_energy_pj_per_cell = -1; }},
      {"leakage_mw", [](CimMacroParams& p) { p.leakage_mw = -0.1; }},
      {"conductance_sigma", [](CimMacroParams& p) { p.conductance_sigma = -0.1; }},
      {"adc_noise_lsb", [](CimMacroParams& p) { p.adc_noise_lsb = -1; }},
  };
  for (const auto& bad : cases) {
    CimMacroParams params;
    bad.corrupt(params);
    const std::string message = params.validate();
    EXPECT_NE(message.find(bad.field), std::string::npos) << bad.field << ": '" << message << "'";
    EXPECT_THROW(CimArrayModel{params}, std::invalid_argument) << bad.field;
  }
}

TEST(CimMacroParams, ThresholdBoundsAreInclusive) {
  CimMacroParams params;
  params.sparsity_threshold = 0.0;
  EXPECT_EQ(params.validate(), "");
  params.sparsity_threshold = 1.0;
  EXPECT_EQ(params.validate(), "");
}

TEST(CimMacroParams, LogicalColumnsFollowSlicesAndEncoding) {
  CimMacroParams params;  // 256 columns, 1-bit cells, offset
  EXPECT_EQ(logical_weight_columns(params, 8), 32);
  EXPECT_EQ(logical_weight_columns(params, 4), 64);
  EXPECT_EQ(logical_weight_columns(params, 1), 256);
  EXPECT_EQ(logical_weight_columns(params, 3), 85);
  params.encoding = "differential";
  EXPECT_EQ(logical_weight_columns(params, 8), 16);
  params.cell_bits = 2;
  EXPECT_EQ(logical_weight_columns(params, 8), 32);  // 4 slices x 2 polarities
  params.encoding = "offset";
  EXPECT_EQ(logical_weight_columns(params, 3), 128);  // ceil(3/2) = 2 slices
}

TEST(CimMacroParams, AdcEnergyGrowsWithResolutionAsWaldenPlusThermal) {
  const CimMacroParams params;
  double previous = 0.0;
  for (int bits = 1; bits <= 14; ++bits) {
    const double energy = params.adc_energy_pj(bits);
    EXPECT_GT(energy, previous) << bits;
    previous = energy;
  }
  // 7 bits: 3 fJ x 128 + 1 / (2 x 10^((175 - 43.9) / 10)) J.
  const double walden = 3.0e-3 * 128;
  const double thermal = 1e12 / (2.0 * std::pow(10.0, (175.0 - (6.02 * 7 + 1.76)) / 10.0));
  EXPECT_NEAR(params.adc_energy_pj(7), walden + thermal, 1e-12);
  EXPECT_EQ(params.adc_energy_pj(0), 0.0);
}

TEST(CimMacroParams, LosslessOnlyWhenAdcCoversTheFullScale) {
  CimMacroParams params;
  params.adc_bits = 6;  // 64 > 63
  EXPECT_FALSE(params.adc_lossless());
  params.rows_per_activation = 63;
  params.row_block = 1;
  EXPECT_TRUE(params.adc_lossless());
  params.cell_bits = 2;  // 63 x 3 = 189 > 63
  EXPECT_FALSE(params.adc_lossless());
}

}  // namespace
}  // namespace cimtlm::cim
