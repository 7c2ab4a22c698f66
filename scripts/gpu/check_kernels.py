#!/usr/bin/env python3
"""Randomized checks of libpipeline_native's kernels against float64 references in plain PyTorch (GPU machine).

    python3 scripts/gpu/check_kernels.py SO_PATH [--seed N] [--quick] [--no-bench]

Loads the library with torch.ops.load_library (its ops live in torch.ops.pipeline_native), prints one line per case
and a final "N passed, N failed", exits 1 on any failure. Then times the decode kernel on Llama-3.1-8B shapes
against SDPA over gathered K/V.
"""
import argparse
import math
import random
import sys
import time

import torch
import torch.nn.functional as F

DEV = "cuda"
DTYPES = [torch.float32, torch.bfloat16, torch.float16]
# (atol, rtol) against the float64 reference computed from the same (already rounded) inputs. The half types are
# bounded by the final rounding of the output (bf16: 8 bits, fp16: 11 bits of mantissa) plus the rounding of
# intermediates the kernels keep in the dtype on purpose (as transformers does); flash attention also rounds P.
TOL = {torch.float32: (2e-5, 2e-5), torch.float16: (4e-3, 4e-3), torch.bfloat16: (3e-2, 2e-2)}
NAMES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}

passed = 0
failed = 0


def report(name, got, ref, dtype, scale=1.0):
    """Compares got (any dtype) with a float64 reference; prints one line; counts it."""
    global passed, failed
    atol, rtol = TOL[dtype]
    atol, rtol = atol * scale, rtol * scale
    got64 = got.double()
    if got64.numel() == 0:
        ok, worst = True, 0.0
    else:
        err = (got64 - ref).abs()
        ok = bool(torch.isfinite(got64).all()) and bool((err <= atol + rtol * ref.abs()).all())
        worst = float(err.max())
    if ok:
        passed += 1
    else:
        failed += 1
    print(f"{'PASS' if ok else 'FAIL'}  {name}  max_abs_err={worst:.3e}", flush=True)
    return ok


def report_bool(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(f"{'PASS' if ok else 'FAIL'}  {name}  {detail}", flush=True)


# ---------------------------------------------------------------- paged cache helpers

def make_block_tables(seq_lens, block_size, num_blocks, max_blocks, strided):
    """Distinct, shuffled block ids per sequence; padding entries hold random (valid) ids, so a kernel reading past a
    sequence's length reads wrong keys and fails the comparison instead of passing by luck."""
    bsz = len(seq_lens)
    need = [max(1, math.ceil(n / block_size)) if n > 0 else 0 for n in seq_lens]
    perm = torch.randperm(num_blocks).tolist()
    assert sum(need) <= num_blocks
    width = max_blocks + (3 if strided else 0)
    bt = torch.randint(0, num_blocks, (bsz, width), dtype=torch.int32)
    at = 0
    for b, n in enumerate(need):
        bt[b, :n] = torch.tensor(perm[at:at + n], dtype=torch.int32)
        at += n
    bt = bt.to(DEV)
    return bt[:, :max_blocks] if strided else bt  # strided: a view whose row stride exceeds its width


def slots_of(bt_row, n, block_size):
    pos = torch.arange(n, device=DEV)
    return bt_row[pos // block_size].long() * block_size + pos % block_size


def ref_attention(q, k, v, q_pos, window, scale):
    """q [Tq,H,D], k/v [Lk,Hkv,D], q_pos [Tq]: float64 causal (and windowed) attention; empty rows give 0."""
    h, hkv = q.shape[1], k.shape[1]
    kk = k.double().repeat_interleave(h // hkv, dim=1)
    vv = v.double().repeat_interleave(h // hkv, dim=1)
    s = torch.einsum("thd,khd->thk", q.double(), kk) * scale
    pos = torch.arange(k.shape[0], device=q.device)
    mask = pos[None, :] <= q_pos[:, None]
    if window > 0:
        mask &= pos[None, :] > q_pos[:, None] - window
    s = s.masked_fill(~mask[:, None, :], float("-inf"))
    p = torch.softmax(s, dim=-1).nan_to_num(0.0)
    return torch.einsum("thk,khd->thd", p, vv)


def random_lengths(bsz, block_size, longest):
    """Lengths on and around block boundaries, a zero (padding row) sometimes, one long context."""
    pool = [1, 2, block_size - 1, block_size, block_size + 1, 2 * block_size, 3 * block_size - 1, 5 * block_size + 3]
    lens = [random.choice(pool) for _ in range(bsz)]
    if bsz > 1:
        lens[random.randrange(bsz)] = longest
    if bsz > 2 and random.random() < 0.5:
        lens[random.randrange(bsz)] = 0
    return [max(0, n) for n in lens]


def make_cache(num_blocks, block_size, hkv, d, dtype, four_d):
    shape = (num_blocks, block_size, hkv, d) if four_d else (num_blocks * block_size, hkv, d)
    return torch.randn(shape, device=DEV, dtype=dtype), torch.randn(shape, device=DEV, dtype=dtype)


def flat(cache):
    return cache.view(-1, cache.shape[-2], cache.shape[-1])


# ---------------------------------------------------------------- decode

def check_decode(dtype, h, hkv, d, block_size, window, four_d, longest, bsz, lens=None):
    lens = random_lengths(bsz, block_size, longest) if lens is None else lens
    max_blocks = max(1, math.ceil(max(lens) / block_size)) + random.randint(0, 2)
    num_blocks = sum(math.ceil(n / block_size) for n in lens) + 8
    kc, vc = make_cache(num_blocks, block_size, hkv, d, dtype, four_d)
    bt = make_block_tables(lens, block_size, num_blocks, max_blocks, strided=random.random() < 0.3)
    seq_lens = torch.tensor(lens, dtype=torch.int32, device=DEV)
    q = torch.randn(bsz, h, d, device=DEV, dtype=dtype)
    out = torch.full_like(q, float("nan"))
    scale = 1.0 / math.sqrt(d)
    torch.ops.pipeline_native.paged_decode_attention(out, q, kc, vc, bt, seq_lens, scale, window, block_size)
    ref = torch.zeros(bsz, h, d, dtype=torch.float64, device=DEV)
    for b, n in enumerate(lens):
        if n == 0:
            continue
        sl = slots_of(bt[b], n, block_size)
        ref[b] = ref_attention(q[b:b + 1], flat(kc)[sl], flat(vc)[sl], torch.tensor([n - 1], device=DEV), window, scale)[0]
    name = (f"decode {NAMES[dtype]} H={h} Hkv={hkv} D={d} bs={block_size} window={window} "
            f"{'4d' if four_d else '3d'} B={bsz} lens={lens[:6]}{'...' if bsz > 6 else ''}")
    report(name, out, ref, dtype)


def decode_cases(quick):
    dims = [64, 128, 256, 16, 32]
    heads = [(8, 8), (8, 2), (16, 2)]  # GQA ratios 1, 4, 8
    for dtype in DTYPES:
        for h, hkv in heads:
            for d in dims:
                if quick and d not in (16, 128):
                    continue
                bs = random.choice([16, 16, 32, 8])
                window = random.choice([0, 0, 1, bs, 2 * bs + 1, 37])
                longest = random.choice([700, 1500, 2 * bs + 1])
                check_decode(dtype, h, hkv, d, bs, window, random.random() < 0.5, longest, random.randint(1, 5))
    # many sequences (one split per sequence), and a long context (many splits)
    for dtype in DTYPES:
        check_decode(dtype, 32, 8, 128, 16, 0, False, 400, 64)
        check_decode(dtype, 32, 8, 128, 16, 0, False, 5000, 2)
        check_decode(dtype, 32, 8, 128, 16, 4096, True, 5000, 2)
        # window edges: a window exactly the length, one less, one more
        for w in (299, 300, 301):
            check_decode(dtype, 8, 2, 64, 16, w, False, 300, 3)
        # large batch, mixed lengths crossing many blocks (one split per sequence at this width; a few at batch 64)
        mixed = [random.choice([0, 1, 15, 16, 17, random.randint(1, 900), random.randint(400, 800)]) for _ in range(256)]
        check_decode(dtype, 32, 8, 128, 16, 0, False, 0, 256, lens=mixed)
        check_decode(dtype, 32, 8, 128, 16, 300, True, 0, 64, lens=mixed[:64])
        # head groups that do not fill a block's heads (3, 6) or need two passes (16); head dims of odd chunk counts
        for h, hkv, d in ((12, 4, 24), (12, 2, 96), (32, 2, 192), (16, 16, 8), (24, 8, 136)):
            check_decode(dtype, h, hkv, d, 16, random.choice([0, 40]), random.random() < 0.5, 700, 5)


# ---------------------------------------------------------------- prefill

def check_prefill(dtype, h, hkv, d, block_size, window, allow_flash, pass_total, bsz):
    pairs = []  # (context, new tokens)
    for _ in range(bsz):
        ctx = random.choice([0, 0, block_size - 1, block_size, 3 * block_size + 1, random.randint(0, 90)])
        ql = random.choice([1, 2, block_size, block_size + 1, random.randint(1, 70)])
        pairs.append((ctx, ql))
    lens_k = [c + n for c, n in pairs]
    q_lens = [n for _, n in pairs]
    max_blocks = max(math.ceil(n / block_size) for n in lens_k) + random.randint(0, 1)
    num_blocks = sum(math.ceil(n / block_size) for n in lens_k) + 4
    kc, vc = make_cache(num_blocks, block_size, hkv, d, dtype, random.random() < 0.5)
    bt = make_block_tables(lens_k, block_size, num_blocks, max_blocks, strided=random.random() < 0.3)
    cu = [0]
    for n in q_lens:
        cu.append(cu[-1] + n)
    t = cu[-1]
    q = torch.randn(t, h, d, device=DEV, dtype=dtype)
    out = torch.full_like(q, float("nan"))
    scale = 1.0 / math.sqrt(d)
    torch.ops.pipeline_native.paged_prefill_attention(
        out, q, kc, vc, torch.tensor(cu, dtype=torch.int32, device=DEV),
        torch.tensor(lens_k, dtype=torch.int32, device=DEV), bt, max(q_lens), max(lens_k), scale, window, block_size,
        sum(lens_k) if pass_total else -1, allow_flash)
    ref = torch.empty(t, h, d, dtype=torch.float64, device=DEV)
    for s, (ctx, ql) in enumerate(pairs):
        sl = slots_of(bt[s], ctx + ql, block_size)
        q_pos = torch.arange(ctx, ctx + ql, device=DEV)
        ref[cu[s]:cu[s + 1]] = ref_attention(q[cu[s]:cu[s + 1]], flat(kc)[sl], flat(vc)[sl], q_pos, window, scale)
    path = "flash" if allow_flash and dtype != torch.float32 else "generic"
    name = (f"prefill[{path}] {NAMES[dtype]} H={h} Hkv={hkv} D={d} bs={block_size} window={window} "
            f"(ctx,q)={pairs}")
    report(name, out, ref, dtype, scale=1.5 if path == "flash" else 1.0)


def prefill_cases(quick):
    for dtype in DTYPES:
        for h, hkv in [(8, 8), (8, 2), (16, 2)]:
            for d in [64, 128, 256, 16, 32]:
                if quick and d not in (16, 128):
                    continue
                bs = random.choice([16, 32])
                window = random.choice([0, 0, 1, 17, bs])
                for allow_flash in ([True, False] if dtype != torch.float32 else [False]):
                    check_prefill(dtype, h, hkv, d, bs, window, allow_flash, random.random() < 0.5, random.randint(1, 4))


# ---------------------------------------------------------------- norms, activation, rotary

def norm_cases():
    for dtype in DTYPES:
        for rows, hidden in [(1, 64), (7, 4096), (33, 5120), (3, 100)]:
            x = torch.randn(rows, hidden, device=DEV, dtype=dtype)
            w = (1 + 0.1 * torch.randn(hidden, device=DEV)).to(dtype)
            eps = 1e-6
            out = torch.empty_like(x)
            torch.ops.pipeline_native.rms_norm(out, x, w, eps)
            xd = x.double()
            ref = w.double() * xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + eps)
            report(f"rms_norm {NAMES[dtype]} [{rows},{hidden}]", out, ref, dtype)

            res = torch.randn(rows, hidden, device=DEV, dtype=dtype)
            x2, res2 = x.clone(), res.clone()
            torch.ops.pipeline_native.fused_add_rms_norm(x2, res2, w, eps)
            summed = x + res  # rounded to dtype, as the kernel does
            sd = summed.double()
            ref_x = w.double() * sd * torch.rsqrt(sd.pow(2).mean(-1, keepdim=True) + eps)
            report(f"fused_add_rms_norm.residual {NAMES[dtype]} [{rows},{hidden}]", res2, summed.double(), dtype)
            report(f"fused_add_rms_norm.x {NAMES[dtype]} [{rows},{hidden}]", x2, ref_x, dtype)
        # float32: the same numbers as transformers' LlamaRMSNorm order of operations, up to summation order
        if dtype == torch.float32:
            x = torch.randn(5, 4096, device=DEV)
            w = torch.randn(4096, device=DEV)
            out = torch.empty_like(x)
            torch.ops.pipeline_native.rms_norm(out, x, w, 1e-5)
            hf = w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))
            diff = float((out - hf).abs().max())
            report_bool("rms_norm f32 vs transformers order", diff < 1e-5, f"max_abs_diff={diff:.3e}")


def silu_cases():
    for dtype in DTYPES:
        for rows, inter in [(1, 64), (9, 14336), (4, 100)]:
            x = torch.randn(rows, 2 * inter, device=DEV, dtype=dtype) * 3
            out = torch.empty(rows, inter, device=DEV, dtype=dtype)
            torch.ops.pipeline_native.silu_and_mul(out, x)
            xd = x.double()
            ref = F.silu(xd[:, :inter]) * xd[:, inter:]
            report(f"silu_and_mul {NAMES[dtype]} [{rows},{2 * inter}]", out, ref, dtype, scale=3.0)


def cos_sin_cache(max_pos, rot, base=10000.0):
    inv = 1.0 / (base ** (torch.arange(0, rot, 2, dtype=torch.float32, device=DEV) / rot))
    freqs = torch.outer(torch.arange(max_pos, dtype=torch.float32, device=DEV), inv)
    return torch.cat([freqs.cos(), freqs.sin()], dim=-1).contiguous()


def rotate_ref(x, cs, rot, neox):
    """float64 rotary of x [T, heads, D] with cos/sin rows cs [T, rot]."""
    x = x.double().clone()
    half = rot // 2
    c = cs[:, None, :half].double()
    s = cs[:, None, half:].double()
    if neox:
        x1, x2 = x[..., :half].clone(), x[..., half:rot].clone()
        x[..., :half] = x1 * c - x2 * s
        x[..., half:rot] = x2 * c + x1 * s
    else:
        x1, x2 = x[..., 0:rot:2].clone(), x[..., 1:rot:2].clone()
        x[..., 0:rot:2] = x1 * c - x2 * s
        x[..., 1:rot:2] = x2 * c + x1 * s
    return x


def rotary_cases():
    for dtype in DTYPES:
        for h, hkv, d, rot, neox in [(8, 2, 128, 128, True), (4, 4, 64, 64, False), (8, 8, 16, 16, True),
                                     (4, 2, 64, 32, True), (32, 8, 128, 128, True)]:
            t, bs, num_blocks = 13, 16, 8
            qkv = torch.randn(t, (h + 2 * hkv) * d, device=DEV, dtype=dtype)  # q, k, v as strided views, as a model has
            q = qkv[:, :h * d].view(t, h, d)
            k = qkv[:, h * d:(h + hkv) * d].view(t, hkv, d)
            v = qkv[:, (h + hkv) * d:].view(t, hkv, d)
            q0, k0, v0 = q.clone(), k.clone(), v.clone()
            positions = torch.randint(0, 4000, (t,), device=DEV)
            cache = cos_sin_cache(4096, rot)
            kc = torch.zeros(num_blocks * bs, hkv, d, device=DEV, dtype=dtype)
            vc = torch.zeros_like(kc)
            slots = torch.randperm(num_blocks * bs, device=DEV)[:t]
            slots[random.randrange(t)] = -1  # a padding row
            torch.ops.pipeline_native.rotary_and_cache(q, k, v, positions, cache, kc, vc, slots, neox)
            cs = cache[positions]
            tag = f"{NAMES[dtype]} H={h} Hkv={hkv} D={d} rot={rot} {'neox' if neox else 'gptj'}"
            # the kernel rounds cos, sin and each product to the dtype, as transformers does: allow twice the rounding
            report(f"rotary.q {tag}", q, rotate_ref(q0, cs, rot, neox), dtype, scale=2.0)
            report(f"rotary.k {tag}", k, rotate_ref(k0, cs, rot, neox), dtype, scale=2.0)
            live = slots >= 0
            report(f"cache.k {tag}", kc[slots[live]], k.double()[live], torch.float32)  # exact copy of the new k
            report(f"cache.v {tag}", vc[slots[live]], v0.double()[live], torch.float32)
            untouched = torch.ones(kc.shape[0], dtype=torch.bool, device=DEV)
            untouched[slots[live]] = False
            report_bool(f"cache.untouched {tag}", bool((kc[untouched] == 0).all()) and bool((vc[untouched] == 0).all()))


# ---------------------------------------------------------------- CUDA graph capture / replay

def graph_case():
    dtype, h, hkv, d, bs, bsz, max_blocks = torch.bfloat16, 32, 8, 128, 16, 8, 64
    num_blocks = bsz * max_blocks
    kc, vc = make_cache(num_blocks, bs, hkv, d, dtype, False)
    bt = make_block_tables([max_blocks * bs] * bsz, bs, num_blocks, max_blocks, strided=False)
    seq_lens = torch.full((bsz,), 100, dtype=torch.int32, device=DEV)
    x = torch.randn(bsz, h * d, device=DEV, dtype=dtype)
    w = torch.randn(h * d, device=DEV, dtype=dtype)
    normed = torch.empty_like(x)
    out = torch.empty(bsz, h, d, device=DEV, dtype=dtype)
    scale = 1 / math.sqrt(d)

    def step():
        torch.ops.pipeline_native.rms_norm(normed, x, w, 1e-6)
        torch.ops.pipeline_native.paged_decode_attention(out, normed.view(bsz, h, d), kc, vc, bt, seq_lens, scale, 0, bs)

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    ok = True
    for trial in range(3):
        x.copy_(torch.randn_like(x))
        seq_lens.copy_(torch.randint(0, max_blocks * bs + 1, (bsz,), dtype=torch.int32, device=DEV))
        graph.replay()
        replayed = out.clone()
        step()
        torch.cuda.synchronize()
        ok &= bool(torch.equal(replayed, out))
    report_bool("graph capture/replay (rms_norm + paged decode) bit-identical to eager", ok)


# ---------------------------------------------------------------- timings

def bench_decode():
    print("\ndecode timings, Llama-3.1-8B shapes (H=32, Hkv=8, D=128, bf16, block 16), one layer:")
    h, hkv, d, bs, dtype = 32, 8, 128, 16, torch.bfloat16
    for ctx in (512, 2048):
        for bsz in (1, 64, 256):
            max_blocks = ctx // bs
            num_blocks = bsz * max_blocks
            kc, vc = make_cache(num_blocks, bs, hkv, d, dtype, False)
            bt = torch.randperm(num_blocks, device=DEV).int().view(bsz, max_blocks)
            seq_lens = torch.full((bsz,), ctx, dtype=torch.int32, device=DEV)
            q = torch.randn(bsz, h, d, device=DEV, dtype=dtype)
            out = torch.empty_like(q)
            scale = 1 / math.sqrt(d)

            def native():
                torch.ops.pipeline_native.paged_decode_attention(out, q, kc, vc, bt, seq_lens, scale, 0, bs)

            slots = (bt.long()[:, :, None] * bs + torch.arange(bs, device=DEV)).view(bsz, -1)

            def sdpa():
                k = kc[slots].transpose(1, 2)  # [B, Hkv, L, D]: the gather the eager path pays for
                v = vc[slots].transpose(1, 2)
                return F.scaled_dot_product_attention(q[:, :, None, :], k, v, scale=scale, enable_gqa=True)

            t_native = time_it(native)
            t_sdpa = time_it(sdpa)
            k = kc[slots].transpose(1, 2).contiguous()
            v = vc[slots].transpose(1, 2).contiguous()
            t_sdpa_only = time_it(lambda: F.scaled_dot_product_attention(q[:, :, None, :], k, v, scale=scale, enable_gqa=True))
            kv_bytes = 2 * bsz * ctx * hkv * d * 2
            print(f"  batch {bsz:4d} ctx {ctx:5d}: native {t_native * 1e3:8.1f} us ({kv_bytes / (t_native * 1e-3) / 1e9:7.0f} GB/s of K/V)"
                  f" | gather+SDPA {t_sdpa * 1e3:8.1f} us | SDPA on pre-gathered K/V {t_sdpa_only * 1e3:8.1f} us", flush=True)
            del kc, vc, k, v


def time_it(fn, iters=50):
    """Mean milliseconds per call, with CUDA events."""
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("so_path")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="head dims 16 and 128 only")
    ap.add_argument("--no-bench", action="store_true")
    args = ap.parse_args()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.ops.load_library(args.so_path)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, library {args.so_path}", flush=True)
    t0 = time.time()
    sections = [("decode", lambda: decode_cases(args.quick)), ("prefill", lambda: prefill_cases(args.quick)),
                ("norm", norm_cases), ("silu", silu_cases), ("rotary", rotary_cases), ("graph", graph_case)]
    global failed
    for name, fn in sections:
        try:
            fn()
        except Exception as e:  # a crash fails the section, the rest still run (unless the CUDA context is lost)
            failed += 1
            print(f"FAIL  {name}: {type(e).__name__}: {e}", flush=True)
    print(f"\n{passed} passed, {failed} failed ({time.time() - t0:.1f} s)", flush=True)
    if not args.no_bench:
        try:
            bench_decode()
        except Exception as e:
            print(f"benchmark failed: {type(e).__name__}: {e}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
