#!/usr/bin/env bash
# Installs what is missing on a fresh Debian 12 machine (Debian packages and the pinned npm
# package of the independent ONNX runtime used for cross-checks), then configures and builds
# cimtlm (Release, -j2). Sourced by scripts/run.sh and scripts/test.sh; safe to run again.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CIMTLM_BUILD_DIR:-$repo/build}"

packages=(
  build-essential cmake pkg-config git
  libsystemc-dev libyaml-cpp-dev libboost-program-options-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libdnnl-dev libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler libsqlite3-dev
  ocl-icd-opencl-dev  # only recommended by libdnnl-dev, but its CMake package requires OpenCL
  python3 python3-numpy python3-torch python3-onnx python3-sklearn python3-matplotlib
  python3-distributed openssl
  clang-14 libclang-rt-14-dev  # scripts/sanitize_build.sh, scripts/fuzz.sh: ASan, UBSan, libFuzzer
)
# Node.js and npm run onnxruntime (scripts/ort); a machine may already have them from elsewhere
# (e.g. NodeSource's nodejs bundles npm): install Debian's only when the commands are missing.
command -v node > /dev/null 2>&1 || packages+=(nodejs)
command -v npm > /dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  echo "cimtlm setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# onnxruntime is not a Debian package; its npm build (native CPU library inside the package,
# no download scripts run) serves as the independent runtime for bit-exactness cross-checks.
if [ -f "$repo/scripts/ort/package.json" ] && [ ! -d "$repo/scripts/ort/node_modules/onnxruntime-node" ]; then
  echo "cimtlm setup: installing the pinned onnxruntime-node (npm)"
  (cd "$repo/scripts/ort" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    echo "cimtlm setup: warning: onnxruntime-node could not be installed; ORT cross-checks will fail" >&2
fi

mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j2
