// Which cores each network of a run gets, and the programs that result (one map per network).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/map/arch.h"
#include "compiler/map/mapper.h"
#include "models/core/program.h"
#include "platforms/run/workload.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms {

struct Allocation {
  core::ChipProgram program;  // every core's program, every network's inputs and outputs
  std::vector<std::vector<int>> cores;          // per network
  std::vector<int> precision_bits;              // per network
  std::vector<map::MappingReport> mappings;     // per network
  std::vector<nlohmann::json> schedules;        // per network
  std::map<std::string, int> network_of_binding;          // IoBinding name -> network index
  std::map<std::string, std::string> value_of_binding;    // IoBinding name -> tensor name
  nlohmann::json report = nlohmann::json::object();       // allocation.<network>.{cores,...}

  const core::IoBinding& output_binding(size_t network, const std::string& value) const;
};

// Gives every network a contiguous share of the cores and maps it there. When several networks'
// weights do not fit in the chip's arrays together, their weight precisions are allocated first
// (compiler/quant/precision_allocation.h) and the networks requantized accordingly (their graph
// and reference values change). Spare cores go in proportion to MACs. Throws graph::ModelError
// when a network cannot be placed.
Allocation allocate_cores(std::vector<PreparedNetwork>& networks, const PlatformSpec& spec,
                          const map::ArchInfo& arch);

}  // namespace cimtlm::platforms
