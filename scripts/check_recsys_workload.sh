#!/bin/sh
# Regenerates the recsys workload (scripts/make_recsys.py: data, tables, ONNX models, cimtlm
# quantize) into a scratch folder and checks that every file equals the one in
# configs/networks/recsys byte for byte (the generator, training and quantization are seeded and
# deterministic). Exit 77 (skipped) without /usr/bin/python3 + torch.
# Usage: scripts/check_recsys_workload.sh [path/to/cimtlm]   (default build/cimtlm)
set -eu
cd "$(dirname "$0")/.."
CIMTLM=$(realpath "${1:-build/cimtlm}")
/usr/bin/python3 -c "import torch, onnx" 2>/dev/null || { echo "skipped: no torch/onnx"; exit 77; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
/usr/bin/python3 scripts/make_recsys.py --out-dir "$OUT" --cimtlm "$CIMTLM" > "$OUT.log" 2>&1 ||
  { cat "$OUT.log"; rm -f "$OUT.log"; exit 1; }
rm -f "$OUT.log"
status=0
for file in $(cd configs/networks/recsys && find . -type f | sort); do
  if ! cmp -s "configs/networks/recsys/$file" "$OUT/$file"; then
    echo "differs: configs/networks/recsys/$file"
    status=1
  fi
done
for file in $(cd "$OUT" && find . -type f | sort); do
  [ -e "configs/networks/recsys/$file" ] || { echo "not committed: $file"; status=1; }
done
[ $status -eq 0 ] && echo "recsys workload regenerated identically ($(cd "$OUT" && find . -type f | wc -l) files)"
exit $status
