#!/usr/bin/env bash
# Builds the libFuzzer targets (Debian's clang-14, ASan + UBSan + libFuzzer) and runs each for
# FUZZ_SECONDS seconds (default 60) from its seed corpus (testbenches/fuzz/corpus/<target>) and
# the kept reproducers (testbenches/fuzz/reproducers/<target>). Any crash, sanitizer finding,
# leak, per-input timeout (10 s) or allocation above 2 GiB fails the script; libFuzzer writes the
# input to $build/fuzz-artifacts/. Executions per target are printed at the end (and written to
# $build/fuzz-summary.txt) for the README's reliability figures.
# FUZZ_SEED fixes libFuzzer's random seed (CI sets one), so that a failure can be reproduced:
# the run starts from a fresh copy of the seed corpus and reproducers (nothing carried over from
# earlier runs), and the seed is printed with every result. Without FUZZ_SEED each run draws a
# new seed (and keeps its grown corpus in $build/fuzz-corpus/) to find new inputs.
# A time-bounded run reaches further on a faster machine: FUZZ_RUNS=N (or FUZZ_RUNS_<target>=N
# for one target) also bounds it by executions (-runs=N, FUZZ_SECONDS stays the cap), so that a
# replay with the same seed runs the same inputs whatever the machine's speed.
#   scripts/fuzz.sh [TARGET...]      (default: all five)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CIMTLM_SANITIZE_BUILD_DIR:-$repo/build-sanitize}"
seconds="${FUZZ_SECONDS:-60}"
seed="${FUZZ_SEED:-}"
if [ -n "$seed" ] && ! [[ "$seed" =~ ^[0-9]+$ ]]; then
  echo "fuzz: FUZZ_SEED must be a non-negative integer, not '$seed'" >&2
  exit 2
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(platform_config network_config onnx_model tensor_file set_override)
fi

"$repo/scripts/sanitize_build.sh" "${targets[@]/#/fuzz_}"

mkdir -p "$build/fuzz-artifacts"
summary="$build/fuzz-summary.txt"
: > "$summary"
status=0
for target in "${targets[@]}"; do
  work="$build/fuzz-corpus/$target"
  seed_flag=()
  if [ -n "$seed" ]; then
    # Reproducible: the same inputs in, the same seed; the grown corpus goes to its own folder.
    work="$build/fuzz-corpus-seed-$seed/$target"
    rm -rf "$work"
    seed_flag=(-seed="$seed")
  fi
  mkdir -p "$work"
  seeds=("$repo/testbenches/fuzz/corpus/$target")
  [ -d "$repo/testbenches/fuzz/reproducers/$target" ] && seeds+=("$repo/testbenches/fuzz/reproducers/$target")
  log="$build/fuzz-$target.log"
  runs_var="FUZZ_RUNS_$target"
  max_runs="${!runs_var:-${FUZZ_RUNS:-}}"
  if [ -n "$max_runs" ] && ! [[ "$max_runs" =~ ^[0-9]+$ ]]; then
    echo "fuzz: $runs_var/FUZZ_RUNS must be a non-negative integer, not '$max_runs'" >&2
    exit 2
  fi
  limit=(-max_total_time="$seconds")
  [ -n "$max_runs" ] && limit+=(-runs="$max_runs")
  echo "fuzz: $target for ${max_runs:+$max_runs runs or }${seconds} s, seed ${seed:-random}"
  # detect_leaks: libFuzzer's leak check; halt_on_error: the first finding is the failure.
  if ! ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:allocator_may_return_null=1" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
      "$build/fuzz/fuzz_$target" "$work" "${seeds[@]}" \
      "${limit[@]}" "${seed_flag[@]}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$target-" > "$log" 2>&1; then
    used_seed=$(grep -Eo "Seed: [0-9]+" "$log" | head -1 | grep -Eo "[0-9]+")
    echo "fuzz: $target FAILED (log $log); reproduce the run with FUZZ_SEED=${used_seed:-?}" \
      "scripts/fuzz.sh $target, or the input with $build/fuzz/fuzz_$target ARTIFACT:"
    grep -E "ERROR|runtime error|==ERROR|Test unit written|SUMMARY|uncaught|terminate" "$log" | head -20
    status=1
  fi
  runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$log" | grep -Eo "[0-9]+$" | tail -1)
  used_seed=$(grep -Eo "Seed: [0-9]+" "$log" | head -1 | grep -Eo "[0-9]+")
  echo "$target ${runs:-0} executions (${max_runs:+of $max_runs, }at most ${seconds} s; seed ${used_seed:-?})" | tee -a "$summary"
done
exit $status
