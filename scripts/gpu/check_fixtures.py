#!/usr/bin/env python3
"""On the GPU machine: runs `pipeline generate` on CUDA (float32) for every tiny fixture model and checks the
greedy tokens against transformers' (expected.json) by vLLM's rule (tokens equal until a first divergence, where each
side's token is in the other's top-5), printing one line per variant with how many prompts were exact.
Usage: python3 scripts/gpu/check_fixtures.py [--device cuda] [--dtype float32]   (env JOBS: processes at once, default 4)"""
import json, os, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

device = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cuda"
dtype = sys.argv[sys.argv.index("--dtype") + 1] if "--dtype" in sys.argv else "float32"
root = "tests/fixtures/models"
bad = 0


def matches(got, want):
    for i, (a, e) in enumerate(zip(got["token_ids"], want["token_ids"])):
        if a != e:
            return str(e) in got["logprobs"][i] and str(a) in want["top_logprobs"][i]
    return len(got["token_ids"]) == len(want["token_ids"])


def check(name):
    exp = json.load(open(os.path.join(root, name, "expected.json")))
    args = ["scripts/gpu/pipeline.sh", "generate", os.path.join(root, name), "--device", device, "--dtype", dtype,
            "--temperature", "0", "--max-tokens", "16", "--ignore-eos", "--output", "json", "--max-model-len", "128",
            "--logprobs", "5"]
    args += os.environ.get("PIPELINE_EXTRA_ARGS", "").split()
    for p in exp["prompts"]:
        args += ["--prompt-ids", ",".join(map(str, p["prompt_token_ids"]))]
    # Some fixtures declare fewer positions than prompt + 16 tokens; transformers generates past them anyway.
    out = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, PIPELINE_ALLOW_LONG_MAX_MODEL_LEN="1"))
    if out.returncode != 0:
        return False, f"{name}: FAILED to run: {out.stderr.strip()[-800:]}"
    got = [json.loads(l) for l in out.stdout.strip().splitlines()]
    same = sum(g["token_ids"] == p["token_ids"] for g, p in zip(got, exp["prompts"]))
    ok = sum(matches(g, p) for g, p in zip(got, exp["prompts"]))
    n = len(exp["prompts"])
    return ok == n, f"{name}: {ok}/{n} prompts match transformers by vLLM's rule, {same} with the exact 16 greedy tokens, on {device} ({dtype})"


# The first call unpacks the build; the parallel ones then find it in place.
subprocess.run(["scripts/gpu/pipeline.sh", "env"], capture_output=True)
with ThreadPoolExecutor(int(os.environ.get("JOBS", "4"))) as pool:
    for passed, line in pool.map(check, sorted(os.listdir(root))):
        print(line, flush=True)
        bad += not passed
print(f"{'all' if bad == 0 else 'NOT all'} fixtures pass ({bad} failed)")
sys.exit(1 if bad else 0)
