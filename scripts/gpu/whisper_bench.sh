#!/usr/bin/env bash
# On the GPU machine (issue 22): Whisper encoder + decode latency on CUDA, Pipeline beside transformers in one run.
# Needs the trimmed build for scripts/gpu/pipeline.sh (.gpu/pipeline-linux-x64.tar.xz) and torch + transformers.
#   bash scripts/gpu/whisper_bench.sh OUT_DIR [small] [large-v3]
set -euo pipefail
out=${1:?OUT_DIR}
shift
mkdir -p "$out"
python3 "$(dirname "$0")/whisper_bench.py" "$out" "$@" 2>&1 | tee "$out/whisper-bench.log"
