#!/usr/bin/env python3
"""On the GPU machine: time to first token of one-image chat requests on a Qwen2-VL-2B-shaped model (random bf16
weights), Pipeline (`pipeline serve --load-format dummy`, /v1/chat/completions with a base64 PNG, max_tokens 1) and
transformers (image processor + generate(max_new_tokens=1), sdpa) on the same GPU in one run. Each timed request has an
image of its own (no prefix-cache or encoder-cache hit); both times include the image processing.
Usage: python3 scripts/gpu/ttft_vlm_vs_transformers.py OUT_DIR [runs]
Writes OUT_DIR/model (config, tokenizer, preprocessor config, chat template), OUT_DIR/serve.log, OUT_DIR/results.txt."""
import base64, io, json, os, shutil, socket, statistics, subprocess, sys, time, traceback, urllib.request

import numpy as np
import torch
import transformers
from PIL import Image

out = sys.argv[1] if len(sys.argv) > 1 else "ttft-vlm"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
model_dir = os.path.join(out, "model")
os.makedirs(model_dir, exist_ok=True)
lines = []


def say(line):
    print(line, flush=True)
    lines.append(line)
    open(os.path.join(out, "results.txt"), "w").write("\n".join(lines) + "\n")


TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
            "{{ message['content'] }}{% else %}{% for item in message['content'] %}{% if item['type'] == 'image' %}"
            "<|vision_start|><|image_pad|><|vision_end|>{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
            "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
QUESTION = "Describe this image."
text_config = dict(model_type="qwen2_vl_text", vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                   num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768, rms_norm_eps=1e-6,
                   rope_theta=1000000.0, rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]},
                   tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645)
vision_config = dict(depth=32, embed_dim=1280, hidden_size=1536, num_heads=16, mlp_ratio=4, patch_size=14, spatial_merge_size=2,
                     temporal_patch_size=2, in_channels=3, hidden_act="quick_gelu")
config = transformers.Qwen2VLConfig(text_config=text_config, vision_config=vision_config, image_token_id=151655,
                                    video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653,
                                    tie_word_embeddings=True)
config.architectures = ["Qwen2VLForConditionalGeneration"]
config.save_pretrained(model_dir)
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join("tests/fixtures/tokenizers/qwen2_5", f), model_dir)
open(os.path.join(model_dir, "chat_template.jinja"), "w").write(TEMPLATE)
image_processor = transformers.Qwen2VLImageProcessor()  # Qwen2-VL's defaults (min 56x56, max 28x28x1280 pixels)
image_processor.save_pretrained(model_dir)


def image(seed):
    """A 640x480 picture of smooth random colour fields (each request its own)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (15, 20, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((640, 480), Image.BICUBIC)


def png(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def stats(name, times, tokens):
    ms = [t * 1000 for t in times]
    say(f"{name}: TTFT median {statistics.median(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms, min {min(ms):.1f} ms over {len(ms)} "
        f"one-image requests (prompt {tokens} tokens, 640x480 image)")
    return statistics.median(ms)


say(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.cuda.get_device_name(0)}")
ours = theirs = None

# Pipeline first (alone on the GPU), then transformers.
proc = None
try:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(out, "serve.log"), "w")
    proc = subprocess.Popen(["scripts/gpu/pipeline.sh", "serve", model_dir, "--load-format", "dummy", "--dtype", "bfloat16",
                             "--device", "cuda", "--port", str(port), "--served-model-name", "vlm", "--max-model-len", "4096", "--gpu-memory-utilization", "0.5"],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 600
    while True:
        try:
            if urllib.request.urlopen(base + "/health", timeout=2).status == 200:
                break
        except Exception:
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("pipeline serve did not become healthy (serve.log)")
        time.sleep(1)

    def chat(seed):
        url = "data:image/png;base64," + base64.b64encode(png(image(seed))).decode()
        body = {"model": "vlm", "max_tokens": 1, "temperature": 0,
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                                          {"type": "text", "text": QUESTION}]}]}
        req = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        t = time.perf_counter()
        res = json.loads(urllib.request.urlopen(req, timeout=300).read())
        return time.perf_counter() - t, res["usage"]["prompt_tokens"]

    for seed in range(2):  # warm-up
        chat(1000 + seed)
    results = [chat(seed) for seed in range(runs)]
    ours = stats("pipeline serve (bf16, /v1/chat/completions, max_tokens 1)", [r[0] for r in results], results[0][1])
except Exception:
    say("pipeline: FAILED\n" + traceback.format_exc())
finally:
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(60)
        except Exception:
            proc.kill()

try:
    torch.manual_seed(0)
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    with torch.device("cuda"):
        model = transformers.AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    model.eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    text = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>" + QUESTION + "<|im_end|>\n<|im_start|>assistant\n")

    def hf(seed):
        torch.cuda.synchronize()
        t = time.perf_counter()
        enc = image_processor(images=[image(seed)], return_tensors="pt")
        n = int(enc["image_grid_thw"].prod()) // 4
        ids = tok(text.replace("<|image_pad|>", "<|image_pad|>" * n), return_tensors="pt")
        with torch.no_grad():
            model.generate(input_ids=ids["input_ids"].cuda(), attention_mask=ids["attention_mask"].cuda(),
                           pixel_values=enc["pixel_values"].cuda(), image_grid_thw=enc["image_grid_thw"].cuda(),
                           max_new_tokens=1, do_sample=False)
        torch.cuda.synchronize()
        return time.perf_counter() - t, ids["input_ids"].shape[1]

    for seed in range(2):
        hf(1000 + seed)
    results = [hf(seed) for seed in range(runs)]
    theirs = stats("transformers generate (bf16, sdpa, max_new_tokens 1)", [r[0] for r in results], results[0][1])
except Exception:
    say("transformers: FAILED\n" + traceback.format_exc())

if ours and theirs:
    say(f"ratio pipeline / transformers (TTFT): {ours / theirs:.2f}")
sys.exit(0 if ours and theirs else 1)
