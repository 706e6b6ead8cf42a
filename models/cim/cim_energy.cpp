#include "models/cim/cim_energy.h"

#include <algorithm>
#include <cmath>

namespace cimtlm::cim {

AdcType adc_type_of(const CimMacroParams& params) {
  if (params.adc_type == "flash") return AdcType::Flash;
  if (params.adc_type == "mlsa") return AdcType::Mlsa;
  return AdcType::Sar;
}

double scaled_adder_energy_pj(double energy_fj_per_bit_45nm, double technology_nm, double supply_v,
                              int bits) {
  // Dynamic energy C V^2: gate and wire capacitance shrink with the feature size.
  const double scale = (technology_nm / 45.0) * (supply_v / 0.9) * (supply_v / 0.9);
  return energy_fj_per_bit_45nm * 1e-3 * scale * bits;
}

double cim_leakage_mw(const CimMacroParams& params) {
  const double cells = static_cast<double>(params.rows * params.cols);
  return params.cell_leakage_pw * cells * 1e-9 +
         params.adc_leakage_nw * static_cast<double>(params.adc_count()) * 1e-6 +
         params.periphery_leakage_uw * 1e-3;
}

CimEnergyModel::CimEnergyModel(const CimMacroParams& params)
    : params_(params), type_(adc_type_of(params)) {
  // fF x V x V = fJ; 1e-3 to pJ.
  wordline_pj_per_row_ = params.wordline_cap_ff_per_cell * static_cast<double>(params.cols) *
                         params.supply_v * params.supply_v * 1e-3;
  bitline_pj_per_column_ = params.bitline_cap_ff_per_cell * static_cast<double>(params.rows) *
                           params.supply_v * params.bitline_swing_v * 1e-3;
  // V x uA x ns = fJ.
  cell_sense_pj_ =
      params.read_voltage_v * params.cell_read_current_ua * params.sense_time_ns * 1e-3;
  // uA x kOhm = mV: the bit line's series resistance drops I_cell R_s per conducting cell, and
  // the column current n I_cell / (1 + n I_cell R_s / V_read) saturates at V_read / R_s.
  const double drop_v = params.cell_read_current_ua * params.bitline_series_resistance_kohm * 1e-3;
  saturation_cells_ = drop_v > 0.0 ? params.read_voltage_v / drop_v : HUGE_VAL;
  signal_dependent_ = type_ == AdcType::Mlsa || params.adc_signal_fraction > 0.0;
  for (int bits = 0; bits <= 16; ++bits) {
    base_pj_[bits] = base_conversion_pj(bits);
    comparators_[bits] = std::ldexp(1.0, bits) - 1.0;
  }
}

double CimEnergyModel::conversion_pj(int bits) const {
  if (bits <= 0) return 0.0;
  if (bits <= 16) return base_pj_[bits];
  return base_conversion_pj(bits);
}

double CimEnergyModel::base_conversion_pj(int bits) const {
  if (bits <= 0) return 0.0;
  if (type_ == AdcType::Sar) return params_.adc_energy_pj(bits);
  // Flash and multi-level sense amplifier: 2^b - 1 comparators (or sense amplifiers) decide.
  return (std::ldexp(1.0, bits) - 1.0) * params_.comparator_energy_fj * 1e-3;
}

double CimEnergyModel::conversion_pj(int bits, int64_t full_scale, double partial_sum) const {
  if (bits <= 0) return 0.0;
  const double base = conversion_pj(bits);
  const double comparators = bits <= 16 ? comparators_[bits] : std::ldexp(1.0, bits) - 1.0;
  if (type_ == AdcType::Mlsa) {
    // Every sense amplifier compares the column current with its reference for t_sense; the
    // current is that of the conducting cells, limited by the bit line's series resistance.
    const double cells = std::max(0.0, partial_sum);
    const double effective =
        std::isinf(saturation_cells_) ? cells : cells / (1.0 + cells / saturation_cells_);
    return base + comparators * cell_sense_pj_ * effective;
  }
  // SAR (capacitive DAC switching) and flash (comparators that flip): a share of the energy
  // grows with the code; 2u averages to 1 over a uniform code, so the mid-scale figure holds.
  const double u =
      full_scale > 0 ? std::clamp(partial_sum / static_cast<double>(full_scale), 0.0, 1.0) : 0.0;
  const double alpha = params_.adc_signal_fraction;
  return base * ((1.0 - alpha) + alpha * 2.0 * u);
}

}  // namespace cimtlm::cim
