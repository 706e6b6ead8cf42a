// Fuzz target: a platform YAML file through the schema loader and the platform specification
// (the models' own validate() checks and the host-memory estimate), as `cimtlm validate` does.
#include "platforms/config/config.h"
#include "platforms/spec/platform_spec.h"
#include "testbenches/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cimtlm::fuzz::set_small_budgets();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cimtlm::platforms;
  try {
    const Config config =
        load_config_text(cimtlm::fuzz::text_of(data, size), "fuzz.yaml", platform_schema());
    (void)config.effective_yaml();
    (void)build_platform_spec(config);
  } catch (const ConfigError&) {
  }
  return 0;
}

// Debian's libsystemc.so defines main() and needs an sc_main; libFuzzer's own main() is the one
// that runs, so this is never called.
int sc_main(int, char**) { return 0; }
