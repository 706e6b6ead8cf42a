// The cimtlm command line (ARCHITECTURE.md, "The user contract").
//   cimtlm run CONFIG.yaml [--network NET]... [--set key=value]... [--vcd FILE] [--stats FILE]
//                          [--input NAME=FILE]... [--output-dir DIR] [--quiet]
//   cimtlm validate CONFIG.yaml [--set key=value]...
//   cimtlm docs [--output FILE]
//   cimtlm noc | cim-sweep | retention | quantize | search ...
//   cimtlm --help | --version
// Exit status: 0 success, 1 the simulation found a failure, 2 bad input.
#include <iostream>

#include "platforms/cli/commands.h"

int main(int argc, char** argv) {
  return cimtlm::platforms::cli::dispatch(argc, argv, std::cout, std::cerr);
}
