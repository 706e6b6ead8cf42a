#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (issue 16), in the second
# build directory that scripts/sanitize_build.sh makes. Any sanitizer finding fails the test that
# hit it (halt_on_error, -fno-sanitize-recover).
#   scripts/sanitize_test.sh             the whole suite (every target built sanitized)
#   scripts/sanitize_test.sh --verified  what CI runs within its time: every GoogleTest binary
#                                        (all unit tests and the C++ regression tests) and, of
#                                        the Python and CMake end-to-end tests, those through
#                                        cimtlm's input paths (bad-input corpus, golden platform,
#                                        fuzz reproducers); README "Reliability" has the figures
# Other arguments go to ctest.
set -euo pipefail
# LeakSanitizer's stop-the-world tracer itself sometimes crashes at a process's exit ("Tracer
# caught signal 11 ... LeakSanitizer has encountered a fatal error", google/sanitizers#1353, open):
# a failure of the tool, not a finding. Seen here in one test's cimtlm child in three sanitized
# runs of the suite, on CI's machine in another test twice in a row, never in hundreds of direct
# runs of either. Always the same load in ScanRangeForPointers (pc offsets matched in clang-14's
# runtime) at a low address (0xd00, 0xd08, 0x1818). README "Reliability".
# So each failed test whose output holds that message runs once more; if the tracer crashes
# again, its scan is printed (the ranges LeakSanitizer walked last, for the next look) and the
# test runs a third time with leak checking off: AddressSanitizer and UBSan still check it, and
# a warning names it. A test that fails for any other reason fails the run.
tracer_crash="LeakSanitizer has encountered a fatal error"
rerun_after_tracer_crash() {
  local failed=Testing/Temporary/LastTestsFailed.log entry number name log status=0
  [ -f "$failed" ] || return 1
  grep -q "$tracer_crash" Testing/Temporary/LastTest.log || return 1
  log="$(mktemp)"
  for entry in $(cat "$failed"); do
    number="${entry%%:*}"
    name="${entry#*:}"
    ctest --output-on-failure -I "$number,$number" > "$log" 2>&1 && {
      echo "sanitize_test.sh: $name passed on its rerun after a LeakSanitizer tracer crash" >&2
      continue
    }
    if ! grep -q "$tracer_crash" "$log"; then cat "$log"; status=1; continue; fi
    echo "sanitize_test.sh: LeakSanitizer's tracer crashed again in $name; its last scans:" >&2
    LSAN_OPTIONS=verbosity=1:log_threads=1:log_pointers=1 \
      ctest --output-on-failure -I "$number,$number" 2>&1 |
      grep -E "Scanning|Processing thread|Stack at|TLS at|Tracer caught" | tail -n 12 >&2 || true
    if ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" ctest --output-on-failure -I "$number,$number" \
         > "$log" 2>&1; then
      echo "sanitize_test.sh: WARNING: $name passed under AddressSanitizer and UBSan; its leak" \
           "check could not run (LeakSanitizer's tracer crashed twice)" >&2
    else
      cat "$log"; status=1
    fi
  done
  rm -f "$log"
  return "$status"
}
run_ctest() {
  ctest -j2 --output-on-failure "$@" && return 0
  rerun_after_tracer_crash
}
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CIMTLM_SANITIZE_BUILD_DIR:-$repo/build-sanitize}"
if [ "${1:-}" = "--verified" ]; then
  shift
  # The GoogleTest binaries: all SystemC models (core, memory, CIM, NoC, link, power), the
  # kernels, the graph, ONNX import and conformance, mapping, quantization, configuration, the
  # recommendation scenario and the C++ regression tests.
  binaries=(test_kernel test_int8_gemm test_extensions test_graph test_core test_memory
            test_cim_array test_cim_macro test_noc_engine test_noc_systemc test_onnx
            onnx_conformance test_map test_quant test_config test_platform_spec_keys test_power
            test_link test_recsys test_regression)
  # Left to the whole-suite run for their time under the sanitizers (seconds on 2 quiet cores):
  # the end-to-end comparisons with onnxruntime on the 224x224 zoo (156 s to make the models)
  # and the float islands (80 s and 55 s), the compress-retrain loop (95 s), the package
  # builds (170 s).
  fuzzers=(fuzz_platform_config fuzz_network_config fuzz_onnx_model fuzz_tensor_file
           fuzz_set_override)
  "$repo/scripts/sanitize_build.sh" cimtlm "${binaries[@]}" "${fuzzers[@]}"
  source "$repo/scripts/sanitizer_env.sh"
  cd "$build"
  # The tests of those binaries (by the command each test runs) and the end-to-end tests that
  # drive the sanitized cimtlm: the bad-input corpus, the golden platform, the fuzz
  # reproducers, the sweeps (local cluster, TLS, a killed worker, resume, timeout), the 4- and
  # 16-core meshes against onnxruntime, the README tables and the recommendation workload
  # (about 3 minutes more under the sanitizers, at load 8).
  selected="$(ctest --show-only=json-v1 | /usr/bin/python3 -c '
import json, os, re, sys
binaries = set(sys.argv[1].split())
extra = re.compile(r"^(bad_inputs|golden_whole_platform|fuzz_regression_.*|sweep_.*"
                   r"|platform_vs_ort_networks_mesh_(4|16)core|recsys\.workload_regenerates"
                   r"|memory_readme_figures|readme_run_tables|cim_schema_sources"
                   r"|extensions_listed)$")
numbers = []
for number, test in enumerate(json.load(sys.stdin)["tests"], start=1):
    command = test.get("command") or [""]
    name = test["name"]
    if os.path.basename(command[0]) in binaries or extra.match(name):
        numbers.append(str(number))
print(",".join(numbers))' "${binaries[*]}")"
  [ -n "$selected" ] || { echo "sanitize_test.sh: no tests selected" >&2; exit 1; }
  run_ctest --timeout 600 -I "0,0,0,$selected" "$@"
  exit
fi
"$repo/scripts/sanitize_build.sh"
source "$repo/scripts/sanitizer_env.sh"
cd "$build"
run_ctest --timeout 900 "$@"
