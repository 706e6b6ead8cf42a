#include "models/cim/cim_area.h"

#include <cmath>

#include "models/cim/cim_energy.h"

namespace cimtlm::cim {

int shift_add_bits(const CimMacroParams& params) {
  return params.adc_bits + params.max_weight_bits;
}

CimAreaUm2 cim_macro_area_um2(const CimMacroParams& params) {
  // F^2 in um^2.
  const double f2 = params.technology_nm * params.technology_nm * 1e-6;
  const double rows = static_cast<double>(params.rows);
  const double cols = static_cast<double>(params.cols);
  const double adcs = static_cast<double>(params.adc_count());
  CimAreaUm2 area;
  area.array = rows * cols * params.cell_area_f2 * f2;
  double per_adc_f2 = 0.0;
  if (adc_type_of(params) == AdcType::Sar) {
    // Logic and comparator grow with the bits, the binary-weighted DAC with 2^bits unit caps.
    per_adc_f2 = params.sar_area_f2_per_bit * params.adc_bits +
                 params.sar_area_f2_per_unit_cap * std::ldexp(1.0, params.adc_bits);
  } else {
    per_adc_f2 = params.comparator_area_f2 * (std::ldexp(1.0, params.adc_bits) - 1.0);
  }
  area.adc = adcs * per_adc_f2 * f2;
  area.shift_add = adcs * shift_add_bits(params) * params.adder_area_f2_per_bit * f2;
  area.mux = params.cols_per_adc > 1 ? cols * params.mux_area_f2_per_column * f2 : 0.0;
  area.drivers = rows * params.driver_area_f2_per_row * f2;
  area.buffers = rows * params.buffer_area_f2_per_bit * f2;
  return area;
}

}  // namespace cimtlm::cim
