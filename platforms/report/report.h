// The results of a run: the stats JSON of the contract (ARCHITECTURE.md) and a readable report,
// both computed from the statistics tree and a summary of the run.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/map/mapper.h"
#include "models/cim/cim_area.h"
#include "models/kernel/stats.h"
#include "models/memory/memory_params.h"
#include "platforms/builder/layer_account.h"

namespace cimtlm::platforms {

struct NetworkSummary {
  std::string name;
  std::string path;
  std::vector<int> cores;
  int precision_bits = 8;  // weight precision the allocation chose (largest layer width)
  int64_t outputs_compared = 0;
  int64_t mismatches = 0;        // beyond the tolerance
  int64_t values_different = 0;  // any difference at all
  double max_abs_error = 0;  // in output codes
  bool match_reference = true;
  map::MappingReport mapping;
  nlohmann::json schedule = nlohmann::json::object();
};

struct RunSummary {
  std::string platform;
  std::string config_file;
  uint64_t seed = 1;
  double clock_hz = 1e9;
  std::vector<NetworkSummary> networks;
  uint64_t cycles = 0;
  double simulated_ns = 0;
  double wall_s = 0;
  int inferences = 0;
  bool check_reference = true;
  int64_t tolerance = 0;
  std::string failure;  // empty when the simulation itself succeeded
  std::vector<memory::MemoryLevelParams> memory_levels;
  memory::MemoryLevelParams sram_reference;  // the SRAM preset, for the comparison
  double temperature_k = 358.15;             // die temperature of the run (SRAM leakage)
  int cores = 0;
  nlohmann::json allocation = nlohmann::json::object();
  // An off-chip level the run added because the platform names none and the network does not
  // fit on chip (empty: none added), and why.
  std::string added_level;
  std::string added_level_reason;
  LayerAccountMap layer_accounts;  // per (layer, core), from the chip
  cim::CimAreaUm2 cim_area_um2;  // one macro (models/cim/cim_area.h)
  int cim_macros_per_core = 0;
  double arith_datapath_um2 = 0.0;  // one core's arithmetic unit (models/arith/arith_params.h)
  double arith_accumulator_um2 = 0.0;

  bool match_reference() const;
  int64_t mismatches() const;
};

// The stats JSON: every key of the contract, nested ("sim": {"cycles": ..}) and, for tools that
// look keys up whole, also flat ("sim.cycles": ..); the full statistics tree under "modules".
nlohmann::json stats_json(const RunSummary& summary, const kernel::StatGroup& chip);

// The readable report printed at the end of a run.
void print_report(std::ostream& out, const RunSummary& summary, const kernel::StatGroup& chip);

}  // namespace cimtlm::platforms
