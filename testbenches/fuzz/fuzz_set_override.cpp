// Fuzz target: `--set key.path=value` arguments (one per line of the input) parsed and applied
// to a small valid platform, then validated as `cimtlm validate CONFIG --set ...` does.
#include <sstream>
#include <vector>

#include "platforms/config/config.h"
#include "platforms/spec/platform_spec.h"
#include "testbenches/fuzz/fuzz_common.h"

namespace {
const char* kBase =
    "platform: {name: fuzz, seed: 1}\n"
    "noc: {rows: 1, cols: 2}\n"
    "core:\n"
    "  macros: 1\n"
    "  memory:\n"
    "    levels:\n"
    "      weights: {technology: nosram, stack_layer: 1, capacity: 64 KiB}\n"
    "      activations: {technology: dosram, stack_layer: 2, capacity: 64 KiB}\n";
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cimtlm::fuzz::set_small_budgets();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cimtlm::platforms;
  std::istringstream lines(cimtlm::fuzz::text_of(data, size));
  std::string line;
  try {
    std::vector<Override> overrides;
    while (std::getline(lines, line)) overrides.push_back(parse_override(line));
    const Config config = load_config_text(kBase, "fuzz.yaml", platform_schema(), overrides);
    (void)build_platform_spec(config);
  } catch (const ConfigError&) {
  }
  return 0;
}

// Debian's libsystemc.so defines main() and needs an sc_main; libFuzzer's own main() is the one
// that runs, so this is never called.
int sc_main(int, char**) { return 0; }
