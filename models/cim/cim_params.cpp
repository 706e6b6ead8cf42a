#include "models/cim/cim_params.h"

#include <cmath>

namespace cimtlm::cim {

namespace {

std::string check_range(const char* field, double value, double lo, double hi) {
  if (!std::isfinite(value) || value < lo || value > hi) {
    return std::string(field) + " = " + std::to_string(value) + " is outside [" +
           std::to_string(lo) + ", " + std::to_string(hi) + "]";
  }
  return {};
}

std::string check_min(const char* field, double value, double lo) {
  if (!std::isfinite(value) || value < lo) {
    return std::string(field) + " = " + std::to_string(value) +
           " must be a number >= " + std::to_string(lo);
  }
  return {};
}

}  // namespace

std::string CimMacroParams::validate() const {
  // Upper limits keep every int32 result exact: |x - zx| * |w - zw| <= 255^2 per row, and
  // 16384 rows stay far below 2^31.
  const std::pair<const char*, std::string> checks[] = {
      {"rows", check_range("rows", static_cast<double>(rows), 1, 16384)},
      {"cols", check_range("cols", static_cast<double>(cols), 1, 16384)},
      {"cell_bits", check_range("cell_bits", cell_bits, 1, 2)},
      {"max_weight_bits", check_range("max_weight_bits", max_weight_bits, 1, 8)},
      {"max_input_bits", check_range("max_input_bits", max_input_bits, 1, 8)},
      {"rows_per_activation",
       check_range("rows_per_activation", static_cast<double>(rows_per_activation), 1,
                   static_cast<double>(rows))},
      {"row_block", check_range("row_block", static_cast<double>(row_block), 1,
                                static_cast<double>(rows_per_activation))},
      {"sparsity_threshold", check_range("sparsity_threshold", sparsity_threshold, 0.0, 1.0)},
      {"adc_bits", check_range("adc_bits", adc_bits, 1, 16)},
      {"cols_per_adc", check_range("cols_per_adc", static_cast<double>(cols_per_adc), 1,
                                   static_cast<double>(cols))},
      {"adc_walden_fom_fj_per_step",
       check_min("adc_walden_fom_fj_per_step", adc_walden_fom_fj_per_step, 0)},
      {"adc_schreier_fom_db", check_range("adc_schreier_fom_db", adc_schreier_fom_db, 100, 250)},
      {"row_activation_cycles",
       check_min("row_activation_cycles", static_cast<double>(row_activation_cycles), 0)},
      {"adc_conversion_cycles",
       check_min("adc_conversion_cycles", static_cast<double>(adc_conversion_cycles), 1)},
      {"shift_add_cycles", check_min("shift_add_cycles", static_cast<double>(shift_add_cycles), 0)},
      {"detection_cycles", check_min("detection_cycles", static_cast<double>(detection_cycles), 0)},
      {"compensation_cycles",
       check_min("compensation_cycles", static_cast<double>(compensation_cycles), 0)},
      {"weight_write_cycles_per_row",
       check_min("weight_write_cycles_per_row", static_cast<double>(weight_write_cycles_per_row),
                 0)},
      {"technology_nm", check_range("technology_nm", technology_nm, 1, 1000)},
      {"supply_v", check_range("supply_v", supply_v, 0.1, 5)},
      {"bitline_cap_ff_per_cell", check_min("bitline_cap_ff_per_cell", bitline_cap_ff_per_cell, 0)},
      {"bitline_swing_v", check_range("bitline_swing_v", bitline_swing_v, 0, 5)},
      {"wordline_cap_ff_per_cell",
       check_min("wordline_cap_ff_per_cell", wordline_cap_ff_per_cell, 0)},
      {"comparator_energy_fj", check_min("comparator_energy_fj", comparator_energy_fj, 0)},
      {"read_voltage_v", check_range("read_voltage_v", read_voltage_v, 0, 5)},
      {"cell_read_current_ua", check_min("cell_read_current_ua", cell_read_current_ua, 0)},
      {"sense_time_ns", check_min("sense_time_ns", sense_time_ns, 0)},
      {"bitline_series_resistance_kohm",
       check_min("bitline_series_resistance_kohm", bitline_series_resistance_kohm, 0)},
      {"adc_signal_fraction", check_range("adc_signal_fraction", adc_signal_fraction, 0, 1)},
      {"cell_leakage_pw", check_min("cell_leakage_pw", cell_leakage_pw, 0)},
      {"adc_leakage_nw", check_min("adc_leakage_nw", adc_leakage_nw, 0)},
      {"periphery_leakage_uw", check_min("periphery_leakage_uw", periphery_leakage_uw, 0)},
      {"cell_area_f2", check_min("cell_area_f2", cell_area_f2, 0)},
      {"comparator_area_f2", check_min("comparator_area_f2", comparator_area_f2, 0)},
      {"sar_area_f2_per_bit", check_min("sar_area_f2_per_bit", sar_area_f2_per_bit, 0)},
      {"sar_area_f2_per_unit_cap",
       check_min("sar_area_f2_per_unit_cap", sar_area_f2_per_unit_cap, 0)},
      {"adder_area_f2_per_bit", check_min("adder_area_f2_per_bit", adder_area_f2_per_bit, 0)},
      {"driver_area_f2_per_row", check_min("driver_area_f2_per_row", driver_area_f2_per_row, 0)},
      {"mux_area_f2_per_column", check_min("mux_area_f2_per_column", mux_area_f2_per_column, 0)},
      {"buffer_area_f2_per_bit", check_min("buffer_area_f2_per_bit", buffer_area_f2_per_bit, 0)},
      {"shift_add_energy_pj", check_min("shift_add_energy_pj", shift_add_energy_pj, 0)},
      {"detection_energy_pj_per_row",
       check_min("detection_energy_pj_per_row", detection_energy_pj_per_row, 0)},
      {"compensation_energy_pj", check_min("compensation_energy_pj", compensation_energy_pj, 0)},
      {"write_energy_pj_per_cell",
       check_min("write_energy_pj_per_cell", write_energy_pj_per_cell, 0)},
      {"leakage_mw", check_min("leakage_mw", leakage_mw, 0)},
      {"conductance_sigma", check_range("conductance_sigma", conductance_sigma, 0, 1)},
      {"adc_offset_lsb", check_min("adc_offset_lsb", adc_offset_lsb, 0)},
      {"adc_noise_lsb", check_min("adc_noise_lsb", adc_noise_lsb, 0)},
  };
  for (const auto& check : checks) {
    if (!check.second.empty()) return check.second;
  }
  if (encoding != "offset" && encoding != "differential") {
    return "encoding = '" + encoding + "' must be 'offset' or 'differential'";
  }
  if (adc_type != "sar" && adc_type != "flash" && adc_type != "mlsa") {
    return "adc_type = '" + adc_type + "' must be 'sar', 'flash' or 'mlsa'";
  }
  if (activation_packing != "blocks" && activation_packing != "rows") {
    return "activation_packing = '" + activation_packing + "' must be 'blocks' or 'rows'";
  }
  if (rows_per_activation % row_block != 0) {
    return "row_block = " + std::to_string(row_block) +
           " must divide rows_per_activation = " + std::to_string(rows_per_activation);
  }
  if (cols % cols_per_adc != 0) {
    return "cols_per_adc = " + std::to_string(cols_per_adc) +
           " must divide cols = " + std::to_string(cols);
  }
  return {};
}

int64_t CimMacroParams::physical_columns_per_weight(int weight_bits) const {
  const int64_t slices = (weight_bits + cell_bits - 1) / cell_bits;
  return slices * (differential() ? 2 : 1);
}

bool CimMacroParams::adc_lossless() const {
  return rows_per_activation * cell_max() <= (int64_t{1} << adc_bits) - 1;
}

double CimMacroParams::adc_energy_pj(int bits) const {
  if (bits <= 0) return 0.0;
  const double walden_pj = adc_walden_fom_fj_per_step * 1e-3 * std::ldexp(1.0, bits);
  const double sndr_db = 6.02 * bits + 1.76;
  // Schreier FOM = SNDR + 10 log10(f_s / (2 P))  =>  P / f_s = 1 / (2 * 10^((FOM - SNDR) / 10)).
  const double thermal_pj = 1e12 / (2.0 * std::pow(10.0, (adc_schreier_fom_db - sndr_db) / 10.0));
  return walden_pj + thermal_pj;
}

int64_t logical_weight_columns(const CimMacroParams& params, int weight_bits) {
  if (weight_bits < 1) return 0;
  return params.cols / params.physical_columns_per_weight(weight_bits);
}

}  // namespace cimtlm::cim
