#!/usr/bin/env python3
"""On the GPU machine: Whisper latency on CUDA, Pipeline beside transformers in the same run (issue 22).

Usage (from the repo root, with the trimmed build for scripts/gpu/pipeline.sh):
    python3 scripts/gpu/whisper_bench.py OUT_DIR [SHAPE=small|large-v3 ...]
For each shape: a random WhisperForConditionalGeneration of the real checkpoint's dimensions and vocabulary size
(synthetic byte-level vocabulary with Whisper's special and timestamp tokens at their real ids), float16, saved
under /tmp (not OUT_DIR: it is large). The input is tests/fixtures/audio/en_16k_s16.wav (2.1 s of speech).
Measured, each forcing NEW tokens (min = max new tokens, language en, no timestamps), median of 5 after a warm-up:
  transformers: the encoder alone, and generate (sdpa, fp16, batch 1) end to end from features
  Pipeline:     `pipeline transcribe` with --timing: decode + features + encoder + NEW decode steps, one request
                at a time through the engine (the file given 6 times; the first run is the warm-up)
Writes OUT_DIR/whisper-bench.json and prints a summary line per shape. Each shape is in its own try/except.
"""
import json, os, re, statistics, subprocess, sys, time, traceback

import numpy as np
import torch
import transformers

OUT = sys.argv[1] if len(sys.argv) > 1 else "out/whisper-bench"
SHAPES = sys.argv[2:] or ["small", "large-v3"]
NEW = 64
CLIP = "tests/fixtures/audio/en_16k_s16.wav"
DIMS = {
    "small": dict(d_model=768, encoder_layers=12, decoder_layers=12, encoder_attention_heads=12, decoder_attention_heads=12,
                  encoder_ffn_dim=3072, decoder_ffn_dim=3072, num_mel_bins=80, vocab_size=51865, langs=99),
    "large-v3": dict(d_model=1280, encoder_layers=32, decoder_layers=32, encoder_attention_heads=20, decoder_attention_heads=20,
                     encoder_ffn_dim=5120, decoder_ffn_dim=5120, num_mel_bins=128, vocab_size=51866, langs=100),
}
LANGS = ["en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi", "fi", "vi",
         "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk",
         "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
         "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
         "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def save_model(shape, d):
    from tokenizers import Tokenizer, AddedToken, models, pre_tokenizers, decoders
    dims = dict(DIMS[shape])
    langs = LANGS[: dims.pop("langs")]
    b2u = bytes_to_unicode()
    words = [b2u[b] for b in range(256)] + [f"t{i}" for i in range(50257 - 256)]
    specials = ["<|endoftext|>", "<|startoftranscript|>"] + [f"<|{l}|>" for l in langs] + [
        "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
    stamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    assert len(words) + len(specials) + len(stamps) == dims["vocab_size"], (shape, len(words) + len(specials) + len(stamps))
    ids = {w: i for i, w in enumerate(words + specials + stamps)}
    tok = Tokenizer(models.BPE({w: i for i, w in enumerate(words)}, [], unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.add_tokens([AddedToken(s, special=False, normalized=False) for s in stamps])
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    config = transformers.WhisperConfig(max_source_positions=1500, max_target_positions=448, pad_token_id=eot, bos_token_id=eot,
                                        eos_token_id=eot, decoder_start_token_id=sot, **dims)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = transformers.WhisperForConditionalGeneration(config).to(torch.float16)
    gc = model.generation_config
    gc.decoder_start_token_id, gc.eos_token_id, gc.pad_token_id, gc.bos_token_id = sot, eot, eot, eot
    gc.is_multilingual = True
    gc.lang_to_id = {f"<|{l}|>": ids[f"<|{l}|>"] for l in langs}
    gc.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    gc.no_timestamps_token_id = ids["<|notimestamps|>"]
    gc.prev_sot_token_id = ids["<|startofprev|>"]
    gc.max_initial_timestamp_index = 50
    gc.suppress_tokens = [1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93]
    gc.begin_suppress_tokens = [32, eot]  # the space byte token and end of text, as the real checkpoints
    gc.forced_decoder_ids = None
    model.save_pretrained(d, safe_serialization=True)
    transformers.WhisperFeatureExtractor(feature_size=dims["num_mel_bins"]).save_pretrained(d)
    return model


def median_time(fn, n=5):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench(shape):
    d = f"/tmp/whisper-bench-{shape}"
    model = save_model(shape, d)
    model.eval()
    model.config._attn_implementation = "sdpa"
    pcm = np.fromfile(CLIP + ".16k.f32", dtype="<f4")
    fe = transformers.WhisperFeatureExtractor(feature_size=model.config.num_mel_bins)
    feats = torch.from_numpy(fe(pcm, sampling_rate=16000, return_tensors="np")["input_features"]).to("cuda", torch.float16)
    with torch.no_grad():
        enc = median_time(lambda: model.get_encoder()(feats))
        gen = median_time(lambda: model.generate(input_features=feats, language="en", task="transcribe", max_new_tokens=NEW,
                                                 min_new_tokens=NEW, do_sample=False, num_beams=1))
    del model
    torch.cuda.empty_cache()
    cmd = ["scripts/gpu/pipeline.sh", "transcribe", *([CLIP] * 6), "--model", d, "--language", "en", "--max-tokens", str(NEW),
           "--min-tokens", str(NEW), "--dtype", "float16", "--device", "cuda", "--timing", "--output", "json"]
    print("$", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    print(res.stderr[-4000:], flush=True)
    lat = [float(m.group(1)) for m in re.finditer(r"latency_s ([\d.]+)", res.stderr)]
    toks = [int(m.group(1)) for m in re.finditer(r"tokens (\d+)", res.stderr)]
    ours = statistics.median(lat[1:]) if len(lat) > 1 else None
    row = dict(shape=shape, new_tokens=NEW, transformers_encoder_s=enc, transformers_generate_s=gen, pipeline_request_s=ours,
               pipeline_tokens=toks, pipeline_exit=res.returncode, torch=torch.__version__, transformers=transformers.__version__,
               gpu=torch.cuda.get_device_name())
    print(f"{shape}: transformers encoder {enc * 1000:.1f} ms, generate {NEW} tokens {gen * 1000:.1f} ms; "
          f"pipeline transcribe (decode+features+encoder+{NEW} tokens) {ours * 1000 if ours else float('nan'):.1f} ms", flush=True)
    return row


def main():
    os.makedirs(OUT, exist_ok=True)
    rows, failed = [], []
    for shape in SHAPES:
        try:
            rows.append(bench(shape))
        except Exception:
            failed.append(shape)
            print(f"{shape}: FAILED\n{traceback.format_exc()}", flush=True)
    with open(os.path.join(OUT, "whisper-bench.json"), "w") as f:
        json.dump(rows, f, indent=1)
    if failed:
        print("failed: " + " ".join(failed), flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
