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

  // --- Energy, pJ per event
  // ------------------------------------------------------------------------ Word-line pulse of one
  // conducting row: driver plus ~256 cell gates (~25 fF at 0.9 V).
  double row_activation_energy_pj = 0.05;
  // Bit-line charge per cell on a conducting row (1-3 fJ in 28 nm SRAM CIM macros; Yu 2021).
  double bitline_energy_pj_per_active_cell = 0.002;
  // One shift-and-add of an ADC result into a ~24-bit accumulator (8..32-bit add 0.03..0.1 pJ in
  // 45 nm: M. Horowitz, "Computing's Energy Problem", ISSCC 2014).
  double shift_add_energy_pj = 0.03;
  // Zero-point compare of one input element plus its share of the block OR tree (Horowitz 2014).
  double detection_energy_pj_per_row = 0.01;
  // One 8 x 24-bit multiply-add per compensated output (Horowitz 2014, scaled).
  double compensation_energy_pj = 0.2;
  // Write of one bit cell including its share of the write drivers (~10-30 fJ/bit for SRAM).
  double write_energy_pj_per_cell = 0.02;
  // Static power of array, ADCs and periphery (64 kb of low-power SRAM plus 32 SAR ADCs).
  double leakage_mw = 0.1;

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
