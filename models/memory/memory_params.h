// Parameters of one level of the OS-FET memory hierarchy, and cited defaults per technology.
//
// The platform maps the YAML keys `core.memory.levels.<name>.<field>` one to one onto the fields
// of MemoryLevelParams (snake_case, units in the names). The technology presets (NOSRAM, DOSRAM,
// IGZO 2T0C, SRAM, LPDDR4 DRAM) with the source of every value are YAML: platforms/schema.yaml,
// core.memory.levels; the member defaults here only make a valid struct (see also
// models/memory/README.md).
//
// Cycle counts are in cycles of the clock the hierarchy is built with; the defaults assume a
// 1 GHz core clock and give the published time next to each value so that they can be
// converted for another clock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cimtlm::memory {

// Boltzmann constant in eV/K (CODATA 2018, exact in the 2019 SI).
constexpr double kBoltzmannEvPerK = 8.617333262e-5;
// 0 °C in kelvin.
constexpr double kZeroCelsiusK = 273.15;

// What happens when a row is read after its retention ran out.
enum class RetentionPolicy {
  Error,   // the read fails (TLM_GENERIC_ERROR_RESPONSE), the violation is recorded and the
           // simulation is stopped; the platform exits 1 naming level, address and time
  Inject,  // the bits decay (deterministically from the seed), the read succeeds with the
           // decayed data, violations and decayed bits are counted
  Warn,    // the violation is counted and reported as a warning; the data are returned intact
};
const char* to_string(RetentionPolicy policy);

// How the retention time depends on temperature.
enum class RetentionLaw {
  // Two leakage paths in parallel, their rates add: the OS-FET off-current (Arrhenius,
  // activation_energy_ev) and an optional floor path (read-transistor gate, ...) with its own,
  // smaller activation energy that caps the retention below the temperatures the source measured.
  Arrhenius,
  // A specification's refresh window (JEDEC tREFW), stepped: retention_s_at_ref up to
  // derating_temperature_k, half of it above (JEDEC: 2x refresh rate above 85 C).
  RefreshWindow,
};
const char* to_string(RetentionLaw law);
// Parses "arrhenius" | "refresh_window"; returns false on anything else.
bool parse_retention_law(const std::string& text, RetentionLaw& law);
// Parses "error" | "inject" | "warn"; returns false on anything else.
bool parse_retention_policy(const std::string& text, RetentionPolicy& policy);

struct MemoryLevelParams {
  std::string name = "level";       // stats child and VCD scope name
  std::string technology = "sram";  // "nosram" | "dosram" | "igzo2t0c" | "sram" | "dram"
  int stack_layer = 0;              // 0 = silicon base (arithmetic unit), 1 = OS layer 1, ...
  bool off_chip = false;            // an off-chip DRAM: no footprint, no vertical hops

  // Organisation. A row is the unit of retention tracking and refresh; rows are interleaved
  // over banks (row r is in bank r % banks).
  uint64_t capacity_bytes = 1 << 20;
  int banks = 8;
  int word_bytes = 8;       // width of one array word (alignment unit when enforced)
  int row_bytes = 256;      // bytes per row (refresh and retention granularity)
  int alignment_bytes = 1;  // required start-address alignment; 1 = byte-addressable
                            // (byte lanes), set to word_bytes to enforce word alignment

  // Timing, in clock cycles.
  int read_cycles = 2;       // first data of a read
  int write_cycles = 2;      // first data of a write
  int bytes_per_cycle = 16;  // transfer rate after the first beat

  // Energy.
  double read_energy_pj_per_bit = 0.5;
  double write_energy_pj_per_bit = 0.5;
  double leakage_pw_per_bit = 50.0;  // static power while powered (cells + periphery), pW/bit,
                                     // at leakage_temperature_k
  // Leakage follows P(T) = P_ref * exp(-Ea_leak/k * (1/T - 1/T_leak)) (subthreshold leakage of
  // the silicon periphery and cells grows exponentially with temperature).
  double leakage_temperature_k = 298.15;
  double leakage_activation_energy_ev = 0.0;

  // Retention (dynamic cells). t_ret(T) = retention_s_at_ref * exp(Ea/k * (1/T - 1/T_ref)).
  bool static_cell = true;  // SRAM: holds data indefinitely while powered and loses
                            // them at once when gated; retention fields unused
  double retention_s_at_ref = 3600.0;
  double reference_temperature_k = 358.15;  // 85 °C
  double activation_energy_ev = 1.0;
  RetentionLaw retention_law = RetentionLaw::Arrhenius;
  // Arrhenius law: retention limit of the other leakage paths at reference_temperature_k
  // (0 = none) and its activation energy. retention_s_at_ref is the measured total: the OS
  // path is what is left of it once the floor path is taken out.
  double retention_floor_s_at_ref = 0.0;
  double floor_activation_energy_ev = 0.0;
  // RefreshWindow law: above this temperature the window is halved.
  double derating_temperature_k = 358.15;
  // The retention clock starts a new segment when the die temperature moved by more than
  // this since the last segment (simulation granularity, not a device property).
  double temperature_step_k = 0.1;

  // Refresh controller.
  bool refresh_enabled = false;
  double refresh_margin = 0.1;      // rows are refreshed every (1 - margin) * t_ret(T)
  int refresh_cycles_per_row = 10;  // bank occupancy of one row refresh
  double refresh_energy_pj_per_row = 100.0;

  // Power gating (data kept for dynamic cells while their retention lasts).
  int wakeup_cycles = 100;
  double wakeup_energy_pj = 1000.0;
  // Entering the gated state: the bias generator charges the negative hold rail of the OS word
  // lines (the level is busy and still leaks for gate_entry_cycles).
  int gate_entry_cycles = 0;
  double gate_entry_energy_pj = 0.0;
  // Residual static power while gated (the bias generator keeping the hold bias), pW/bit at
  // leakage_temperature_k; follows the same temperature law as leakage_pw_per_bit.
  double gated_leakage_pw_per_bit = 0.0;
  // Retention while gated at reference_temperature_k (0 = as powered); the temperature law is
  // the powered one scaled to this figure.
  double gated_retention_s_at_ref = 0.0;

  // Stacking: latency and energy per OS layer crossed between the silicon base and this level.
  int vertical_hop_cycles = 1;
  double vertical_hop_energy_pj_per_bit = 0.01;
  // Footprint per bit: the cell array on this level's layer, and what sits in the silicon base
  // (layer 0) for it: periphery (sense amplifiers, decoders, drivers) and, in a NOSRAM, the
  // silicon read transistor under each cell. For a level on layer 0 both add up there.
  double area_um2_per_bit = 0.18;
  double silicon_area_um2_per_bit = 0.0;

  RetentionPolicy on_retention_violation = RetentionPolicy::Error;
  // Violations kept as events for the report (the counts are always exact).
  int max_recorded_violations = 1000;
  // Inject policy: a cell fails once the consumed retention exceeds its own factor
  // 1 + decay_spread * Exp(1) (a deterministic draw per cell). The level's retention is that
  // of its weakest cells; this spreads the rest.
  double decay_spread = 0.5;

  // Data retention at `temperature_k`, in seconds (infinity for static cells), powered or
  // gated.
  double retention_s(double temperature_k, bool gated = false) const;
  // Static power per bit at `temperature_k`, powered or gated (pW/bit).
  double leakage_pw_per_bit_at(double temperature_k, bool gated = false) const;
  // Rows and bits.
  uint64_t rows() const { return capacity_bytes / static_cast<uint64_t>(row_bytes); }
  double bits() const { return static_cast<double>(capacity_bytes) * 8.0; }
  // Empty when the parameters are consistent, otherwise a message naming the bad field.
  std::string validate() const;
};

// Arrhenius scaling of a retention time: t_ref * exp(Ea/k * (1/T - 1/T_ref)).
double arrhenius_retention_s(double retention_s_at_ref, double reference_temperature_k,
                             double activation_energy_ev, double temperature_k);

}  // namespace cimtlm::memory
