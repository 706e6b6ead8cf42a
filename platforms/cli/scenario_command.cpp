// cimtlm scenario SCENARIO.yaml [--set key=value]... [--stats F] [--csv F] [--vcd F] [--plot F]
#include <boost/program_options.hpp>

#include "platforms/cli/commands.h"
#include "platforms/cli/options.h"
#include "platforms/scenario/recsys_run.h"
#include "platforms/scenario/recsys_spec.h"
#include "platforms/scenario/scenario_run.h"

#ifndef CIMTLM_SOURCE_DIR
#define CIMTLM_SOURCE_DIR "."
#endif

namespace cimtlm::platforms::cli {

namespace po = boost::program_options;

int scenario_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm scenario SCENARIO.yaml [options]");
  options.add_options()("help,h", "show this help")(
      "set", po::value<std::vector<std::string>>(),
      "override a scenario key: --set scenario.duration=10s (repeatable)")(
      "stats", po::value<std::string>(), "stats JSON file (default traces/<scenario>.stats.json)")(
      "csv", po::value<std::string>(), "write the power, temperature and variant series as CSV")(
      "vcd", po::value<std::string>(), "write the series as VCD signals")(
      "plot", po::value<std::string>(),
      "write a PNG plot of the series (needs /usr/bin/python3 with matplotlib)")(
      "quiet,q", "no report on stdout")("scenario", po::value<std::string>(),
                                        "scenario file (the positional argument)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm scenario", "scenario", "SCENARIO.yaml"};
  command_line.help_epilogue =
      "The scenario keys: platforms/scenario_schema.yaml; the models: docs/power.md.\n"
      "A file with a top-level `recsys` key is a client/server recommendation scenario:\n"
      "platforms/recsys_schema.yaml, docs/recsys.md.\n";
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  if (is_recsys_file(values["scenario"].as<std::string>())) {
    // A client/server recommendation scenario (docs/recsys.md); --vcd is not supported there.
    RecsysOptions recsys;
    recsys.scenario_path = values["scenario"].as<std::string>();
    recsys.overrides = overrides_of(values);
    if (values.count("stats")) recsys.stats_path = values["stats"].as<std::string>();
    if (values.count("csv")) recsys.csv_path = values["csv"].as<std::string>();
    if (values.count("plot")) recsys.plot_path = values["plot"].as<std::string>();
    if (values.count("vcd")) {
      err << "cimtlm scenario: --vcd is not available for recsys scenarios\n";
      return kExitBadInput;
    }
    recsys.plot_script = std::string(CIMTLM_SOURCE_DIR) + "/scripts/plot_recsys.py";
    recsys.quiet = values.count("quiet") != 0;
    return run_recsys_file(recsys, out, err);
  }
  ScenarioOptions run;
  run.scenario_path = values["scenario"].as<std::string>();
  run.overrides = overrides_of(values);
  if (values.count("stats")) run.stats_path = values["stats"].as<std::string>();
  if (values.count("csv")) run.csv_path = values["csv"].as<std::string>();
  if (values.count("vcd")) run.vcd_path = values["vcd"].as<std::string>();
  if (values.count("plot")) run.plot_path = values["plot"].as<std::string>();
  run.plot_script = std::string(CIMTLM_SOURCE_DIR) + "/scripts/plot_scenario.py";
  run.quiet = values.count("quiet") != 0;
  return run_scenario_file(run, out, err);
}

}  // namespace cimtlm::platforms::cli
