// `cimtlm run`: from a platform file and networks to a report, stats JSON, VCD and outputs.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "compiler/map/arch.h"
#include "platforms/config/config.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms {

struct RunOptions {
  std::string config_path;
  std::vector<Override> overrides;
  std::vector<std::string> networks;  // replaces workload.networks when not empty
  std::string vcd_path;               // empty: no trace
  std::string stats_path;             // empty: traces/<config stem>.stats.json
  std::string output_dir;             // empty: outputs are not written
  std::vector<std::pair<std::string, std::string>> inputs;  // NAME=FILE
  int inferences = 0;                 // 0: workload.inferences
  bool quiet = false;
};

// What the mapper needs to know of a platform (also used by the recsys scenario).
map::ArchInfo arch_info(const PlatformSpec& spec);

// Returns the exit status: 0 success, 1 simulation failure, 2 bad input.
int run_platform(const RunOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cimtlm::platforms
