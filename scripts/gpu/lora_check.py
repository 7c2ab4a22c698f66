#!/usr/bin/env python3
"""Serves the LoRA fixture (tests/fixtures/lora: a tiny Llama and three PEFT adapters made by
scripts/fixtures/make_lora_fixtures.py) with `pipeline serve --enable-lora --lora-modules ...`, sends every prompt for
the base model and for each adapter at once (so they share engine steps), and checks the greedy tokens and top-5
logprobs against transformers+peft's by vLLM's rule: equal tokens with logprobs within TOL until a first divergence,
where each side's token must be in the other's top-5. One line per model; exit 1 on any mismatch.
Usage: python3 scripts/gpu/lora_check.py [--device cuda] [--dtype float32] [--pipeline CMD] [--port 8123]
CMD defaults to .gpu/pipeline-linux-x64/pipeline when present, else scripts/gpu/pipeline.sh. Needs only the standard library."""
import json, os, shlex, subprocess, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default

device, dtype, port = arg("--device", "cuda"), arg("--dtype", "float32"), int(arg("--port", "8123"))
default_cmd = ".gpu/pipeline-linux-x64/pipeline" if os.access(".gpu/pipeline-linux-x64/pipeline", os.X_OK) else "scripts/gpu/pipeline.sh"
cmd = shlex.split(arg("--pipeline", default_cmd))
root = arg("--fixture", "tests/fixtures/lora")
TOL = float(os.environ.get("LORA_TOL", "2e-3"))
adapters = sorted(os.listdir(os.path.join(root, "adapters")))
base = "lora-base"

serve = cmd + ["serve", os.path.join(root, "base"), "--served-model-name", base, "--device", device, "--dtype", dtype,
               "--max-model-len", "128", "--port", str(port), "--enable-lora", "--max-loras", str(len(adapters)),
               "--max-lora-rank", "16", "--max-num-batched-tokens", "64", "--queue", "off", "--lora-modules"]
serve += [f"{a}={os.path.join(root, 'adapters', a)}" for a in adapters]
log = open(os.environ.get("LORA_SERVE_LOG", "/tmp/lora_serve.log"), "w")
proc = subprocess.Popen(serve, stdout=log, stderr=subprocess.STDOUT)
url = f"http://127.0.0.1:{port}"
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/health", timeout=2)
            break
        except Exception:
            if proc.poll() is not None:
                log.flush(); print(open(log.name).read()[-3000:]); sys.exit("server exited")
            time.sleep(0.5)
    models = json.load(urllib.request.urlopen(url + "/v1/models"))
    print("models:", [(m["id"], m.get("parent")) for m in models["data"]])

    def complete(model, ids):
        body = dict(model=model, prompt=ids, max_tokens=16, temperature=0, ignore_eos=True, logprobs=5,
                    return_tokens_as_token_ids=True)
        req = urllib.request.Request(url + "/v1/completions", json.dumps(body).encode(), {"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req, timeout=300))["choices"][0]["logprobs"]

    cases = [(base, json.load(open(os.path.join(root, "base", "expected.json"))))]
    cases += [(a, json.load(open(os.path.join(root, "adapters", a, "expected.json")))) for a in adapters]
    jobs = [(m, p) for m, e in cases for p in e["prompts"]]
    with ThreadPoolExecutor(len(jobs)) as pool:
        got = list(pool.map(lambda j: complete(j[0], j[1]["prompt_token_ids"]), jobs))

    def tid(s):
        return int(s.split(":")[1])

    bad = 0
    results = {}
    for (model, p), lp in zip(jobs, got):
        toks = [tid(t) for t in lp["tokens"]]
        ok, worst, exact = True, 0.0, toks == p["token_ids"]
        for i, (a, e) in enumerate(zip(toks, p["token_ids"])):
            top = {tid(k): v for k, v in lp["top_logprobs"][i].items()}
            want = {int(k): v for k, v in p["top_logprobs"][i].items()}
            if a != e:
                ok = a in want and e in top
                break
            for k, v in top.items():
                if k in want:
                    worst = max(worst, abs(v - want[k]))
        ok = ok and worst <= TOL and len(toks) == len(p["token_ids"])
        r = results.setdefault(model, [0, 0, 0, 0.0])
        r[0] += ok; r[1] += exact; r[2] += 1; r[3] = max(r[3], worst)
    for model, (ok, exact, n, worst) in results.items():
        bad += ok != n
        print(f"{model}: {ok}/{n} prompts match transformers+peft by vLLM's rule, {exact} with the exact 16 greedy tokens, "
              f"max |logprob diff| {worst:.2e} on {device} ({dtype}), all {len(jobs)} requests sent at once")
    sys.exit(1 if bad else 0)
finally:
    proc.terminate()
    try:
        proc.wait(30)
    except Exception:
        proc.kill()
