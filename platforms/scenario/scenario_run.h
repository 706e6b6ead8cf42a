// `cimtlm scenario`: a scenario file to a report, stats JSON, CSV series, VCD and PNG plot.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "platforms/config/config.h"

namespace cimtlm::platforms {

struct ScenarioOptions {
  std::string scenario_path;
  std::vector<Override> overrides;  // keys of the scenario file
  std::string stats_path;           // empty: traces/<scenario stem>.stats.json
  std::string csv_path;             // empty: none
  std::string vcd_path;             // empty: none
  std::string plot_path;            // empty: none (needs `plot_script` and /usr/bin/python3)
  std::string plot_script;
  bool quiet = false;
};

// Returns the exit status: 0 success, 1 a run failed (retention violation), 2 bad input.
int run_scenario_file(const ScenarioOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cimtlm::platforms
