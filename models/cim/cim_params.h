// Parameters of one sparsity-aware CIM macro (models/cim/README.md derives every formula).
//
// The platform maps the YAML keys `core.cim.<field>` one to one onto these fields and calls
// validate() once at configuration time. Units are in the field names: cycles are cycles of the
// owning core's clock, energies are picojoules per event.
#pragma once

#include <cstdint>
#include <string>

namespace cimtlm::cim {

struct CimMacroParams {
  // --- Array -----------------------------------------------------------------------------------
  // 256 x 256 bit cells (64 kb): the size class of published SRAM CIM macros (e.g. Chih et al.,
  // ISSCC 2021, 22 nm, 64 kb; Su et al., ISSCC 2021, 28 nm, 384 kb with 8-bit precision).
  int64_t rows = 256;  // word lines = input elements of one tile
  int64_t cols = 256;  // physical bit-cell columns (bit lines)
  int cell_bits = 1;   // bits stored per cell: 1 (SRAM) or 2 (multi-level eDRAM/IGZO/ReRAM)
  // Signed weights: "offset" stores w + 2^(weight_bits-1) as an unsigned number in one column set;
  // "differential" stores max(w,0) and max(-w,0) in two column sets (zero weights draw no current).
  std::string encoding = "offset";
  // Largest precisions a job may use (jobs give their own weight_bits / input_bits, 1..this).
  int max_weight_bits = 8;
  int max_input_bits = 8;

  // --- Row activation and sparsity ---------------------------------------------------------------
  // Rows that conduct at once onto a bit line; the ADC full scale is rows_per_activation x
  // (2^cell_bits - 1). 64 rows with a 7-bit ADC is lossless; analog macros activate 16..64 rows
  // (S. Yu et al., "Compute-in-Memory Chips for Deep Learning: Recent Trends and Prospects",
  // IEEE Circuits and Systems Magazine 21(3), 2021).
  int64_t rows_per_activation = 64;
  // Rows per skippable block: the sparsity detector gates word-line drivers per block of 16.
  int64_t row_block = 16;
  // How sparse-mode activations are formed. "blocks": an activation is rows_per_activation /
  // row_block consecutive non-skipped blocks (word-line groups wired per block), so only
  // all-zero blocks save time. "rows": the controller packs the enabled rows, rows_per_activation
  // at a time (per-row word-line enables, a prefix-sum row scheduler), so every zero row frees
  // a slot.
  std::string activation_packing = "blocks";
  // Sparse mode when the fraction of zero inputs (x == input zero point) of a vector exceeds
  // this; 1 turns sparsity awareness (and the detector) off. 0.5 acts on clearly sparse vectors
  // (post-ReLU activations are typically half zero or more); lower thresholds save more ADC
  // energy but, for asymmetric inputs, add the compensation mask plane's latency to vectors with
  // few zeros (README "Sparsity sweep").
  double sparsity_threshold = 0.5;

  // --- ADC -------------------------------------------------------------------------------------
  int adc_bits = 7;
  // Physical columns multiplexed onto one SAR ADC (NeuroSim's default 8:1 column mux; Peng et
  // al., "DNN+NeuroSim", IEDM 2019).
  int64_t cols_per_adc = 8;
  // In sparse mode the ADC reference is narrowed to the rows still enabled in an activation
  // (finer steps, fewer SAR bit trials).
  bool adc_range_narrowing = true;
  // Energy per conversion E(b) = FOM_W * 2^b + 1 / (2 * 10^((FOM_S - 6.02 b - 1.76) / 10)):
  // the Walden figure of merit dominates at low resolution, the thermal-noise (Schreier) limit
  // at high resolution. Values are mid-range SAR designs of B. Murmann, "ADC Performance Survey
  // 1997-2023" (github.com/bmurmann/ADC-survey): FOM_W of a few fJ/conversion-step, FOM_S about
  // 175 dB.
  double adc_walden_fom_fj_per_step = 3.0;
  double adc_schreier_fom_db = 175.0;

  // --- Timing, cycles of the core clock ---------------------------------------------------------
  int64_t row_activation_cycles = 2;  // word-line rise and bit-line settling per activation (~2 ns)
  int64_t adc_conversion_cycles = 8;  // 7-bit SAR: one sampling cycle + one per bit trial
  int64_t shift_add_cycles = 1;       // shift-add pipeline drain per input vector
  int64_t detection_cycles = 2;       // zero compare + block OR tree per input vector
  int64_t compensation_cycles = 2;    // z_x * sum(w of disabled rows) multiply-add per vector
  int64_t weight_write_cycles_per_row = 1;  // one word-line write per cycle (SRAM write port)

  // --- Technology and circuit (sram_28nm preset of platforms/schema.yaml; sources there) -------
  // cim_energy.h turns these into energies per event; cim_area.h into the macro's area.
  std::string adc_type = "sar";          // "sar", "flash" or "mlsa" (multi-level sense amplifier)
  double technology_nm = 28.0;           // feature size F
  double supply_v = 0.9;                 // V_dd of drivers, bit-line precharge and digital logic
  double bitline_cap_ff_per_cell = 0.2;  // bit-line wire + junction capacitance per cell
  double bitline_swing_v = 0.5;          // dV of a bit line per activation
  double wordline_cap_ff_per_cell = 0.074;  // word-line wire + access-gate capacitance per cell
  double comparator_energy_fj = 4.4;    // one comparator / sense-amplifier decision (flash, mlsa)
  double read_voltage_v = 0.5;          // bit-line read voltage of current-mode sensing (mlsa)
  double cell_read_current_ua = 0.158;  // current of one conducting cell at read_voltage
  double sense_time_ns = 1.0;           // one current-mode sensing (mlsa)
  double bitline_series_resistance_kohm = 5.6;  // bit-line wire + sense input, in series
  // SAR and flash: share of a conversion's energy that grows with the code (DAC switching,
  // comparators that flip); 0 makes the energy independent of the signal.
  double adc_signal_fraction = 0.3;
  // Static power per component (cim_leakage_mw() sums them into leakage_mw in the platform).
  double cell_leakage_pw = 10.0;
  double adc_leakage_nw = 5.0;
  double periphery_leakage_uw = 0.1;
  // Areas in F^2 (cim_area.h), so that one figure serves every node.
  double cell_area_f2 = 280.0;               // one bit cell
  double comparator_area_f2 = 8805.0;        // one comparator / sense amplifier (flash, mlsa)
  double sar_area_f2_per_bit = 20000.0;      // SAR logic and comparator share per resolved bit
  double sar_area_f2_per_unit_cap = 3000.0;  // one unit capacitor of the SAR DAC (2^b of them)
  double adder_area_f2_per_bit = 12180.0;    // shift-add adder + register, per accumulator bit
  double driver_area_f2_per_row = 8500.0;    // word-line driver and decoder share, per row
  double mux_area_f2_per_column = 1500.0;    // column multiplexer pass gates, per column
  double buffer_area_f2_per_bit = 2400.0;    // input latch, per row

  // --- Energy, pJ per event ----------------------------------------------------------------------
  // One shift-and-add of an ADC result into the column-group accumulator; the platform scales it
  // from 45 nm to technology_nm (scaled_adder_energy_pj(); Horowitz, ISSCC 2014: 8..32-bit add
  // 0.03..0.1 pJ at 45 nm). 0.03 pJ ~ a 15-bit add at 28 nm, 0.9 V.
  double shift_add_energy_pj = 0.03;
  // Zero-point compare of one input element plus its share of the block OR tree (Horowitz 2014).
  double detection_energy_pj_per_row = 0.01;
  // One 8 x 24-bit multiply-add per compensated output (Horowitz 2014, scaled).
  double compensation_energy_pj = 0.2;
  // Write of one bit cell including its share of the write drivers (~10-30 fJ/bit for SRAM).
  double write_energy_pj_per_cell = 0.02;
  // Total static power of the macro (the platform sets it to cim_leakage_mw() of the components).
  double leakage_mw = 0.000915;

  // --- Non-idealities (off by default)
  // -------------------------------------------------------------
  double conductance_sigma = 0.0;  // relative sigma of each cell's conductance (seeded Gaussian)
  double adc_offset_lsb = 0.0;     // sigma of the static offset of each ADC, in ADC LSB
  double adc_noise_lsb = 0.0;      // sigma of the noise of each conversion, in ADC LSB
  uint64_t seed = 1;               // seeds the non-idealities

  // Empty when every field is sensible, else a message naming the first bad field.
  std::string validate() const;

  bool differential() const { return encoding == "differential"; }
  bool packs_rows() const { return activation_packing == "rows"; }
  // Physical columns per logical weight column: ceil(weight_bits / cell_bits) slices, times 2
  // column sets for differential encoding.
  int64_t physical_columns_per_weight(int weight_bits) const;
  int64_t adc_count() const { return cols / cols_per_adc; }
  // Largest value one cell contributes: 2^cell_bits - 1.
  int64_t cell_max() const { return (int64_t{1} << cell_bits) - 1; }
  // True when the ADC resolves every partial sum exactly (adc_bits covers the full scale).
  bool adc_lossless() const;
  bool has_nonidealities() const {
    return conductance_sigma > 0.0 || adc_offset_lsb > 0.0 || adc_noise_lsb > 0.0;
  }
  // Energy of one conversion that resolves `bits` bits (the formula above); 0 for 0 bits.
  double adc_energy_pj(int bits) const;
};

// Logical weight columns (output channels) one macro holds at a weight bit width.
int64_t logical_weight_columns(const CimMacroParams& params, int weight_bits);

}  // namespace cimtlm::cim
