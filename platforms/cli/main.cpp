// The cimtlm command line (ARCHITECTURE.md, "The user contract").
//   cimtlm run CONFIG.yaml [--network NET]... [--set key=value]... [--vcd FILE] [--stats FILE]
//                          [--input NAME=FILE]... [--output-dir DIR] [--quiet]
//   cimtlm validate CONFIG.yaml [--set key=value]...
//   cimtlm docs [--output FILE]
//   cimtlm noc | cim-sweep | retention ...
//   cimtlm --help | --version
// Exit status: 0 success, 1 the simulation found a failure, 2 bad input.
#include <cstdlib>
#include <iostream>
#include <systemc>

#include "platforms/cli/commands.h"
#include "platforms/cli/startup_heap.h"

namespace {
// SystemC prints its banner when the kernel starts, before sc_main runs; reports and machine-read
// output must not start with it. Set once at process start-up.
const bool kBannerOff = setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1) == 0;
}  // namespace

// libsystemc provides main() and calls sc_main.
int sc_main(int argc, char** argv) {
  cimtlm::platforms::cli::static_initialization_done();
  return cimtlm::platforms::cli::dispatch(argc, argv, std::cout, std::cerr);
}
