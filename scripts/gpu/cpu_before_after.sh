#!/usr/bin/env bash
# On the GPU machine's CPU (quiet, 16 cores): the same CPU benchmarks with two builds, run alternately in one call.
#   scripts/gpu/cpu_before_after.sh BEFORE_DIR AFTER_DIR [ROUNDS] [quick]   (quick: no bench-pipeline)
# BEFORE_DIR / AFTER_DIR hold a self-contained `pipeline` each (scripts/gpu/build.sh style, libtorch from python3).
set -euo pipefail
before=${1:?before dir}; after=${2:?after dir}; rounds=${3:-5}; mode=${4:-full}
if ! ldconfig -p | grep -q libicuuc; then export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1; fi
# The "before" build predates the fix that loads an external libtorch for --device cpu: give it the path.
export LD_LIBRARY_PATH="$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))'):${LD_LIBRARY_PATH:-}"
m=tests/fixtures/models/llama
for r in $(seq 1 "$rounds"); do
  for side in before after; do
    dir=$before; [ "$side" = after ] && dir=$after
    echo "== round $r $side"
    "$dir/pipeline" bench-throughput $m --device cpu --dtype float32 --num-prompts 256 --input-len 32 --output-len 96 --max-model-len 128 2>&1 | grep -E "^Throughput|runner:"
    "$dir/pipeline" bench-latency $m --device cpu --dtype float32 --batch-size 1 --input-len 16 --output-len 100 --num-iters 5 2>&1 | grep -iE "decode|avg" | head -3
    [ "$mode" = quick ] || "$dir/pipeline" bench-pipeline $m --device cpu --dtype float32 --num-prompts 200 --single-runs 20 2>&1 | grep -E "^(concurrent|single)"
  done
done
