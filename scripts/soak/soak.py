#!/usr/bin/env python3
"""Soak run of `pipeline serve` on CPU: mixed load with injected faults, sampled over time.

Starts the server (the built-in default model unless --model), drives a mixed load for --minutes -- streaming and
non-streaming, chat and completions, HTTP and the in-process queue (POST /v1/queue/requests + GET /v1/streams/ID),
cancellations (streams dropped after the first chunk), bad requests -- with --inject-faults making stages throw, and
samples every --interval seconds: RSS, managed (GC) heap, KV blocks in use, requests running/waiting, open client
connections. After the load stops it lets the server settle and compares the end state with the state after warm-up
(--warmup-s of the same load).
Writes OUT.csv (samples) and OUT.txt (summary and charts). Exit 0 when the end state equals the start state within the
bounds printed, 1 otherwise.

  python3 scripts/soak/soak.py --minutes 30 --out /tmp/soak
"""
import argparse, http.client, json, os, random, re, signal, socket, subprocess, sys, threading, time, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--minutes", type=float, default=30)
p.add_argument("--interval", type=float, default=15)
p.add_argument("--concurrency", type=int, default=6)
p.add_argument("--port", type=int, default=18123)
p.add_argument("--model", default=None, help="model directory (default: the built-in pipeline-tiny-en)")
p.add_argument("--pipeline", default="dotnet src/Host/bin/Debug/net10.0/pipeline.dll", help="how to start the CLI")
p.add_argument("--faults", default="p=0.002;stages=gpu,tokenizer,detokenizer;seed=11")
p.add_argument("--rss-growth-mb", type=float, default=150, help="allowed RSS growth from after warm-up to the end")
p.add_argument("--warmup-s", type=float, default=60,
               help="seconds of the same mixed load before the start sample: the first batches of each size grow the heaps "
                    "and libtorch's per-shape caches once, which is not growth over time")
p.add_argument("--out", default="/tmp/pipeline-soak")
a = p.parse_args()

BASE = f"http://127.0.0.1:{a.port}"
cmd = a.pipeline.split() + ["serve"] + ([a.model] if a.model else []) + [
    "--port", str(a.port), "--inject-faults", a.faults, "--no-enable-log-requests", "--max-num-seqs", "32"]
log = open(a.out + ".server.log", "w")
server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
stop = threading.Event()
counts = {}
lock = threading.Lock()

def count(key):
    with lock: counts[key] = counts.get(key, 0) + 1

def get(path, timeout=30):
    with urllib.request.urlopen(BASE + path, timeout=timeout) as r: return r.status, r.read().decode()

def wait_healthy(limit=300):
    t = time.time()
    while time.time() - t < limit:
        if server.poll() is not None: sys.exit(f"server exited with {server.returncode}; see {a.out}.server.log")
        try:
            if get("/health", 5)[0] == 200: return
        except Exception: pass
        time.sleep(1)
    sys.exit("server did not become healthy")

def metrics():
    _, text = get("/metrics")
    m = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line: continue
        name, value = line.rsplit(" ", 1)
        try:
            m[re.sub(r"\{.*\}", "", name)] = m.get(re.sub(r"\{.*\}", "", name), 0) + float(value)
            m[name] = float(value)
        except ValueError: pass
    return m

def established():
    """Client connections to the server's port (ESTABLISHED, local port = server port)."""
    n = 0
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in open(f).readlines()[1:]:
                parts = line.split()
                if int(parts[1].split(":")[1], 16) == a.port and parts[3] == "01": n += 1
        except FileNotFoundError: pass
    return n

def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
    return 0

def sample(t0, blocks):
    m = metrics()
    return {"t_s": round(time.time() - t0), "rss_mb": round(rss_mb(server.pid), 1),
            "gc_heap_mb": round(m.get("dotnet_total_memory_bytes", 0) / 2**20, 1),
            "native_in_use_mb": round(m.get('pipeline:native_heap_bytes{state="in_use"}', 0) / 2**20, 1),
            "native_free_mb": round(m.get('pipeline:native_heap_bytes{state="free"}', 0) / 2**20, 1),
            "live_tensors": int(m.get("pipeline:torch_live_tensors", 0)),
            "gc_committed_mb": round(m.get("system_runtime_dotnet_gc_last_collection_memory_committed_size", 0) / 2**20, 1),
            "kv_usage_pct": round(m.get("vllm:kv_cache_usage_perc", 0) * 100, 2),
            "running": int(m.get("vllm:num_requests_running", 0)), "waiting": int(m.get("vllm:num_requests_waiting", 0)),
            "connections": established(), "threads": len(os.listdir(f"/proc/{server.pid}/task"))}

BAD_BODY = b'{"prompt": [1, "x"], "max_tokens": -3'

def post(path, body, stream=False, cancel=False):
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
    try:
        c.request("POST", path, body=json.dumps(body) if not isinstance(body, bytes) else body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if cancel and r.status == 200:
            r.read(1)  # the first bytes, then drop the connection mid-stream
            count("cancelled"); return r.status
        r.read()
        return r.status
    finally: c.close()

def worker(i):
    rnd = random.Random(i)
    n = 0
    while not stop.is_set():
        n += 1
        kind = rnd.random()
        mt = rnd.randint(1, 32)
        chat = rnd.random() < 0.5
        body = ({"messages": [{"role": "user", "content": "What should the Congress do about the public debt?"}]} if chat
                else {"prompt": rnd.choice(["The Congress has", "The whale", "In the year", "Our country"])})
        body["max_tokens"] = mt
        path = "/v1/chat/completions" if chat else "/v1/completions"
        try:
            if kind < 0.2:
                rid = f"soak-{i}-{n}"
                s = post("/v1/queue/requests", dict(body if not chat else {"prompt": "The whale"}, request_id=rid, max_tokens=mt))
                if s == 202:
                    st, text = get(f"/v1/streams/{rid}?wait=60", 120)
                    count("queue_" + ("final" if '"type":"final"' in text else "error" if '"type":"error"' in text else "other"))
                else: count(f"queue_publish_{s}")
            elif kind < 0.3:
                count(f"cancel_{post(path, dict(body, stream=True, max_tokens=64, ignore_eos=True), cancel=True)}")
            elif kind < 0.35:
                count("bad_%d" % post(path, BAD_BODY))
            else:
                stream = rnd.random() < 0.5
                count(f"{'chat' if chat else 'completion'}_{'stream' if stream else 'plain'}_{post(path, dict(body, stream=stream))}")
        except Exception as e:
            count("client_error_" + type(e).__name__)

wait_healthy()
print(f"server pid {server.pid} healthy; warming up", flush=True)
for _ in range(20): post("/v1/completions", {"prompt": "The whale", "max_tokens": 8})
blocks = None
idle = sample(time.time(), blocks)
print("idle after the sequential warm-up: " + json.dumps(idle), flush=True)
threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(a.concurrency)]
for t in threads: t.start()
time.sleep(a.warmup_s)
t0 = time.time()
samples = [sample(t0, blocks)]
print(json.dumps(samples[-1]), flush=True)
end = t0 + a.minutes * 60
while time.time() < end:
    time.sleep(min(a.interval, max(0, end - time.time())))
    samples.append(sample(t0, blocks))
    print(json.dumps(samples[-1]), flush=True)
    if server.poll() is not None: break
stop.set()
for t in threads: t.join(timeout=180)
time.sleep(10)
final = sample(t0, blocks)
samples.append(final)
start = samples[0]
alive = server.poll() is None
ok = alive and final["kv_usage_pct"] == 0 and final["running"] == 0 and final["waiting"] == 0 \
    and final["connections"] <= start["connections"] and final["rss_mb"] - start["rss_mb"] <= a.rss_growth_mb
server.send_signal(signal.SIGTERM)
try: server.wait(60)
except subprocess.TimeoutExpired: server.kill()

with open(a.out + ".csv", "w") as f:
    keys = list(samples[0].keys())
    f.write(",".join(keys) + "\n")
    for s in samples: f.write(",".join(str(s[k]) for k in keys) + "\n")

def chart(key):
    vals = [s[key] for s in samples]
    hi = max(vals) or 1
    return "\n".join(f"{s['t_s']:>6} s {s[key]:>9} " + "#" * int(40 * s[key] / hi) for s in samples)

summary = [f"soak: {a.minutes} min, concurrency {a.concurrency}, faults '{a.faults}', server {'alive' if alive else 'DEAD'}",
           f"requests: {json.dumps(dict(sorted(counts.items())))}",
           f"idle before the load: {json.dumps(idle)}",
           f"start (after {a.warmup_s:g} s of warm-up load): {json.dumps(start)}", f"end (after 10 s settle): {json.dumps(final)}",
           f"bounds: KV blocks in use, running, waiting 0 at the end; connections <= start; RSS growth <= {a.rss_growth_mb} MB -> {'PASS' if ok else 'FAIL'}",
           "", "RSS (MB):", chart("rss_mb"), "", "GC heap (MB):", chart("gc_heap_mb"), "", "native heap in use (MB):", chart("native_in_use_mb"), "", "native heap free (MB):", chart("native_free_mb"), "", "KV cache in use (% of blocks):", chart("kv_usage_pct"),
           "", "open connections:", chart("connections")]
open(a.out + ".txt", "w").write("\n".join(summary) + "\n")
print("\n".join(summary))
sys.exit(0 if ok else 1)
