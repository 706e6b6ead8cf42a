// The platform specification: a checked platform file turned into the models' parameter structs
// (units resolved). Only this layer knows YAML; models receive plain structs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/arith/arith_params.h"
#include "models/cim/cim_params.h"
#include "models/core/core_controller.h"
#include "models/memory/memory_params.h"
#include "models/noc/noc_params.h"
#include "platforms/config/config.h"

namespace cimtlm::platforms {

struct PlatformSpec {
  std::string name;
  std::string file;
  uint64_t seed = 1;
  double clock_hz = 1e9;
  double temperature_k = 358.15;

  noc::NocParams noc;
  core::CoreParams core;
  cim::CimMacroParams cim;
  arith::ArithParams arith;
  std::vector<memory::MemoryLevelParams> memory_levels;
  // Silicon SRAM with its preset values (the report's "what SRAM would have cost").
  memory::MemoryLevelParams sram_reference;
  std::vector<int> gated_levels;  // levels power-gated between inferences
  int weights_level = 0;      // index into memory_levels
  int activations_level = 0;  // index into memory_levels

  std::string placement = "auto";
  std::string accumulation = "exact";
  bool compact = true;
  std::optional<uint64_t> memory_target_bytes;

  std::vector<std::string> networks;
  int inferences = 1;
  std::string precision_allocation = "auto";
  double quantum_s = 1e-6;
  bool check_reference = true;
  int64_t tolerance = 0;

  int cores() const { return noc.nodes(); }
};

// Builds the specification and runs every model's validate(); throws ConfigError naming the file,
// line and key path of the offending value.
PlatformSpec build_platform_spec(const Config& config);

// Host memory the simulation of `spec` needs (an upper estimate; saturates at 2^64-1), and the
// check of it against graph::memory_budget_bytes() that build_platform_spec() runs (issue 16:
// a 64x64 mesh of 16-core routers passed validate, then grew until killed).
uint64_t host_memory_estimate(const PlatformSpec& spec);
void check_host_memory(const Config& config, const PlatformSpec& spec);

// A memory level with every value from the technology preset of the schema (platforms/schema.yaml).
memory::MemoryLevelParams technology_preset(const std::string& technology);

}  // namespace cimtlm::platforms
