#!/usr/bin/env bash
# Speed and memory benchmarks of issue "simulation speed and scale" (README, Performance).
# Prints one figure per line:
#   RATIO <name> <measured> <target>   (measured/target <= 1 meets the target)
#   FIGURE <name> <value> <unit>
# A benchmark reports; it never fails because a busy machine missed a target (exit 0 unless a
# tool itself fails). Runs in under 10 minutes on 2 cores. Uses build/ (or $CIMTLM_BUILD_DIR),
# building it with scripts/setup.sh first if cimtlm is missing.
#   scripts/bench.sh [--quick]     # --quick: skip the 224x224 networks and the 256-core runs
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CIMTLM_BUILD_DIR:-$repo/build}"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
[ -x "$build/cimtlm" ] || "$repo/scripts/setup.sh" || exit 1
cmake --build "$build" --target cimtlm bench_noc -j2 > /dev/null || exit 1
cimtlm="$build/cimtlm"
py=/usr/bin/python3
nets="$repo/configs/networks"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "FIGURE host.cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) -"
echo "FIGURE host.int8_gemm_backend $("$cimtlm" --version | sed -n 's/.*int8 products: \([^ ,)]*\).*/\1/p') -"

# 1. Start-up: a whole `cimtlm run` of a tiny network (the 3-layer MLP), median of 9.
times=()
for _ in 1 2 3 4 5 6 7 8 9; do
  start=$(date +%s%N)
  "$cimtlm" run "$repo/configs/platforms/default.yaml" --network "$nets/mlp.yaml" --inferences 1 \
    --quiet --stats "$work/startup.json" > /dev/null || exit 1
  times+=($(( ($(date +%s%N) - start) / 1000 )))
done
startup_us=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 5p)
echo "FIGURE startup.tiny_run_wall ${startup_us} us"
echo "RATIO startup.tiny_run_wall_vs_50ms $(awk "BEGIN{printf \"%.2f\", $startup_us / 50000}") 1"

# 2. Whole networks against onnxruntime (warm, one thread), lossless and lossy bit-serial ADC.
models=("$nets/residual_cnn.onnx" "$nets/inception_cnn.onnx" "$nets/mobile_se_cnn.q.onnx"
        "$nets/digits_pruned.q.onnx")
[ -f "$nets/digits_cnn.q.onnx" ] && models+=("$nets/digits_cnn.q.onnx")
if [ "$quick" = 0 ]; then
  # The 224x224 networks of the zoo (seeded; made once into the build folder).
  zoo="$build/zoo"
  if [ -f "$zoo/resnet18/model.onnx" ] && [ -f "$zoo/mobilenet_v2/model.onnx" ] ||
      "$py" "$repo/scripts/make_zoo.py" "$zoo" --only resnet18 mobilenet_v2 --cimtlm "$cimtlm" \
        > "$work/zoo.log" 2>&1; then
    models+=("$zoo/resnet18/model.onnx" "$zoo/mobilenet_v2/model.onnx")
  else
    echo "FIGURE zoo.unavailable $(tail -1 "$work/zoo.log" | tr ' ' '_') -"
  fi
fi
"$py" "$repo/testbenches/perf/network/network_vs_ort.py" --cimtlm "$cimtlm" --ratio-lines \
  --inferences 3 --target 3 "${models[@]}"
# The same with the approximate, fast NoC timing model (models/noc/README.md, Reservation model).
"$py" "$repo/testbenches/perf/network/network_vs_ort.py" --cimtlm "$cimtlm" --ratio-lines \
  --inferences 3 --target 3 --label .reservation_noc --set noc.model=reservation "${models[@]}"
"$py" "$repo/testbenches/perf/network/network_vs_ort.py" --cimtlm "$cimtlm" --ratio-lines \
  --inferences 2 --target 10 --label .lossy_adc --set core.cim.adc_bits=5 --allow-mismatch \
  "${models[@]}"

# 3. Scaling with the core count: host time per MAC and per flit-hop, 4 .. 256 cores.
meshes=2,4,8,16
[ "$quick" = 1 ] && meshes=2,4,8
# A 32x32 inference takes a few ms: 10 of them, median of 3 pairs, to rise above start-up noise.
"$py" "$repo/testbenches/perf/network/scaling.py" --cimtlm "$cimtlm" --meshes "$meshes" \
  --inferences 10 --input "$nets/inception_cnn_input.npy" "$nets/inception_cnn.onnx"
for model in "${models[@]}"; do
  case "$model" in
    */resnet18/model.onnx)
      "$py" "$repo/testbenches/perf/network/scaling.py" --cimtlm "$cimtlm" --meshes 2,16 \
        --inferences 1 --name resnet18 --input "$(dirname "$model")/test_data_set_0/input_0.pb" \
        "$model"
      "$py" "$repo/testbenches/perf/network/scaling.py" --cimtlm "$cimtlm" --meshes 2,16 \
        --inferences 1 --name resnet18.reservation_noc --set noc.model=reservation \
        --input "$(dirname "$model")/test_data_set_0/input_0.pb" "$model" ;;
  esac
done

# 4. NoC engine against BookSim2 on an 8x8 mesh, loads up to saturation.
"$build/testbenches/perf/noc/bench_noc" 100000

# 5. Tracing: a default-platform run with --vcd against without, 10 inferences (a single one
# takes ~9 ms, which swings by half between runs), median of 5 alternating pairs.
wall_of() { "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get('host',{}).get('wall_s', d['sim']['wall_s']))" "$1"; }
plain=() traced=()
for _ in 1 2 3 4 5; do
  "$cimtlm" run "$repo/configs/platforms/default.yaml" --inferences 10 --quiet \
    --stats "$work/plain.json" > /dev/null
  "$cimtlm" run "$repo/configs/platforms/default.yaml" --inferences 10 --quiet \
    --stats "$work/traced.json" --vcd "$work/traced.vcd" > /dev/null
  plain+=("$(wall_of "$work/plain.json")") traced+=("$(wall_of "$work/traced.json")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 3p; }
echo "RATIO vcd.host_time_with_vs_without $(awk "BEGIN{printf \"%.2f\", $(median "${traced[@]}") / $(median "${plain[@]}")}") 1.5"

# 6. Design-space sweeps: 200 MLP points on 2 local workers against 200 single runs / 2
#    (testbenches/perf/sweep_bench.py; README, Design-space sweeps).
"$py" "$repo/testbenches/perf/sweep_bench.py" --build "$build" --out-dir "$work/sweep" --ratio-lines
exit 0
