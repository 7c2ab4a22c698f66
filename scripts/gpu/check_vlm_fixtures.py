#!/usr/bin/env python3
"""On the GPU machine: the tiny vision- and audio-language fixtures (tests/fixtures/multimodal/models, the families
listed below) through `pipeline generate --image/--audio` on CUDA (float32), with the default step budget and with a
budget of 5 tokens (prefill chunks cut through the image tokens), greedy tokens checked against transformers' (expected.json) by
vLLM's rule (equal until a first divergence, where each side's token is in the other's top-5).
Usage: python3 scripts/gpu/check_vlm_fixtures.py OUT_DIR [--device cuda] [--dtype float32]
Writes OUT_DIR/results.txt (the lines printed) and OUT_DIR/<model>-p<prompt>-<budget>.json (pipeline's output)."""
import json, os, subprocess, sys

out_dir = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else "vlm-cuda"
device = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cuda"
dtype = sys.argv[sys.argv.index("--dtype") + 1] if "--dtype" in sys.argv else "float32"
root = "tests/fixtures/multimodal/models"
os.makedirs(out_dir, exist_ok=True)
lines, bad = [], 0


def say(line):
    print(line, flush=True)
    lines.append(line)


def matches(got, want):
    for i, (a, e) in enumerate(zip(got["token_ids"], want["token_ids"])):
        if a != e:
            return str(e) in got["logprobs"][i] and str(a) in want["top_logprobs"][i]
    return len(got["token_ids"]) == len(want["token_ids"])


subprocess.run(["scripts/gpu/pipeline.sh", "env"], capture_output=True)  # unpacks the build once
for name in ["llava-1.5", "llava-next", "qwen2-vl", "qwen2.5-vl",
             "mistral3", "llava-pixtral",
             "llava-onevision", "aya-vision",
             "fuyu", "blip2",
             "qwen2-audio",
             "idefics3", "smolvlm",
             "gemma3", "paligemma"]:
    d = os.path.join(root, name)
    try:
        exp = json.load(open(os.path.join(d, "expected.json")))
    except Exception as e:
        bad += 1
        say(f"{name}: no fixture ({e})")
        continue
    # PaliGemma's whole prompt is one bidirectional range: a step must hold it, so no small budget.
    for budget in (["default"] if name == "paligemma" else ["default", "5"]):
        for p, want in enumerate(exp["prompts"]):
            args = ["scripts/gpu/pipeline.sh", "generate", d, "--device", device, "--dtype", dtype, "--temperature", "0",
                    "--max-tokens", "16", "--ignore-eos", "--output", "json", "--max-model-len", "128", "--logprobs", "5",
                    "--prompt", want["text"]]
            for image in want.get("images", []):
                args += ["--image", os.path.join(d, "images", image)]
            for clip in want.get("audio", []):  # audio-language models (make_audio_lm_fixtures.py)
                args += ["--audio", os.path.join(d, "audio", clip)]
            if budget != "default":
                args += ["--max-num-seqs", "4", "--max-num-batched-tokens", budget]
            try:
                r = subprocess.run(args, capture_output=True, text=True, timeout=300,
                                   env=dict(os.environ, PIPELINE_ALLOW_LONG_MAX_MODEL_LEN="1"))
                with open(os.path.join(out_dir, f"{name}-p{p}-{budget}.json"), "w") as f:
                    f.write(r.stdout + "\n--- stderr ---\n" + r.stderr[-4000:])
                if r.returncode != 0:
                    bad += 1
                    say(f"{name} prompt {p} budget {budget}: FAILED to run: {r.stderr.strip()[-600:]}")
                    continue
                got = json.loads(r.stdout.strip().splitlines()[-1])
                ok = matches(got, want)
                bad += not ok
                say(f"{name} prompt {p} budget {budget}: {'matches' if ok else 'DOES NOT match'} transformers by vLLM's rule, "
                    f"{'exact' if got['token_ids'] == want['token_ids'] else 'not the exact'} 16 greedy tokens, on {device} ({dtype})")
            except Exception as e:
                bad += 1
                say(f"{name} prompt {p} budget {budget}: FAILED: {e}")
say(f"{'all' if bad == 0 else 'NOT all'} VLM fixture runs pass ({bad} failed)")
open(os.path.join(out_dir, "results.txt"), "w").write("\n".join(lines) + "\n")
sys.exit(1 if bad else 0)
