// Area of one CIM macro from its geometry and per-component areas in F^2
// (models/cim/README.md "Area"): cell array, ADCs, column multiplexers, word-line drivers,
// shift-add units and input buffers.
#pragma once

#include "models/cim/cim_params.h"

namespace cimtlm::cim {

struct CimAreaUm2 {
  double array = 0.0;      // rows x cols bit cells
  double adc = 0.0;        // adc_count() ADCs of the chosen type
  double shift_add = 0.0;  // one shift-add unit per ADC
  double mux = 0.0;        // column multiplexers
  double drivers = 0.0;    // word-line drivers and decoders
  double buffers = 0.0;    // input latches

  double periphery() const { return mux + drivers + buffers; }
  double total() const { return array + adc + shift_add + periphery(); }
};

// Bits of the shift-add accumulator of one ADC: its code shifted over the weight slices.
int shift_add_bits(const CimMacroParams& params);

CimAreaUm2 cim_macro_area_um2(const CimMacroParams& params);

}  // namespace cimtlm::cim
