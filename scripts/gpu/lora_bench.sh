#!/usr/bin/env bash
# On the GPU machine (issue 18): multi-LoRA cost on the Llama-3.1-8B shape (bf16, dummy weights), in one run:
#   1. bench-throughput, base model, LoRA off (CUDA graphs as usual);
#   2. the same with --enable-lora --max-loras 4 but every request on the base model (LoRA runs eager: no graphs);
#   3. --enable-lora --max-loras 4 with the requests spread round-robin over 4 random rank-16 adapters on every
#      projection (q/k/v/o/gate/up/down);
# then the LoRA fixture on CUDA (float32) against transformers+peft, served with all requests at once.
#   scripts/gpu/lora_bench.sh OUT_DIR        (PIPELINE_NATIVE_LIB as for the other GPU scripts, when built)
set -uo pipefail
OUT=${1:?usage: scripts/gpu/lora_bench.sh OUT_DIR}
mkdir -p "$OUT"
cfg=benchmarks/configs/llama-3.1-8b
if [ -x .gpu/pipeline-linux-x64/pipeline ]; then P=.gpu/pipeline-linux-x64/pipeline; else P=scripts/gpu/pipeline.sh; fi
[ -z "${PIPELINE_NATIVE_LIB:-}" ] && [ -f /tmp/native/libpipeline_native.so ] && export PIPELINE_NATIVE_LIB=/tmp/native/libpipeline_native.so
N=${NUM_PROMPTS:-256}; IN=${INPUT_LEN:-512}; OUTLEN=${OUTPUT_LEN:-256}
common=(bench-throughput $cfg --load-format dummy --dtype bfloat16 --device cuda --num-prompts $N --input-len $IN --output-len $OUTLEN --max-num-batched-tokens 16384)
$P env 2>&1 | grep -i "native\|cuda" | tee "$OUT/env.txt"
echo "== 1. base, LoRA off";           $P "${common[@]}" 2>&1 | tee "$OUT/base.log" | tail -6
echo "== 2. base, --enable-lora";      $P "${common[@]}" --enable-lora --max-loras 4 --max-lora-rank 16 2>&1 | tee "$OUT/base-lora-enabled.log" | tail -6
echo "== 3. 4 adapters, rank 16";      $P "${common[@]}" --enable-lora --max-loras 4 --max-lora-rank 16 --num-loras 4 --lora-rank 16 2>&1 | tee "$OUT/lora4.log" | tail -8
python3 - "$OUT" <<'PY'
import re, sys, os
out = sys.argv[1]
def tok(name):
    try:
        m = re.search(r"([\d.]+) output tokens/s", open(os.path.join(out, name)).read())
        return float(m.group(1)) if m else None
    except OSError:
        return None
b, e, l = tok("base.log"), tok("base-lora-enabled.log"), tok("lora4.log")
print(f"output tok/s: base {b}, base with --enable-lora {e}, 4 adapters {l}")
if b and l: print(f"4 adapters / base (LoRA off): {l / b:.3f}")
if e and l: print(f"4 adapters / base (LoRA on, base requests): {l / e:.3f}")
PY
echo "== LoRA fixture on CUDA (float32)"
python3 scripts/gpu/lora_check.py --device cuda --dtype float32 --pipeline "$P" 2>&1 | tee "$OUT/fixture-cuda.log"
cp /tmp/lora_serve.log "$OUT/fixture-serve.log" 2>/dev/null || true
