#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (issue 16), in the second
# build directory that scripts/sanitize_build.sh makes. Any sanitizer finding fails the test that
# hit it (halt_on_error, -fno-sanitize-recover).
#   scripts/sanitize_test.sh             the whole suite (every target built sanitized)
#   scripts/sanitize_test.sh --verified  what CI runs: the core and memory models' tests (SystemC
#                                        threads, retention and accumulator properties), the
#                                        bad-input corpus through the sanitized cimtlm and the
#                                        fuzz reproducers; the whole suite has not yet been shown
#                                        clean under the sanitizers within CI's time (README,
#                                        "Reliability")
# Other arguments go to ctest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CIMTLM_SANITIZE_BUILD_DIR:-$repo/build-sanitize}"
if [ "${1:-}" = "--verified" ]; then
  shift
  "$repo/scripts/sanitize_build.sh" cimtlm test_core test_memory fuzz_platform_config \
    fuzz_network_config fuzz_onnx_model fuzz_tensor_file fuzz_set_override
  source "$repo/scripts/sanitizer_env.sh"
  cd "$build"
  suites='AccumulatorProperty|CoreEndToEnd|Seeds/|Arrhenius|Dmi|Energy|ExpiryPropertyControl'
  suites+='|MemoryHierarchy|MemoryLevel|MemoryParams|MemoryPhysics|PowerGating'
  suites+='|RandomScheduleControl|RefreshPropertyControl|Retention|SramComparison|StackFootprint'
  suites+='|Vcd|bad_inputs|fuzz_regression_'
  exec ctest -j2 --output-on-failure --timeout 600 -R "^($suites)" "$@"
fi
"$repo/scripts/sanitize_build.sh"
source "$repo/scripts/sanitizer_env.sh"
cd "$build"
ctest -j2 --output-on-failure --timeout 600 "$@"
