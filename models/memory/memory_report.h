// Report helpers for the memory hierarchy: stacked footprint, what silicon SRAM would have cost,
// and retention versus temperature. Plain C++ (no SystemC), so that the report and the CLI can
// call them without a simulation.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "models/memory/level_activity.h"
#include "models/memory/memory_params.h"

namespace cimtlm::memory {

// ---- Stacking -------------------------------------------------------------------------------

struct LayerArea {
  int layer = 0;                    // 0 = silicon base, 1 = OS layer 1, ...
  double area_mm2 = 0;              // memory on this layer (+ logic on the base)
  std::vector<std::string> levels;  // levels with area on this layer (cells or periphery)
};

struct StackFootprint {
  std::vector<LayerArea> layers;  // in layer order, every layer from 0 to the highest used
  double stacked_mm2 = 0;         // monolithic stack: the largest layer
  double planar_mm2 = 0;          // everything side by side: the sum of the layers
  struct Hops {
    std::string level;
    int layers_crossed = 0;  // between the silicon base and the level (0 for off-chip)
  };
  std::vector<Hops> vertical_hops;
};

// Footprint of the on-chip levels (off-chip levels are left out): each level's cell array
// (area_um2_per_bit) on its own layer and its silicon part (silicon_area_um2_per_bit:
// periphery, NOSRAM read transistors) on the silicon base. `silicon_logic_area_mm2` is the
// arithmetic unit and other logic on the silicon base, if known.
StackFootprint stack_footprint(const std::vector<MemoryLevelParams>& levels,
                               double silicon_logic_area_mm2 = 0.0);
void print_footprint(std::ostream& out, const StackFootprint& footprint);

// ---- What silicon SRAM would have cost ---------------------------------------------------------

struct SramComparison {
  std::string level;
  std::string technology;
  LevelActivity actual;        // the level's own energies
  double sram_access_pj = 0;   // the same reads and writes at SRAM energy per bit
  double sram_leakage_pj = 0;  // SRAM of the same capacity leaking for the whole run: it cannot
                               // be gated without losing its data
  double sram_total_pj() const { return sram_access_pj + sram_leakage_pj; }
  // Refresh + leakage + wake-up of the level versus SRAM leakage: the static cost of keeping
  // the data.
  double actual_keep_data_pj() const {
    return actual.refresh_energy_pj + actual.leakage_energy_pj + actual.wakeup_energy_pj +
           actual.gate_entry_energy_pj;
  }
};

// The energy `activity` (reads, writes, bytes, simulated time) would have cost in silicon SRAM
// of the level's capacity: access + leakage at `temperature_k` (the SRAM preset's leakage law),
// no refresh, no gating.
SramComparison sram_equivalent(const MemoryLevelParams& level, const LevelActivity& activity,
                               const MemoryLevelParams& sram, double temperature_k);
// A table per level: access, refresh, leakage, wake-up energy next to SRAM's access and leakage.
void print_sram_comparison(std::ostream& out, const std::vector<SramComparison>& rows);

// ---- Retention versus temperature -------------------------------------------------------------

struct RetentionTable {
  std::vector<std::string> technologies;
  std::vector<double> temperatures_c;
  // retention_s[t][k]: retention of technology k at temperature t, in seconds (infinity for
  // static cells).
  std::vector<std::vector<double>> retention_s;
};

RetentionTable retention_table(const std::vector<MemoryLevelParams>& technologies,
                               double from_c = 25.0, double to_c = 125.0, double step_c = 5.0);
// CSV: temperature_c,temperature_k,<tech>_s,...  ("inf" for static cells).
void write_retention_csv(std::ostream& out, const RetentionTable& table);
// Human-readable table (s / min / h / days).
void print_retention_table(std::ostream& out, const RetentionTable& table);
// "3.2 ms", "41 s", "2.5 h", "12 days".
std::string format_duration_s(double seconds);

}  // namespace cimtlm::memory
