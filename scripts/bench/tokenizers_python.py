#!/usr/bin/env python3
"""Python `tokenizers` baseline for `pipeline bench tokenizer`: encode throughput (MB/s) of each fixture tokenizer
on the same text Pipeline uses (every fixture string of tests/fixtures/tokenizers/*/expected.json joined by
newlines, repeated to at least 1 MB), and the per-token cost of incremental decoding with DecodeStream.
Usage: python3 scripts/bench/tokenizers_python.py [tests/fixtures/tokenizers]"""
import glob, json, os, sys, time
import tokenizers
from tokenizers.decoders import DecodeStream

root = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tokenizers"

def corpus():
    texts = []
    for f in sorted(glob.glob(os.path.join(root, "*", "expected.json"))):
        texts += [c["text"] for c in json.load(open(f, encoding="utf-8"))["cases"]]
    unit = "\n".join(texts)
    reps = max(1, (1 << 20) // len(unit.encode("utf-8")) + 1)
    return "\n".join([unit] * reps)

text = corpus()
mb = len(text.encode("utf-8")) / 1e6
print(f"tokenizers {tokenizers.__version__}, text {mb:.2f} MB, single thread per encode call")
for d in sorted(glob.glob(os.path.join(root, "*", "tokenizer.json"))):
    name = os.path.basename(os.path.dirname(d))
    tok = tokenizers.Tokenizer.from_file(d)
    lines = text.split("\n")
    tok.encode_batch(lines[:100])
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        n = sum(len(tok.encode(l, add_special_tokens=False).ids) for l in lines)
        best = min(best, time.perf_counter() - t)
    ids = tok.encode(text[:200000], add_special_tokens=False).ids
    ds = DecodeStream(skip_special_tokens=False)
    t = time.perf_counter()
    for i in ids:
        ds.step(tok, i)
    per = (time.perf_counter() - t) / len(ids) * 1e6
    print(f"{name}: encode {mb / best:.2f} MB/s ({n} tokens), incremental decode {per:.2f} us/token")
