// The CIM macro's energy per event from circuit quantities (models/cim/README.md "Energy"
// derives every formula): word-line drivers per pulsed row, bit lines C*V*dV per line and
// activation, sense/ADC energy by ADC type with its signal dependence, shift-add scaled by node,
// and leakage per component. CimArrayModel's accounting calls it; it holds no state besides
// the per-event figures derived once from CimMacroParams.
#pragma once

#include <cstdint>

#include "models/cim/cim_params.h"

namespace cimtlm::cim {

enum class AdcType { Sar, Flash, Mlsa };

// "sar" | "flash" | "mlsa" (validate() rejects anything else).
AdcType adc_type_of(const CimMacroParams& params);

// Energy of one b-bit add in a node of `technology_nm` at `supply_v`, from an energy per bit
// measured at 45 nm and 0.9 V (Horowitz, ISSCC 2014), scaled as C*V^2 with C proportional to
// the feature size.
double scaled_adder_energy_pj(double energy_fj_per_bit_45nm, double technology_nm, double supply_v,
                              int bits);

// Static power of the macro: cells, ADCs and the rest of the periphery.
double cim_leakage_mw(const CimMacroParams& params);

class CimEnergyModel {
 public:
  explicit CimEnergyModel(const CimMacroParams& params);

  // Word-line driver and gate charge of one pulsed row: C_wl * V_dd^2, C_wl = cols * c_wl/cell.
  double wordline_pj_per_row() const { return wordline_pj_per_row_; }
  // One bit line precharged and read in one activation: C_bl * V_dd * dV, C_bl = rows * c_bl/cell.
  double bitline_pj_per_column() const { return bitline_pj_per_column_; }
  // True when the conversion energy depends on the partial sums (the accounting then sums the
  // conducting cells of every activation).
  bool signal_dependent() const { return signal_dependent_; }
  // SAR and flash: conversion_pj() is linear in the partial sum (it never exceeds the full scale).
  bool linear_in_signal() const { return type_ != AdcType::Mlsa; }
  // Energy of one conversion that resolves `bits` bits with a full scale of `full_scale`
  // partial-sum units, when the converted partial sum is `partial_sum` (in cell-current units:
  // the sum of the stored cell values of the conducting rows of the column).
  double conversion_pj(int bits, int64_t full_scale, double partial_sum) const;
  // Energy of the same conversion at mid-scale activity (no signal information).
  double conversion_pj(int bits) const;

 private:
  CimMacroParams params_;
  AdcType type_ = AdcType::Sar;
  bool signal_dependent_ = false;
  double wordline_pj_per_row_ = 0.0;
  double bitline_pj_per_column_ = 0.0;
  double cell_sense_pj_ = 0.0;  // V_read * I_cell * t_sense: one conducting cell, one compare
  double saturation_cells_ = 0.0;
  double base_conversion_pj(int bits) const;
  double base_pj_[17] = {};  // conversion_pj(bits) for bits 0..16, computed once (pow is slow)
  double comparators_[17] =
      {};  // 2^bits - 1  // cells at which the series resistance halves the gain
};

}  // namespace cimtlm::cim
