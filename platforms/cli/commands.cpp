#include "platforms/cli/commands.h"

#include <boost/program_options.hpp>
#include <fstream>
#include <sstream>

#include "compiler/graph/graph.h"
#include "compiler/onnx/onnx_io.h"
#include "kernels/int8_gemm.h"
#include "platform_keys.h"
#include "platforms/cli/options.h"
#include "platforms/config/config.h"
#include "platforms/config/reference.h"
#include "platforms/run/output_files.h"
#include "platforms/run/run.h"
#include "platforms/run/workload.h"
#include "platforms/scenario/recsys_spec.h"
#include "platforms/scenario/scenario_spec.h"
#include "platforms/spec/platform_spec.h"

#ifndef CIMTLM_VERSION
#define CIMTLM_VERSION "unknown"
#endif

namespace cimtlm::platforms::cli {

namespace po = boost::program_options;

namespace {

const char* kUsage =
    "cimtlm " CIMTLM_VERSION
    " - a SystemC/TLM-2.0 model of compute-in-memory AI accelerators\n"
    "\n"
    "Usage:\n"
    "  cimtlm run CONFIG.yaml [options]     simulate the platform running its networks\n"
    "  cimtlm validate CONFIG.yaml          check a platform file, print its effective "
    "configuration\n"
    "  cimtlm docs [--network] [-o FILE]    the configuration reference (every key, unit, "
    "default)\n"
    "  cimtlm docs --ops                    the supported ONNX ops and where they run\n"
    "  cimtlm noc CONFIG.yaml [options]     NoC traffic sweeps (latency vs offered load)\n"
    "  cimtlm cim-sweep CONFIG.yaml         CIM macro energy/latency versus input sparsity\n"
    "  cimtlm cim-activity CONFIG.yaml      CIM macro energy per bit-plane vs input activity, "
    "area\n"
    "  cimtlm evaluate CONFIG.yaml --network NET.onnx --data DATA   accuracy through the hardware\n"
    "  cimtlm retention [CONFIG.yaml]       retention time versus temperature of the memory "
    "levels\n"
    "  cimtlm quantize NET.onnx --calib D   quantize a float model (statistics database, QDQ "
    "export)\n"
    "  cimtlm search NET.onnx --calib D ... mixed-precision search on the simulated platform\n"
    "  cimtlm scenario SCENARIO.yaml        model structure switched by the environment: power,\n"
    "                                       temperature and a runtime controller over a trace;\n"
    "                                       or client/server recommendation (docs/recsys.md)\n"
    "  cimtlm regress SUITE.yaml [--update] golden figures (cycles, energy, outputs) with "
    "tolerances\n"
    "  cimtlm COMMAND --help                options of a command\n"
    "  cimtlm --version\n"
    "\n"
    "Exit status: 0 success, 1 the simulation ran but found a failure (output mismatch, retention\n"
    "violation under policy 'error'), 2 bad input (command line, YAML, ONNX or data files).\n";

}  // namespace

const std::vector<CommandEntry>& commands() {
  static const std::vector<CommandEntry> table = {
      {"run", run_command},
      {"validate", validate_command},
      {"docs", docs_command},
      {"noc", noc_command},
      {"cim-sweep", cim_sweep_command},
      {"cim-activity", cim_activity_command},
      {"evaluate", evaluate_command},
      {"retention", retention_command},
      {"quantize", quantize_command},
      {"search", search_command},
      {"scenario", scenario_command},
      {"regress", regress_command},
  };
  return table;
}

int dispatch(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    err << kUsage;
    return kExitBadInput;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "--help" || command == "-h" || command == "help") {
    out << kUsage;
    return kExitOk;
  }
  if (command == "--version") {
    out << "cimtlm " << CIMTLM_VERSION << " (int8 products: " << kernel::int8_gemm_auto_backend()
        << ")\n";
    return kExitOk;
  }
  try {
    if (command == "serve") return serve_command(args, out, err);  // hidden, see commands.h
    for (const auto& entry : commands()) {
      if (entry.name == command) return entry.function(args, out, err);
    }
  } catch (const po::error& error) {
    err << "cimtlm " << command << ": " << error.what() << " (see cimtlm " << command
        << " --help)\n";
    return kExitBadInput;
  } catch (const ConfigError& error) {
    err << error.what() << '\n';
    return kExitBadInput;
  } catch (const graph::ModelError& error) {
    err << error.what() << '\n';
    return kExitBadInput;
  } catch (const graph::TensorSizeError& error) {
    err << "cimtlm " << command << ": " << error.what() << '\n';
    return kExitBadInput;
  } catch (const std::bad_alloc&) {
    // Every size that follows from input is checked against the memory budget first; this is
    // what is left (an input whose working set the checks did not foresee).
    err << "cimtlm " << command << ": out of host memory while processing the input (a smaller "
        << "platform or network, or a lower CIMTLM_MEMORY_BUDGET to fail earlier)\n";
    return kExitBadInput;
  } catch (const std::exception& error) {
    // The last line of defence: never an uncaught exception printed by the SystemC kernel.
    err << "cimtlm " << command << ": error: " << error.what() << '\n';
    return kExitBadInput;
  }
  std::string known;
  for (const auto& entry : commands()) known += std::string(known.empty() ? "" : ", ") + entry.name;
  err << "cimtlm: unknown command '" << command << "' (commands: " << known
      << "; see cimtlm --help)\n";
  return kExitBadInput;
}

int run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm run CONFIG.yaml [options]");
  options.add_options()("help,h", "show this help")(
      "network", po::value<std::vector<std::string>>(),
      "network to run (YAML layer list or ONNX); repeat for several; replaces workload.networks")(
      "set", po::value<std::vector<std::string>>(),
      "override a configuration key: --set core.cim.adc_bits=6 (repeatable)")(
      "vcd", po::value<std::string>(), "write a VCD trace (and a GTKWave .gtkw beside it)")(
      "stats", po::value<std::string>(),
      "stats JSON file (default traces/<config>.stats.json; the effective configuration goes "
      "beside it)")(
      "input", po::value<std::vector<std::string>>(),
      "network input NAME=FILE or FILE (.pb ONNX TensorProto or .npy; without a name, the "
      "network's inputs in order); default: seeded random inputs")(
      "output-dir", po::value<std::string>(),
      "write every network output as output_<k>.pb and .npy")(
      "inferences", po::value<int>(), "inferences per network (overrides workload.inferences)")(
      "quiet,q", "no progress line and no report on stdout")(
      "config", po::value<std::string>(), "platform file (the positional argument)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm run", "config", "CONFIG.yaml"};
  command_line.help_epilogue =
      "The configuration keys and their defaults: cimtlm docs (or configs/README.md).\n";
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  RunOptions run;
  run.config_path = values["config"].as<std::string>();
  run.overrides = overrides_of(values);
  if (values.count("network")) run.networks = values["network"].as<std::vector<std::string>>();
  for (const auto& network : run.networks) {
    if (network.empty()) {
      err << "cimtlm run: command line --network '': empty file name\n";
      return kExitBadInput;
    }
  }
  for (const char* option : {"stats", "vcd", "output-dir"}) {
    if (values.count(option) && values[option].as<std::string>().empty()) {
      err << "cimtlm run: command line --" << option << " '': empty file name\n";
      return kExitBadInput;
    }
  }
  if (values.count("vcd")) run.vcd_path = values["vcd"].as<std::string>();
  if (values.count("stats")) run.stats_path = values["stats"].as<std::string>();
  if (values.count("output-dir")) run.output_dir = values["output-dir"].as<std::string>();
  if (values.count("inferences")) {
    run.inferences = values["inferences"].as<int>();
    if (run.inferences < 1) {
      err << "cimtlm run: --inferences must be at least 1\n";
      return kExitBadInput;
    }
  }
  if (values.count("input")) {
    for (const auto& text : values["input"].as<std::vector<std::string>>()) {
      const size_t equals = text.find('=');
      if (equals == std::string::npos) {
        run.inputs.emplace_back("", text);  // positional
        continue;
      }
      if (equals == 0 || equals + 1 == text.size()) {
        err << "cimtlm run: --input " << text << ": expected NAME=FILE or FILE\n";
        return kExitBadInput;
      }
      run.inputs.emplace_back(text.substr(0, equals), text.substr(equals + 1));
    }
  }
  run.quiet = values.count("quiet") != 0;
  return run_platform(run, out, err);
}

int validate_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm validate CONFIG.yaml [options]");
  options.add_options()("help,h", "show this help")("set", po::value<std::vector<std::string>>(),
                                                    "override a configuration key (repeatable)")(
      "config", po::value<std::string>(), "platform file (the positional argument)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm validate", "config", "CONFIG.yaml"};
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const Config config =
      load_config(values["config"].as<std::string>(), platform_schema(), overrides_of(values));
  // Cross-key checks (the models' own validate()) run while building the specification.
  const PlatformSpec spec = build_platform_spec(config);
  // The networks the platform names must be networks (not a folder, /dev/zero or a platform
  // file): load each as `run` would.
  for (const auto& network : spec.networks) {
    try {
      (void)load_network(network);
    } catch (const graph::ModelError& error) {
      throw ConfigError(config.where(keys::workload::networks) + ": " + error.what());
    } catch (const ConfigError& error) {
      throw ConfigError(config.where(keys::workload::networks) + ": " + error.what());
    }
  }
  out << config.effective_yaml();
  return kExitOk;
}

int docs_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm docs [options]");
  options.add_options()("help,h", "show this help")("output,o", po::value<std::string>(),
                                                    "write to FILE instead of standard output")(
      "network", "document the layer-list network format instead of the platform format")(
      "scenario", "document the scenario format (cimtlm scenario) instead of the platform format")(
      "recsys", "document the recsys scenario format (docs/recsys.md)")(
      "ops", "list the supported ONNX ops and where they run (the table in README.md)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm docs", "", ""};
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const std::string text = values.count("ops")        ? onnx::supported_ops_markdown()
                           : values.count("scenario") ? scenario_reference()
                           : values.count("recsys")
                               ? recsys_reference()
                               : configuration_reference(values.count("network") != 0);
  if (values.count("output")) {
    const std::string path = values["output"].as<std::string>();
    OutputFiles outputs;  // a regular file or a new name, replaced whole
    outputs.add(path, "--output");
    outputs.check();
    try {
      outputs.stage(path, [&](const std::string& temporary) {
        std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
        if (!(file << text) || !file.flush()) throw std::runtime_error("cannot write " + path);
      });
      outputs.commit();
    } catch (const std::exception& error) {
      err << "cimtlm docs: " << error.what() << '\n';
      return kExitFailure;
    }
    return kExitOk;
  }
  out << text;
  return kExitOk;
}

}  // namespace cimtlm::platforms::cli
