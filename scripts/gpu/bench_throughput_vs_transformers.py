#!/usr/bin/env python3
"""On the GPU machine: offline throughput of Pipeline and of transformers' generate on the same GPU, same
model shape (random bf16 weights), same random prompts shape, in one run, and the ratio.
Usage: python3 scripts/gpu/bench_throughput_vs_transformers.py CONFIG_DIR [num_prompts input_len output_len]"""
import json, os, re, subprocess, sys, time
import torch
from transformers import AutoConfig, AutoModelForCausalLM

cfg_dir = sys.argv[1]
n, inp, out = (int(x) for x in (sys.argv[2:5] if len(sys.argv) >= 5 else (256, 512, 256)))

cmd = ["scripts/gpu/pipeline.sh", "bench-throughput", cfg_dir, "--load-format", "dummy", "--dtype", "bfloat16", "--device", "cuda",
       "--num-prompts", str(n), "--input-len", str(inp), "--output-len", str(out)] + sys.argv[5:]
print("$", " ".join(cmd), flush=True)
res = subprocess.run(cmd, capture_output=True, text=True)
print(res.stdout + res.stderr, flush=True)
m = re.search(r"([\d.]+) output tokens/s", res.stdout)
ours = float(m.group(1)) if m else None

torch.manual_seed(0)
config = AutoConfig.from_pretrained(cfg_dir)
with torch.device("cuda"):
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
model.eval()
model.generation_config.eos_token_id = None
model.generation_config.pad_token_id = 0
ids = torch.randint(0, config.vocab_size, (n, inp), device="cuda")
def run(batch, new):
    with torch.no_grad():
        return model.generate(batch, attention_mask=torch.ones_like(batch), max_new_tokens=new, min_new_tokens=new, do_sample=False)
run(ids[:4], 4)
torch.cuda.synchronize()
t = time.perf_counter()
o = run(ids, out)
torch.cuda.synchronize()
s = time.perf_counter() - t
hf = n * out / s
print(f"transformers generate (batch {n}, sdpa, bf16): {n / s:.2f} requests/s, {hf:.1f} output tokens/s ({s:.2f} s), generated {o.shape[1] - inp} tokens each", flush=True)
if ours:
    print(f"ratio pipeline / transformers (output tokens/s): {ours / hf:.2f}", flush=True)
