#!/usr/bin/env python3
"""On the GPU machine: time to first token of a one-image chat request on the tiny vision-language fixtures
(tests/fixtures/multimodal/models/{llava-1.5,llava-next,qwen2-vl,qwen2.5-vl}), Pipeline beside transformers in one run.

Pipeline: `pipeline serve FIXTURE --device cuda --dtype float32` (the trimmed build through scripts/gpu/pipeline.sh),
/v1/chat/completions with the image as a base64 PNG data: URL, max_tokens 1, timed by the client from send to answer.
transformers: the fixture's own processor (apply_chat_template + __call__) and generate(max_new_tokens=1) on CUDA,
float32, timed from the PNG bytes to the token (processing included, as on the Pipeline side).
Each timed request sends an image of its own (640x480 PNG of smooth random colours), so no prefix-cache or
encoder-cache hit helps; Pipeline is also timed with one image repeated (its encoder cache and prefix cache hit).
Both sides' first tokens for the same images are compared (greedy; tiny random models, so ties are possible: a
mismatch is reported, not fatal).

Usage: python3 scripts/gpu/vlm_ttft.py OUT_DIR [runs] [fixture ...]
Env: PIPELINE (command line of the pipeline CLI, default scripts/gpu/pipeline.sh), DEVICE (default cuda).
Writes OUT_DIR/results.txt (one line per model and side) and OUT_DIR/serve-MODEL.log."""
import base64, json, os, socket, statistics, struct, subprocess, sys, time, traceback, urllib.request, zlib
import random

out = sys.argv[1] if len(sys.argv) > 1 else "vlm-ttft"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
models = sys.argv[3:] or ["llava-1.5", "llava-next", "qwen2-vl", "qwen2.5-vl"]
device = os.environ.get("DEVICE", "cuda")
pipeline = os.environ.get("PIPELINE", "scripts/gpu/pipeline.sh").split()
root = "tests/fixtures/multimodal/models"
os.makedirs(out, exist_ok=True)
lines = []


def say(line):
    print(line, flush=True)
    lines.append(line)
    with open(os.path.join(out, "results.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def png(seed, w=640, h=480):
    """A PNG of smooth random colour fields (bilinear blow-up of a 4x3 grid), written without PIL."""
    rng = random.Random(seed)
    grid = [[[rng.randrange(256) for _ in range(3)] for _ in range(4)] for _ in range(3)]
    rows = bytearray()
    for y in range(h):
        fy = y / (h - 1) * 2
        y0 = min(int(fy), 1)
        ty = fy - y0
        rows.append(0)
        for x in range(w):
            fx = x / (w - 1) * 3
            x0 = min(int(fx), 2)
            tx = fx - x0
            for c in range(3):
                a = grid[y0][x0][c] * (1 - tx) + grid[y0][x0 + 1][c] * tx
                b = grid[y0 + 1][x0][c] * (1 - tx) + grid[y0 + 1][x0 + 1][c] * tx
                rows.append(int(a * (1 - ty) + b * ty))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


def question(model):
    with open(os.path.join(root, model, "expected.json")) as f:
        prompt = json.load(f)["prompts"][0]
    return next(c["text"] for c in prompt["messages"][0]["content"] if c["type"] == "text")


def stats(name, times, tokens):
    ms = [t * 1000 for t in times]
    say(f"{name}: TTFT median {statistics.median(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms, min {min(ms):.1f} ms "
        f"over {len(ms)} one-image requests (prompt {tokens} tokens, 640x480 PNG)")
    return statistics.median(ms)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


timed = [png(seed) for seed in range(runs)]
warm = [png(1000 + seed) for seed in range(2)]


def run_pipeline(model):
    """Returns (median ms, first tokens of the timed images) or raises."""
    port = free_port()
    log = open(os.path.join(out, f"serve-{model}.log"), "w")
    proc = subprocess.Popen(pipeline + ["serve", os.path.join(root, model), "--device", device, "--dtype", "float32",
                                        "--port", str(port), "--served-model-name", "vlm", "--max-model-len", "512"],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 600
        while True:
            try:
                if urllib.request.urlopen(base + "/health", timeout=2).status == 200:
                    break
            except Exception:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"pipeline serve did not become healthy (serve-{model}.log)")
            time.sleep(1)

        def chat(data):
            url = "data:image/png;base64," + base64.b64encode(data).decode()
            body = {"model": "vlm", "max_tokens": 1, "temperature": 0, "logprobs": True, "return_tokens_as_token_ids": True,
                    "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                                              {"type": "text", "text": question(model)}]}]}
            req = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            t = time.perf_counter()
            res = json.loads(urllib.request.urlopen(req, timeout=300).read())
            elapsed = time.perf_counter() - t
            token = int(res["choices"][0]["logprobs"]["content"][0]["token"].split(":")[1])
            return elapsed, res["usage"]["prompt_tokens"], token

        for data in warm:
            chat(data)
        results = [chat(data) for data in timed]
        median = stats(f"{model} pipeline serve (float32, {device}, /v1/chat/completions, max_tokens 1)",
                       [r[0] for r in results], results[0][1])
        repeated = [chat(timed[0]) for _ in range(runs)]
        stats(f"{model} pipeline serve, the same image every time (encoder and prefix cache hits)",
              [r[0] for r in repeated], repeated[0][1])
        return median, [r[2] for r in results]
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except Exception:
            proc.kill()


def run_transformers(model):
    import io
    import torch
    import transformers
    from PIL import Image
    d = os.path.join(root, model)
    processor = transformers.AutoProcessor.from_pretrained(d)
    hf = transformers.AutoModelForImageTextToText.from_pretrained(d, dtype=torch.float32).to(device).eval()
    hf.generation_config.eos_token_id = None
    hf.generation_config.pad_token_id = 0
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question(model)}]}]

    def one(data):
        torch.cuda.synchronize()
        t = time.perf_counter()
        image = Image.open(io.BytesIO(data)).convert("RGB")
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        enc = processor(text=[text], images=[image], return_tensors="pt").to(device)
        with torch.no_grad():
            seq = hf.generate(**enc, max_new_tokens=1, do_sample=False)
        torch.cuda.synchronize()
        return time.perf_counter() - t, enc["input_ids"].shape[1], int(seq[0, -1])

    for data in warm:
        one(data)
    results = [one(data) for data in timed]
    median = stats(f"{model} transformers {transformers.__version__} generate (float32, {device}, max_new_tokens 1)",
                   [r[0] for r in results], results[0][1])
    return median, [r[2] for r in results]


try:
    import torch
    import transformers
    say(f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA'}")
except Exception:
    say("torch/transformers not importable here: only the Pipeline side runs")

failed = []
for model in models:
    ours = theirs = None
    try:
        ours = run_pipeline(model)
    except Exception:
        failed.append(model)
        say(f"{model} pipeline: FAILED\n" + traceback.format_exc())
    try:
        theirs = run_transformers(model)
    except Exception:
        failed.append(model)
        say(f"{model} transformers: FAILED\n" + traceback.format_exc())
    if ours and theirs:
        same = sum(a == b for a, b in zip(ours[1], theirs[1]))
        say(f"{model} ratio pipeline / transformers (TTFT median): {ours[0] / theirs[0]:.2f}; "
            f"first tokens equal for {same} of {len(ours[1])} images")
sys.exit(1 if failed else 0)
