#!/bin/sh
# The structure variants of the digits CNN used by configs/scenarios/ (docs/power.md), all made
# by the existing toolchain from one ONNX model (configs/networks/digits_cnn.onnx):
#   digits_int8.q.onnx    cimtlm quantize --policy int8      (8/8/8/8 weight bits)
#   digits_int4.q.onnx    cimtlm quantize --policy int4      (4/4/4/4)
#   digits_int2.q.onnx    cimtlm quantize --policy int2      (2/2/2/2)
#   digits_search.q.onnx  cimtlm search --target energy --min-accuracy int8-1 (mixed precision)
#   digits_pruned.q.onnx  already in the tree: scripts/compress_loop.py (80 % structured, int4;
#                         docs/pruning.md)
# Usage: scripts/make_digits_variants.sh [path/to/cimtlm]   (default build/cimtlm)
set -eu
cd "$(dirname "$0")/.."
CIMTLM=${1:-build/cimtlm}
NET=configs/networks
DATA=$NET/digits_data
PLATFORM=configs/platforms/edge_1core.yaml
OUT=traces/digits_variants
mkdir -p "$OUT"
for policy in int8 int4 int2; do
  "$CIMTLM" quantize "$NET/digits_cnn.onnx" --calib "$DATA/calib.npy" --val "$DATA/val_inputs.npy" \
    --platform "$PLATFORM" --policy "$policy" --db "$OUT/stats.db" \
    -o "$NET/digits_$policy.q.onnx" --report "$OUT/digits_$policy.report.json"
done
"$CIMTLM" search "$NET/digits_cnn.onnx" --calib "$DATA/calib.npy" --val "$DATA/val_inputs.npy" \
  --platform "$PLATFORM" --target energy --min-accuracy int8-1 --db "$OUT/stats.db" \
  --out-dir "$OUT/search" -o "$NET/digits_search.q.onnx" --no-plot
# quantize leaves its simulation beside the model; the scenario simulates the variants itself.
rm -rf "$NET"/digits_int8.q.sim "$NET"/digits_int4.q.sim "$NET"/digits_int2.q.sim
