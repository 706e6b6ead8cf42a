// Stand-alone sparsity sweep of the default macro (until `cimtlm cim-sweep` wires the platform's
// YAML to run_sparsity_sweep): writes the CSV that scripts/plot_cim_sweep.py plots.
//   cim_sparsity_sweep [--csv FILE] [--vectors N] [--zero-point Z] [--threshold T] [--seed S]
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include "models/cim/cim_sweep.h"

int main(int argc, char** argv) {
  cimtlm::cim::CimMacroParams params;
  cimtlm::cim::CimSweepOptions options;
  std::string csv = "cim_sweep.csv";
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (i + 1 >= argc) throw std::invalid_argument("missing value after " + arg);
      const std::string value = argv[++i];
      if (arg == "--csv") {
        csv = value;
      } else if (arg == "--vectors") {
        options.vectors_per_point = std::stoll(value);
      } else if (arg == "--zero-point") {
        options.input_zero_point = std::stoi(value);
      } else if (arg == "--threshold") {
        params.sparsity_threshold = std::stod(value);
      } else if (arg == "--seed") {
        options.seed = std::stoull(value);
      } else {
        throw std::invalid_argument("unknown option " + arg);
      }
    }
    const std::string problem = params.validate();
    if (!problem.empty()) throw std::invalid_argument(problem);
    const auto points = cimtlm::cim::run_sparsity_sweep(params, options, csv);
    std::cout << "wrote " << points.size() << " sweep points to " << csv << '\n';
  } catch (const std::invalid_argument& error) {
    std::cerr << "cim_sparsity_sweep: " << error.what() << '\n';
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "cim_sparsity_sweep: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
