#!/usr/bin/env bash
# Set-up, build, and run the whole test suite (unit, conformance and regression tests).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh"
cd "${CIMTLM_BUILD_DIR:-$repo/build}"
ctest -j2 --output-on-failure "$@"
