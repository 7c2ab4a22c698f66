#!/usr/bin/env bash
# Builds src/Native into OUT_DIR/libpipeline_native.so on the GPU machine, against python3's PyTorch.
#   scripts/gpu/build_native.sh OUT_DIR
# Env: PYTHON (default python3), CUDA_HOME (default /usr/local/cuda), BUILD_DIR (default /tmp/pipeline_native_build),
#      JOBS (default 16).
set -euo pipefail
OUT=${1:?usage: scripts/gpu/build_native.sh OUT_DIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-python3}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
BUILD=${BUILD_DIR:-/tmp/pipeline_native_build}
JOBS=${JOBS:-16}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

TORCH_DIR=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
ABI=$("$PY" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
PYBIN=$(dirname "$(command -v "$PY")")
export PATH="$PATH:$PYBIN"                      # cmake and ninja may live in the venv
GEN=()
if command -v ninja >/dev/null; then GEN=(-G Ninja); fi

start=$(date +%s%N)
cmake -S "$ROOT/src/Native" -B "$BUILD" "${GEN[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc" \
  -DTORCH_DIR="$TORCH_DIR" -DTORCH_CXX11_ABI="$ABI" >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS"
cp "$BUILD/libpipeline_native.so" "$OUT/libpipeline_native.so"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'built %s in %d.%03d s (torch %s, CXX11 ABI %s)\n' "$OUT/libpipeline_native.so" $((ms / 1000)) $((ms % 1000)) \
  "$("$PY" -c 'import torch; print(torch.__version__)')" "$ABI"
