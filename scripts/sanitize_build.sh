#!/usr/bin/env bash
# Configures and builds the sanitizer build (a second build directory, build-sanitize): Debian's
# clang-14 with AddressSanitizer + UndefinedBehaviorSanitizer (-fno-sanitize-recover) and
# libFuzzer coverage, so that one build serves both the whole test suite under the sanitizers
# and the fuzz targets.   scripts/sanitize_build.sh [TARGET...]   (default: everything)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CIMTLM_SANITIZE_BUILD_DIR:-$repo/build-sanitize}"
launcher=()
command -v ccache > /dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
mkdir -p "$build"
# -O1: the sanitizers' usual speed/precision trade-off; benchmarks are not built.
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCIMTLM_SANITIZE=ON -DCIMTLM_FUZZ=ON -DCIMTLM_BUILD_BENCHMARKS=OFF "${launcher[@]}" \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
if (($#)); then
  targets=()
  for target in "$@"; do targets+=(--target "$target"); done
  cmake --build "$build" -j2 "${targets[@]}"
else
  cmake --build "$build" -j2
fi
