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

const char* to_string(RetentionLaw law) {
  return law == RetentionLaw::RefreshWindow ? "refresh_window" : "arrhenius";
}

bool parse_retention_law(const std::string& text, RetentionLaw& law) {
  if (text == "arrhenius") {
    law = RetentionLaw::Arrhenius;
  } else if (text == "refresh_window") {
    law = RetentionLaw::RefreshWindow;
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

namespace {

// Powered retention of the law alone (no gating).
double powered_retention_s(const MemoryLevelParams& p, double temperature_k) {
  if (p.retention_law == RetentionLaw::RefreshWindow) {
    return temperature_k > p.derating_temperature_k ? p.retention_s_at_ref / 2
                                                    : p.retention_s_at_ref;
  }
  if (!(p.retention_floor_s_at_ref > 0)) {
    return arrhenius_retention_s(p.retention_s_at_ref, p.reference_temperature_k,
                                 p.activation_energy_ev, temperature_k);
  }
  // Rates add: 1/t = 1/t_os(T) + 1/t_floor(T), with t(T_ref) = retention_s_at_ref.
  const double os_at_ref = 1.0 / (1.0 / p.retention_s_at_ref - 1.0 / p.retention_floor_s_at_ref);
  const double os = arrhenius_retention_s(os_at_ref, p.reference_temperature_k,
                                          p.activation_energy_ev, temperature_k);
  const double floor = arrhenius_retention_s(p.retention_floor_s_at_ref, p.reference_temperature_k,
                                             p.floor_activation_energy_ev, temperature_k);
  return 1.0 / (1.0 / os + 1.0 / floor);
}

}  // namespace

double MemoryLevelParams::retention_s(double temperature_k, bool gated) const {
  if (static_cell) return std::numeric_limits<double>::infinity();
  const double powered = powered_retention_s(*this, temperature_k);
  if (!gated || !(gated_retention_s_at_ref > 0)) return powered;
  return powered * gated_retention_s_at_ref / retention_s_at_ref;
}

double MemoryLevelParams::leakage_pw_per_bit_at(double temperature_k, bool gated) const {
  const double at_reference = gated ? gated_leakage_pw_per_bit : leakage_pw_per_bit;
  // The inverse of the Arrhenius retention factor: leakage grows as retention shrinks.
  return at_reference * std::exp(-leakage_activation_energy_ev / kBoltzmannEvPerK *
                                 (1.0 / temperature_k - 1.0 / leakage_temperature_k));
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
  } else if (technology != "nosram" && technology != "dosram" && technology != "igzo2t0c" &&
             technology != "sram" && technology != "dram") {
    field("technology") << "must be nosram, dosram, igzo2t0c, sram or dram (got '" << technology
                        << "')";
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
  } else if (!(retention_floor_s_at_ref >= 0)) {
    field("retention_floor_s_at_ref") << "must be >= 0 (0 = no floor)";
  } else if (!static_cell && retention_floor_s_at_ref > 0 &&
             !(retention_floor_s_at_ref > retention_s_at_ref)) {
    field("retention_floor_s_at_ref") << "must exceed retention_s_at_ref (" << retention_s_at_ref
                                      << " s): the measured retention includes the floor path";
  } else if (!(floor_activation_energy_ev >= 0)) {
    field("floor_activation_energy_ev") << "must be >= 0";
  } else if (!(derating_temperature_k > 0)) {
    field("derating_temperature_k") << "must be > 0 (kelvin)";
  } else if (!(leakage_temperature_k > 0)) {
    field("leakage_temperature_k") << "must be > 0 (kelvin)";
  } else if (!(leakage_activation_energy_ev >= 0)) {
    field("leakage_activation_energy_ev") << "must be >= 0";
  } else if (!(gated_leakage_pw_per_bit >= 0)) {
    field("gated_leakage_pw_per_bit") << "must be >= 0";
  } else if (!(gated_retention_s_at_ref >= 0)) {
    field("gated_retention_s_at_ref") << "must be >= 0 (0 = as powered)";
  } else if (gate_entry_cycles < 0) {
    field("gate_entry_cycles") << "must be >= 0";
  } else if (!(gate_entry_energy_pj >= 0)) {
    field("gate_entry_energy_pj") << "must be >= 0";
  } else if (!(silicon_area_um2_per_bit >= 0)) {
    field("silicon_area_um2_per_bit") << "must be >= 0";
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

}  // namespace cimtlm::memory
