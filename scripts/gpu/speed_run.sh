#!/usr/bin/env bash
# On the GPU machine, one lease: builds libpipeline_native, checks its kernels against float64 references, checks
# every fixture on CUDA in float32 (native backend with CUDA graphs, --enforce-eager, and the eager TorchSharp
# backend), then times Pipeline beside transformers on the Llama-3.1-8B shape (bf16, dummy weights).
#   scripts/gpu/speed_run.sh OUT_DIR [quick]
set -uo pipefail
OUT=${1:?usage: scripts/gpu/speed_run.sh OUT_DIR [quick]}
MODE=${2:-full}
SERVE_ARGS=${SERVE_ARGS:-}   # engine options for both the served and the offline run of the serving comparison
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
cfg=benchmarks/configs/llama-3.1-8b
echo "== build native"; scripts/gpu/build_native.sh /tmp/native 2>&1 | tail -40
export PIPELINE_NATIVE_LIB=/tmp/native/libpipeline_native.so
if [ -f "$PIPELINE_NATIVE_LIB" ]; then
  echo "== kernel checks"; python3 scripts/gpu/check_kernels.py "$PIPELINE_NATIVE_LIB" $([ "$MODE" = quick ] && echo --quick) 2>&1 | tail -60
fi
scripts/gpu/pipeline.sh env | grep -i "native\|cuda"
echo "== fixtures, native + graphs"; python3 scripts/gpu/check_fixtures.py --device cuda --dtype float32
[ -z "${SKIP_EAGER_FIXTURES:-}" ] && { echo "== fixtures, native, --enforce-eager"; PIPELINE_EXTRA_ARGS=--enforce-eager python3 scripts/gpu/check_fixtures.py --device cuda --dtype float32; }
[ "$MODE" = quick ] && { echo "== fixtures, torch backend"; PIPELINE_ATTENTION_BACKEND=torch python3 scripts/gpu/check_fixtures.py --device cuda --dtype float32; }
for bs in 1 64; do
  echo "== bench-latency batch $bs (graphs)"
  scripts/gpu/pipeline.sh bench-latency $cfg --load-format dummy --dtype bfloat16 --device cuda --batch-size $bs --input-len 32 --output-len 128 --num-iters 3 --max-num-seqs 256 2>&1 | tail -8
done
echo "== bench-latency batch 1 --enforce-eager"
scripts/gpu/pipeline.sh bench-latency $cfg --load-format dummy --dtype bfloat16 --device cuda --batch-size 1 --input-len 32 --output-len 128 --num-iters 3 --enforce-eager 2>&1 | tail -8
if [ "$MODE" != quick ]; then
  echo "== W1 vs transformers"; python3 scripts/gpu/bench_throughput_vs_transformers.py $cfg 256 512 256 --max-num-batched-tokens 16384 2>&1 | tail -12
fi
if [ "$MODE" != quick ]; then
  echo "== bench-serve: 200 prompts, 512 in, 128 out, request rate inf"
  scripts/gpu/pipeline.sh serve $cfg --load-format dummy --dtype bfloat16 --device cuda --max-model-len 2048 --port 8000 $SERVE_ARGS > /tmp/serve.log 2>&1 &
  spid=$!
  python3 - <<'PY'
import time, urllib.request
for _ in range(240):
    try:
        urllib.request.urlopen("http://127.0.0.1:8000/health", timeout=2); print("server healthy"); break
    except Exception: time.sleep(0.5)
PY
  scripts/gpu/pipeline.sh bench-serve --num-prompts 200 --random-input-len 512 --random-output-len 128 --vocab-size 128000 --request-rate inf 2>&1 | grep -v "^ *$" 
  kill $spid; wait $spid 2>/dev/null; tail -3 /tmp/serve.log
  echo "== offline, same shape (200 x 512 in / 128 out)"
  scripts/gpu/pipeline.sh bench-throughput $cfg --load-format dummy --dtype bfloat16 --device cuda --num-prompts 200 --input-len 512 --output-len 128 --max-model-len 2048 $SERVE_ARGS 2>&1 | tail -4
fi
