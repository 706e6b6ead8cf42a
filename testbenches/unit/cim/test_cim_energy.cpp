// The circuit-level energy, leakage and area of the macro (cim_energy.h, cim_area.h) against the
// README formulas, computed by hand on small tiles whose partial sums are known.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/cim/cim_area.h"
#include "models/cim/cim_array_model.h"
#include "models/cim/cim_energy.h"

namespace cimtlm::cim {
namespace {

// A 16-row macro with one logical column of 8-bit weights (8 physical columns, one ADC).
CimMacroParams small_macro(const std::string& adc_type) {
  CimMacroParams p;
  p.rows = 16;
  p.cols = 8;
  p.cols_per_adc = 8;
  p.rows_per_activation = 16;
  p.row_block = 16;
  p.adc_bits = 5;
  p.sparsity_threshold = 1.0;
  p.adc_type = adc_type;
  return p;
}

// Loads 16 copies of weight `w` (int8) and applies one vector of 1-bit inputs `x`.
CimCounts run_one(const CimMacroParams& params, int8_t w, const std::vector<uint8_t>& x) {
  CimArrayModel model(params);
  std::vector<uint8_t> weights(16, static_cast<uint8_t>(w));
  std::vector<int32_t> zero_points(1, 0);
  model.load_weights({weights.data(), true, 16, 1, 8, zero_points.data()});
  std::vector<int32_t> out(1);
  return model.compute({x.data(), false, 1, 0, 1, out.data(), 1, false});
}

TEST(CimEnergy, WordLinesPerPulsedRowBitLinesPerLineWhateverTheCells) {
  const CimMacroParams params = small_macro("sar");
  const CimEnergyModel energy(params);
  EXPECT_DOUBLE_EQ(energy.wordline_pj_per_row(),
                   params.wordline_cap_ff_per_cell * 8 * params.supply_v * params.supply_v * 1e-3);
  EXPECT_DOUBLE_EQ(
      energy.bitline_pj_per_column(),
      params.bitline_cap_ff_per_cell * 16 * params.supply_v * params.bitline_swing_v * 1e-3);
  // 5 of 16 rows pulsed, one activation over 8 used bit lines; the stored value (w + 128) only
  // changes the conducting cells, not the bit-line energy.
  std::vector<uint8_t> x(16, 0);
  for (int r : {0, 3, 7, 9, 15}) x[r] = 1;
  for (int8_t w : {-128, 0, 127}) {
    const CimCounts counts = run_one(params, w, x);
    EXPECT_EQ(counts.conducting_rows, 5);
    EXPECT_NEAR(counts.energy.array,
                5 * energy.wordline_pj_per_row() + 8 * energy.bitline_pj_per_column(), 1e-12)
        << int(w);
  }
}

TEST(CimEnergy, MlsaEnergyFollowsTheColumnCurrentAndSaturates) {
  const CimMacroParams params = small_macro("mlsa");
  const CimEnergyModel energy(params);
  ASSERT_TRUE(energy.signal_dependent());
  const double comparators = 31.0;
  const double base = comparators * params.comparator_energy_fj * 1e-3;
  EXPECT_DOUBLE_EQ(energy.conversion_pj(5, 16, 0.0), base);
  const double cell_pj =
      params.read_voltage_v * params.cell_read_current_ua * params.sense_time_ns * 1e-3;
  const double saturation = params.read_voltage_v / (params.cell_read_current_ua *
                                                     params.bitline_series_resistance_kohm * 1e-3);
  for (double n : {1.0, 5.0, 16.0}) {
    EXPECT_NEAR(energy.conversion_pj(5, 16, n),
                base + comparators * cell_pj * n / (1.0 + n / saturation), 1e-15);
  }
  // Concave: the second half of the current adds less than the first.
  const double e0 = energy.conversion_pj(5, 256, 0), e1 = energy.conversion_pj(5, 256, 128),
               e2 = energy.conversion_pj(5, 256, 256);
  EXPECT_GT(e1 - e0, e2 - e1);

  // Through the model: weight 127 stores 255 (all 8 cells 1), weight -128 stores 0. Five rows
  // conduct, so every column carries 5 (or 0) cell currents.
  std::vector<uint8_t> x(16, 0);
  for (int r : {0, 3, 7, 9, 15}) x[r] = 1;
  const CimCounts full = run_one(params, 127, x);
  EXPECT_NEAR(full.energy.adc, 8 * energy.conversion_pj(5, 16, 5.0), 1e-12);
  const CimCounts none = run_one(params, -128, x);
  EXPECT_NEAR(none.energy.adc, 8 * base, 1e-12);
  // w = 0 stores 128: only the top slice's cell conducts, a mean of 5/8 per column.
  const CimCounts one_slice = run_one(params, 0, x);
  EXPECT_NEAR(one_slice.energy.adc, 8 * energy.conversion_pj(5, 16, 5.0 / 8.0), 1e-12);
}

TEST(CimEnergy, SarAndFlashKeepTheirMeanAndRiseWithTheCode) {
  for (const std::string type : {"sar", "flash"}) {
    CimMacroParams params = small_macro(type);
    const CimEnergyModel energy(params);
    const double base = energy.conversion_pj(5);
    if (type == "sar") {
      EXPECT_DOUBLE_EQ(base, params.adc_energy_pj(5));
    } else {
      EXPECT_DOUBLE_EQ(base, 31 * params.comparator_energy_fj * 1e-3);
    }
    const double alpha = params.adc_signal_fraction;
    EXPECT_NEAR(energy.conversion_pj(5, 16, 0.0), base * (1 - alpha), 1e-15) << type;
    EXPECT_NEAR(energy.conversion_pj(5, 16, 8.0), base, 1e-15) << type;  // mid-scale
    EXPECT_NEAR(energy.conversion_pj(5, 16, 16.0), base * (1 + alpha), 1e-15) << type;
    // Without a signal-dependent share the energy is the resolved-bit figure alone.
    params.adc_signal_fraction = 0.0;
    const CimEnergyModel flat(params);
    EXPECT_FALSE(flat.signal_dependent());
    std::vector<uint8_t> x(16, 1);
    EXPECT_NEAR(run_one(params, 127, x).energy.adc, 8 * base, 1e-12) << type;
  }
}

TEST(CimEnergy, DigitalEnergyScalesWithNodeAndLeakageSumsComponents) {
  // Horowitz 45 nm, 0.9 V: C V^2 with C ~ F.
  EXPECT_DOUBLE_EQ(scaled_adder_energy_pj(3.1, 45, 0.9, 32), 3.1e-3 * 32);
  EXPECT_NEAR(scaled_adder_energy_pj(3.1, 22, 0.8, 13),
              3.1e-3 * 13 * (22.0 / 45) * (0.8 / 0.9) * (0.8 / 0.9), 1e-15);
  CimMacroParams params;
  EXPECT_NEAR(cim_leakage_mw(params),
              (params.cell_leakage_pw * 256 * 256 * 1e-12 + params.adc_leakage_nw * 32 * 1e-9 +
               params.periphery_leakage_uw * 1e-6) *
                  1e3,
              1e-15);
  // The C++ default is consistent with its components.
  EXPECT_NEAR(params.leakage_mw, cim_leakage_mw(params), 1e-6);
}

TEST(CimArea, ComponentsFromGeometryInFeatureSquares) {
  CimMacroParams params;  // 28 nm, SAR 7 bits, 256 x 256, 8 columns per ADC
  const double f2 = 28.0 * 28.0 * 1e-6;
  const CimAreaUm2 area = cim_macro_area_um2(params);
  EXPECT_NEAR(area.array, 65536 * params.cell_area_f2 * f2, 1e-9);
  EXPECT_NEAR(area.adc,
              32 * (7 * params.sar_area_f2_per_bit + 128 * params.sar_area_f2_per_unit_cap) * f2,
              1e-9);
  EXPECT_NEAR(area.shift_add, 32 * 15 * params.adder_area_f2_per_bit * f2, 1e-9);
  EXPECT_NEAR(area.mux, 256 * params.mux_area_f2_per_column * f2, 1e-9);
  EXPECT_NEAR(area.drivers, 256 * params.driver_area_f2_per_row * f2, 1e-9);
  EXPECT_NEAR(area.buffers, 256 * params.buffer_area_f2_per_bit * f2, 1e-9);
  EXPECT_NEAR(area.total(), area.array + area.adc + area.shift_add + area.periphery(), 1e-9);
  // Flash / MLSA: 2^b - 1 comparators; no multiplexer without column sharing.
  params.adc_type = "mlsa";
  params.adc_bits = 5;
  params.cols_per_adc = 1;
  const CimAreaUm2 mlsa = cim_macro_area_um2(params);
  EXPECT_NEAR(mlsa.adc, 256 * 31 * params.comparator_area_f2 * f2, 1e-6);
  EXPECT_EQ(mlsa.mux, 0.0);
  // Halving F quarters every component.
  params.technology_nm = 14;
  EXPECT_NEAR(cim_macro_area_um2(params).total(), mlsa.total() / 4, 1e-9);
}

TEST(CimEnergy, RejectsUnknownAdcTypeByName) {
  CimMacroParams params;
  params.adc_type = "delta-sigma";
  EXPECT_NE(params.validate().find("adc_type"), std::string::npos);
  params = CimMacroParams{};
  params.adc_signal_fraction = 1.5;
  EXPECT_NE(params.validate().find("adc_signal_fraction"), std::string::npos);
}

}  // namespace
}  // namespace cimtlm::cim
