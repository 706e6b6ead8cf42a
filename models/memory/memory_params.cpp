#include "models/memory/memory_params.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace cimtlm::memory {

const char* to_string(RetentionPolicy policy) {
  switch (policy) {
    case RetentionPolicy::Error:
      return "error";
    case RetentionPolicy::Inject:
      return "inject";
    case RetentionPolicy::Warn:
      return "warn";
  }
  return "error";
}

bool parse_retention_policy(const std::string& text, RetentionPolicy& policy) {
  if (text == "error") {
    policy = RetentionPolicy::Error;
  } else if (text == "inject") {
    policy = RetentionPolicy::Inject;
  } else if (text == "warn") {
    policy = RetentionPolicy::Warn;
  } else {
    return false;
  }
  return true;
}

double arrhenius_retention_s(double retention_s_at_ref, double reference_temperature_k,
                             double activation_energy_ev, double temperature_k) {
  return retention_s_at_ref * std::exp(activation_energy_ev / kBoltzmannEvPerK *
                                       (1.0 / temperature_k - 1.0 / reference_temperature_k));
}

double MemoryLevelParams::retention_s(double temperature_k) const {
  if (static_cell) return std::numeric_limits<double>::infinity();
  return arrhenius_retention_s(retention_s_at_ref, reference_temperature_k, activation_energy_ev,
                               temperature_k);
}

namespace {
bool is_power_of_two(uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}
}  // namespace

std::string MemoryLevelParams::validate() const {
  std::ostringstream error;
  auto field = [&](const char* key) -> std::ostringstream& {
    error << "memory level '" << name << "': " << key << ' ';
    return error;
  };
  if (name.empty()) {
    field("name") << "must not be empty";
  } else if (technology != "nosram" && technology != "dosram" && technology != "sram" &&
             technology != "dram") {
    field("technology") << "must be nosram, dosram, sram or dram (got '" << technology << "')";
  } else if (stack_layer < 0) {
    field("stack_layer") << "must be >= 0 (0 = silicon base)";
  } else if (capacity_bytes == 0 || capacity_bytes > (1ULL << 32)) {
    field("capacity_bytes") << "must be in 1 B .. 4 GiB (the address window of one level)";
  } else if (banks < 1 || banks > 64) {
    field("banks") << "must be in 1..64";
  } else if (word_bytes < 1 || !is_power_of_two(static_cast<uint64_t>(word_bytes))) {
    field("word_bytes") << "must be a power of two";
  } else if (row_bytes < word_bytes || row_bytes % word_bytes != 0) {
    field("row_bytes") << "must be a multiple of word_bytes (" << word_bytes << ")";
  } else if (capacity_bytes % static_cast<uint64_t>(row_bytes) != 0) {
    field("capacity_bytes") << "must be a multiple of row_bytes (" << row_bytes << ")";
  } else if (rows() % static_cast<uint64_t>(banks) != 0) {
    field("banks") << "must divide the number of rows (" << rows() << ")";
  } else if (alignment_bytes < 1 || !is_power_of_two(static_cast<uint64_t>(alignment_bytes))) {
    field("alignment_bytes") << "must be a power of two";
  } else if (read_cycles < 1) {
    field("read_cycles") << "must be >= 1";
  } else if (write_cycles < 1) {
    field("write_cycles") << "must be >= 1";
  } else if (bytes_per_cycle < 1) {
    field("bytes_per_cycle") << "must be >= 1";
  } else if (!(read_energy_pj_per_bit >= 0)) {
    field("read_energy_pj_per_bit") << "must be >= 0";
  } else if (!(write_energy_pj_per_bit >= 0)) {
    field("write_energy_pj_per_bit") << "must be >= 0";
  } else if (!(leakage_pw_per_bit >= 0)) {
    field("leakage_pw_per_bit") << "must be >= 0";
  } else if (!static_cell && !(retention_s_at_ref > 0)) {
    field("retention_s_at_ref") << "must be > 0";
  } else if (!(reference_temperature_k > 0)) {
    field("reference_temperature_k") << "must be > 0 (kelvin)";
  } else if (!(activation_energy_ev >= 0)) {
    field("activation_energy_ev") << "must be >= 0";
  } else if (!(temperature_step_k > 0)) {
    field("temperature_step_k") << "must be > 0";
  } else if (!(refresh_margin >= 0 && refresh_margin < 1)) {
    field("refresh_margin") << "must be in [0, 1)";
  } else if (refresh_cycles_per_row < 1) {
    field("refresh_cycles_per_row") << "must be >= 1";
  } else if (!(refresh_energy_pj_per_row >= 0)) {
    field("refresh_energy_pj_per_row") << "must be >= 0";
  } else if (wakeup_cycles < 0) {
    field("wakeup_cycles") << "must be >= 0";
  } else if (!(wakeup_energy_pj >= 0)) {
    field("wakeup_energy_pj") << "must be >= 0";
  } else if (vertical_hop_cycles < 0) {
    field("vertical_hop_cycles") << "must be >= 0";
  } else if (!(vertical_hop_energy_pj_per_bit >= 0)) {
    field("vertical_hop_energy_pj_per_bit") << "must be >= 0";
  } else if (!(area_um2_per_bit >= 0)) {
    field("area_um2_per_bit") << "must be >= 0";
  } else if (max_recorded_violations < 0) {
    field("max_recorded_violations") << "must be >= 0";
  } else if (!(decay_spread > 0)) {
    field("decay_spread") << "must be > 0";
  }
  return error.str();
}

std::vector<std::string> technology_names() {
  return {"nosram", "dosram", "sram", "dram"};
}

// Default figures. Every value carries its source; "estimate" marks values for which no
// published per-bit figure was found and that were derived as explained. Times are converted
// to cycles of a 1 GHz clock (1 cycle = 1 ns).
MemoryLevelParams technology_defaults(const std::string& technology) {
  MemoryLevelParams p;
  p.name = technology;
  p.technology = technology;
  if (technology == "nosram") {
    // NOSRAM: OS-FET gain cell (2T1C: OS write FET over a Si read FET), very long retention.
    // [Ishizu17] T. Ishizu et al., "A 140 MHz 1 Mbit 2T1C gain-cell memory with 60-nm IGZO
    //   transistor embedded into 65-nm CMOS logic process technology", Symp. VLSI Circuits
    //   2017: 140 MHz, retention > 1 h, standby 31 uW and active 64 uW/MHz per 1 Mbit macro.
    // [Inoue12] H. Inoue et al., "Nonvolatile memory with extremely low-leakage IGZO thin-film
    //   transistor", IEEE JSSC 47(9), 2258-2265, 2012: 1 Mb NOSRAM, retention > 60 days at
    //   85 °C (0.8 um process, 2 fF cell).
    p.stack_layer = 1;
    p.static_cell = false;
    p.capacity_bytes = 1 << 20;  // 8 macros of 1 Mbit [Ishizu17]
    p.banks = 8;                 // one bank per macro
    p.word_bytes = 8;
    p.row_bytes = 256;
    p.read_cycles = 8;      // 140 MHz = 7.1 ns per access [Ishizu17]
    p.write_cycles = 8;     // same cycle for writes [Ishizu17]
    p.bytes_per_cycle = 8;  // 8 interleaved macros of 64 bit at 140 MHz: ~9 B/ns
    // 64 uW/MHz = 64 pJ per access cycle of one macro [Ishizu17]; with a 32-bit macro word
    // (assumption) that is 2 pJ/bit.
    p.read_energy_pj_per_bit = 2.0;
    p.write_energy_pj_per_bit = 2.0;
    // 31 uW standby per 1 Mbit macro [Ishizu17] = 29.6 pW/bit (peripheral Si leakage; the cell
    // itself holds its charge); removed entirely by power gating.
    p.leakage_pw_per_bit = 30.0;
    // Between > 1 h measured at 60 nm [Ishizu17] and > 60 days at 0.8 um [Inoue12]; 1 day at
    // 85 °C (the brief's "hours to > 1 day") for a scaled cell.
    p.retention_s_at_ref = 86400.0;
    p.reference_temperature_k = 358.15;
    // [Kato12] K. Kato et al., "Evaluation of off-state current characteristics of transistor
    //   using oxide semiconductor material, IGZO", JJAP 51, 021201, 2012: off-current (and so
    //   retention) follows an Arrhenius law; about 1 eV is used for IGZO (approximate).
    p.activation_energy_ev = 1.0;
    p.refresh_enabled = true;  // a refresh every ~0.9 day: never seen in short runs
    p.refresh_margin = 0.1;
    p.refresh_cycles_per_row = 16;  // read + write back of the row: 2 x 8 cycles
    p.refresh_energy_pj_per_row = 256 * 8 * (2.0 + 2.0);  // read + write of 2048 bits
    p.wakeup_cycles = 100;        // estimate: power-switch ramp of the periphery, ~100 ns
    p.wakeup_energy_pj = 2000.0;  // estimate: recharging ~1 nF of virtual supply at ~1.4 V
    p.vertical_hop_cycles = 1;    // estimate: monolithic inter-layer vias, no TSV
    p.vertical_hop_energy_pj_per_bit = 0.01;  // estimate: ~10 fF per bit per layer at 1 V
    p.area_um2_per_bit = 0.40;                // estimate: 2T1C cell at 60/65 nm with periphery
  } else if (technology == "dosram") {
    // DOSRAM: OS-FET 1T1C DRAM, shorter retention, denser and faster.
    // [Onuki15] T. Onuki et al., "Fabrication of DOSRAM with 3.9 fF storage capacitance and
    //   greater than 1 h retention by using CAAC-OS transistor with L of 60 nm", Jpn. J. Appl.
    //   Phys. 54(4S), 2015 (SSDM 2014): 5 ns write and read, ~30 mV signal change after 1 h at 85
    //   °C.
    // [Atsumi12] T. Atsumi et al., "DRAM using crystalline oxide semiconductor for access
    //   transistors and not requiring refresh for more than ten days", IEEE IMW 2012.
    p.stack_layer = 2;
    p.static_cell = false;
    p.capacity_bytes = 1 << 20;
    p.banks = 8;
    p.word_bytes = 8;
    p.row_bytes = 256;
    p.read_cycles = 5;   // 5 ns [Onuki15]
    p.write_cycles = 5;  // 5 ns [Onuki15]
    p.bytes_per_cycle = 16;
    // Estimate: 1T1C read is destructive and restored; bitline, sense amplifier and data path
    // at 60/65 nm, about half of the gain cell's [Ishizu17] figure.
    p.read_energy_pj_per_bit = 1.0;
    p.write_energy_pj_per_bit = 1.0;
    p.leakage_pw_per_bit = 10.0;    // estimate: Si periphery only, a third of [Ishizu17]'s per bit
    p.retention_s_at_ref = 3600.0;  // > 1 h at 85 °C [Onuki15] (Atsumi12: > 10 days, larger Cs)
    p.reference_temperature_k = 358.15;
    p.activation_energy_ev = 1.0;  // IGZO off-current [Kato12], approximate
    p.refresh_enabled = true;
    p.refresh_margin = 0.1;
    p.refresh_cycles_per_row = 10;  // read (5 ns) + restore (5 ns) [Onuki15]
    // Estimate: ~50 fJ per bit of bitline and sense-amplifier charge for a 2048-bit row.
    p.refresh_energy_pj_per_row = 100.0;
    p.wakeup_cycles = 50;         // estimate
    p.wakeup_energy_pj = 1000.0;  // estimate
    p.vertical_hop_cycles = 1;
    p.vertical_hop_energy_pj_per_bit = 0.01;
    p.area_um2_per_bit = 0.15;  // estimate: stacked 1T1C cell with periphery
  } else if (technology == "sram") {
    // Silicon 6T SRAM at 28 nm in the silicon base layer, for comparison.
    // [Horowitz14] M. Horowitz, "Computing's energy problem (and what we can do about it)",
    //   ISSCC 2014: 45 nm SRAM, 64-bit read from 8 KB: 10 pJ, 32 KB: 20 pJ, 1 MB: 100 pJ.
    // [Wu09] 28 nm foundry platforms report a 0.127 um2 high-density 6T cell (e.g. TSMC 28 nm,
    //   S.-Y. Wu et al., 2009).
    p.stack_layer = 0;
    p.static_cell = true;
    p.capacity_bytes = 1 << 20;
    p.banks = 8;
    p.word_bytes = 8;
    p.row_bytes = 256;
    p.read_cycles = 2;  // ~1.5-2 ns for a 1 MiB array at 28 nm
    p.write_cycles = 2;
    p.bytes_per_cycle = 16;
    // 100 pJ / 64 bit = 1.56 pJ/bit at 45 nm for 1 MB [Horowitz14], ~0.5x for 28 nm.
    p.read_energy_pj_per_bit = 0.8;
    p.write_energy_pj_per_bit = 0.8;
    // Estimate: 28 nm high-density cells at nominal supply leak tens of pW each (rising
    // steeply with temperature); 50 pW/bit = 0.42 mW per MiB.
    p.leakage_pw_per_bit = 50.0;
    p.refresh_enabled = false;
    p.wakeup_cycles = 20;        // estimate: power switch of the periphery and array
    p.wakeup_energy_pj = 200.0;  // estimate
    p.vertical_hop_cycles = 0;
    p.vertical_hop_energy_pj_per_bit = 0.0;
    p.area_um2_per_bit = 0.18;  // 0.127 um2 cell [Wu09] at ~70 % array efficiency
  } else if (technology == "dram") {
    // Off-chip LPDDR4.
    // [JESD209-4] JEDEC LPDDR4 standard: 8 banks, 2 KB page (x16), 8192 REF per tREFW = 32 ms
    //   up to 85 °C (refresh rate raised above), tRC ~ 60 ns, tXSR ~ tRFCab + 7.5 ns.
    // [Hamamoto98] T. Hamamoto et al., "On the retention time distribution of dynamic random
    //   access memory (DRAM)", IEEE TED 45(6), 1300-1309, 1998: tail cells Ea ~ 0.6 eV.
    p.off_chip = true;
    p.stack_layer = 0;
    p.static_cell = false;
    p.capacity_bytes = 256ULL << 20;
    p.banks = 8;             // [JESD209-4]
    p.word_bytes = 32;       // BL16 x 16 bit
    p.row_bytes = 2048;      // 2 KB page [JESD209-4]
    p.read_cycles = 40;      // tRCD 18 ns + RL ~ 18 ns + controller ~ 4 ns
    p.write_cycles = 30;     // tRCD + WL
    p.bytes_per_cycle = 12;  // LPDDR4-3200 x32: 12.8 GB/s
    // Estimate: ~4 pJ/bit including I/O is the usual LPDDR4 figure ([Horowitz14] gives
    // ~20 pJ/bit for DDR3 through a board).
    p.read_energy_pj_per_bit = 4.0;
    p.write_energy_pj_per_bit = 4.0;
    // Estimate: self-refresh/power-down current ~0.5 mA at 1.1 V for 8 Gb.
    p.leakage_pw_per_bit = 0.05;
    p.retention_s_at_ref = 0.032;  // tREFW 32 ms at 85 °C [JESD209-4]
    p.reference_temperature_k = 358.15;
    p.activation_energy_ev = 0.6;  // [Hamamoto98]
    p.refresh_enabled = true;
    p.refresh_margin = 0.1;
    p.refresh_cycles_per_row = 60;         // tRC [JESD209-4]
    p.refresh_energy_pj_per_row = 1000.0;  // estimate: activate + precharge of a 2 KB row
    p.wakeup_cycles = 300;                 // tXSR-like self-refresh exit [JESD209-4]
    p.wakeup_energy_pj = 5000.0;           // estimate
    p.vertical_hop_cycles = 0;
    p.vertical_hop_energy_pj_per_bit = 0.0;
    p.area_um2_per_bit = 0.0;  // off chip: not in the footprint
  } else {
    throw std::invalid_argument("unknown memory technology '" + technology +
                                "' (expected nosram, dosram, sram or dram)");
  }
  return p;
}

}  // namespace cimtlm::memory
