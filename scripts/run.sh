#!/usr/bin/env bash
# Set-up, build, and run the default platform: prints the report, writes
# traces/default.stats.json, the effective configuration beside it, and traces/default.vcd
# with a GTKWave save file. Extra arguments go to `cimtlm run`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/setup.sh"
cd "$repo"
exec "${CIMTLM_BUILD_DIR:-$repo/build}/cimtlm" run configs/platforms/default.yaml \
  --vcd traces/default.vcd "$@"
