#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (issue 16), in the
# second build directory that scripts/sanitize_build.sh makes. Any sanitizer finding fails the
# test that hit it (halt_on_error, -fno-sanitize-recover). Arguments go to ctest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CIMTLM_SANITIZE_BUILD_DIR:-$repo/build-sanitize}"
"$repo/scripts/sanitize_build.sh"
source "$repo/scripts/sanitizer_env.sh"
cd "$build"
ctest -j2 --output-on-failure --timeout 600 "$@"
