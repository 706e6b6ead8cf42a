#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (issue 16), in the second
# build directory that scripts/sanitize_build.sh makes. Any sanitizer finding fails the test that
# hit it (halt_on_error, -fno-sanitize-recover).
#   scripts/sanitize_test.sh             the whole suite (every target built sanitized)
#   scripts/sanitize_test.sh --verified  what CI runs within its time: every unit-test binary but
#                                        the ones listed in `long_binaries` below, and of the
#                                        end-to-end tests those that drive cimtlm through its
#                                        input paths (bad-input corpus, golden platform, fuzz
#                                        reproducers); README "Reliability" has the figures
# Other arguments go to ctest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CIMTLM_SANITIZE_BUILD_DIR:-$repo/build-sanitize}"
if [ "${1:-}" = "--verified" ]; then
  shift
  # The unit-test binaries CI runs sanitized: all SystemC models (core, memory, CIM, NoC, link,
  # power), the kernels, the graph, ONNX import and conformance, mapping and configuration.
  binaries=(test_kernel test_int8_gemm test_extensions test_graph test_core test_memory
            test_cim_array test_cim_macro test_noc_engine test_noc_systemc test_onnx
            onnx_conformance test_map test_config test_platform_spec_keys test_power test_link)
  # Left to the whole-suite run for their time under the sanitizers (CPU seconds, -O1, 2 cores):
  # test_quant (~590 s: float calibration of whole networks), test_recsys (~60 s), the NoC's
  # agreement with BookSim2 over long saturated runs (NocReference*, NocSaturation*, ~170 s), the
  # end-to-end comparisons with onnxruntime and the 224x224 zoo (past 900 s alone), the package
  # builds (~390 s) and the sweeps.
  long_tests='^(PacketSizes/NocReference|NocReference|NocSaturation)'
  fuzzers=(fuzz_platform_config fuzz_network_config fuzz_onnx_model fuzz_tensor_file
           fuzz_set_override)
  "$repo/scripts/sanitize_build.sh" cimtlm "${binaries[@]}" "${fuzzers[@]}"
  source "$repo/scripts/sanitizer_env.sh"
  cd "$build"
  # The tests of those binaries (by the command each test runs), less the long ones, and the
  # end-to-end tests through cimtlm's input paths.
  selected="$(ctest --show-only=json-v1 | /usr/bin/python3 -c '
import json, os, re, sys
binaries = set(sys.argv[1].split())
long_tests = re.compile(sys.argv[2])
extra = re.compile(r"^(bad_inputs|golden_whole_platform|fuzz_regression_.*)$")
numbers = []
for number, test in enumerate(json.load(sys.stdin)["tests"], start=1):
    command = test.get("command") or [""]
    name = test["name"]
    if (os.path.basename(command[0]) in binaries and not long_tests.match(name)) or extra.match(name):
        numbers.append(str(number))
print(",".join(numbers))' "${binaries[*]}" "$long_tests")"
  [ -n "$selected" ] || { echo "sanitize_test.sh: no tests selected" >&2; exit 1; }
  exec ctest -j2 --output-on-failure --timeout 600 -I "0,0,0,$selected" "$@"
fi
"$repo/scripts/sanitize_build.sh"
source "$repo/scripts/sanitizer_env.sh"
cd "$build"
ctest -j2 --output-on-failure --timeout 900 "$@"
