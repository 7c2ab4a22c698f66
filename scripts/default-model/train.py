#!/usr/bin/env python3
"""Trains the built-in default model on the GPU machine: a byte-level BPE tokenizer and a small LlamaForCausalLM
on the corpus made by fetch_corpus.sh, written as a standard Hugging Face model directory (bf16 safetensors,
tokenizer.json with a ChatML chat template, generation_config.json, README.md model card, SOURCES.md).
It keeps the checkpoint with the lowest held-out loss, then records held-out perplexity, sample generations and
the share of generated words found in the training corpus's word list (OUT/eval.json), and transformers' greedy
continuations of five prompts (OUT/greedy.json) for the Pipeline comparison test.
Usage: python3 scripts/default-model/train.py CORPUS_DIR OUT_DIR [--minutes 6]"""
import json, math, os, random, re, sys, time

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

CORPUS, OUT = sys.argv[1], sys.argv[2]
MINUTES = float(sys.argv[sys.argv.index("--minutes") + 1]) if "--minutes" in sys.argv else 6.0
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                 "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
PROMPTS = ["The President of the United States", "Call me Ishmael. Some years ago", "The Congress has",
           "The whale", "In the course of the year"]
SEQ, BATCH, VOCAB = 512, 64, 8192
DROPOUT = 0.2  # the corpus is small (2.5M tokens): without dropout held-out loss rises after ~600 steps
torch.manual_seed(0); random.seed(0)
dev = "cuda"


def documents(name):
    return [d for d in open(os.path.join(CORPUS, name), encoding="utf-8").read().split("\n\n") if d.strip()]


def chat_examples(docs, share=0.15):
    """Some paragraphs as ChatML turns (first sentence asked, the rest answered) so the chat template is known."""
    out = []
    for d in docs:
        for p in d.split("\n"):
            s = re.split(r"(?<=[.!?])\s+", p)
            if len(s) >= 3 and random.random() < share:
                out.append(f"<|im_start|>user\n{s[0]}<|im_end|>\n<|im_start|>assistant\n{' '.join(s[1:4])}<|im_end|>\n")
    return out


def train_tokenizer(texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def stream(tok, texts):
    eos = tok.token_to_id("<|endoftext|>")
    ids = []
    for enc in tok.encode_batch(texts):
        ids.extend(enc.ids); ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


def add_dropout(model, p):
    """Training-only dropout on the embedding output and on each attention/MLP branch before its residual add
    (LlamaForCausalLM has none of its own; hooks leave the saved architecture unchanged)."""
    def hook(module, inputs, output):
        return torch.nn.functional.dropout(output, p, training=module.training)
    for layer in model.model.layers:
        layer.self_attn.o_proj.register_forward_hook(hook)
        layer.mlp.down_proj.register_forward_hook(hook)
    model.model.embed_tokens.register_forward_hook(hook)


def held_out_loss(model, data, max_windows=400):
    model.eval(); total, n = 0.0, 0
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        starts = list(range(0, len(data) - SEQ - 1, SEQ))[:max_windows]
        for i in range(0, len(starts), BATCH):
            x = torch.stack([data[s:s + SEQ + 1] for s in starts[i:i + BATCH]]).to(dev)
            logits = model(input_ids=x[:, :-1]).logits.float()
            total += torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), x[:, 1:].reshape(-1), reduction="sum").item()
            n += x[:, 1:].numel()
    model.train()
    return total / n, n


def main():
    os.makedirs(OUT, exist_ok=True)
    train_docs, held_docs = documents("train.txt"), documents("heldout.txt")
    train_texts = train_docs + chat_examples(train_docs)
    random.shuffle(train_texts)
    t0 = time.time()
    tok = train_tokenizer(train_texts)
    tok.save(os.path.join(OUT, "tokenizer.json"))
    train_ids, held_ids = stream(tok, train_texts), stream(tok, held_docs)
    print(f"tokenizer: {tok.get_vocab_size()} tokens in {time.time() - t0:.1f}s; train {len(train_ids)} tokens, "
          f"held-out {len(held_ids)} tokens", flush=True)

    eos, im_end = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|im_end|>")
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=384, intermediate_size=1024, num_hidden_layers=6,
                         num_attention_heads=6, num_key_value_heads=2, head_dim=64, max_position_embeddings=1024,
                         rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=eos,
                         eos_token_id=eos, pad_token_id=eos, hidden_act="silu")
    model = LlamaForCausalLM(config).to(dev)
    add_dropout(model, DROPOUT)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {params / 1e6:.2f}M parameters", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1.5e-3, betas=(0.9, 0.95), fused=True)
    budget = MINUTES * 60
    max_steps, warmup = 3000, 100
    best, best_state, step, history = float("inf"), None, 0, []
    train_ids_dev = train_ids.to(dev)
    t0 = time.time()
    while step < max_steps and time.time() - t0 < budget:
        frac = step / max_steps
        lr = 1.5e-3 * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, len(train_ids_dev) - SEQ - 1, (BATCH,), device=dev)
        x = torch.stack([train_ids_dev[s:s + SEQ + 1] for s in starts.tolist()])
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=x[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, VOCAB), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 100 == 0:
            val, _ = held_out_loss(model, held_ids)
            history.append(dict(step=step, seconds=round(time.time() - t0, 1), train_loss=round(loss.item(), 4),
                                held_out_loss=round(val, 4)))
            print(json.dumps(history[-1]), flush=True)
            if val < best:
                best, best_state = val, {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model = model.to(torch.bfloat16)
    model.config.dtype = torch.bfloat16
    model.generation_config = GenerationConfig(bos_token_id=eos, eos_token_id=[eos, im_end], pad_token_id=eos)
    model.save_pretrained(OUT, safe_serialization=True)
    json.dump({"model_max_length": 1024, "eos_token": "<|endoftext|>", "bos_token": None, "pad_token": "<|endoftext|>",
               "unk_token": None, "add_bos_token": False, "add_eos_token": False, "clean_up_tokenization_spaces": False,
               "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": CHAT_TEMPLATE,
               "additional_special_tokens": ["<|im_start|>", "<|im_end|>"]},
              open(os.path.join(OUT, "tokenizer_config.json"), "w"), indent=2)
    json.dump({"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
               "additional_special_tokens": ["<|im_start|>", "<|im_end|>"]},
              open(os.path.join(OUT, "special_tokens_map.json"), "w"), indent=2)
    evaluate(OUT, held_docs, train_docs, history, params, step, time.time() - t0)


def words(text):
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def evaluate(out, held_docs, train_docs, history, params, steps, seconds):
    tok = transformers.AutoTokenizer.from_pretrained(out)
    # Reload what was written, as a user would, in float32 (the bf16 weights upcast exactly).
    model = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).to(dev).eval()
    held = torch.tensor([i for d in held_docs for i in tok(d)["input_ids"] + [tok.eos_token_id]])
    nll, n = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(held) - SEQ - 1, SEQ):
            x = held[s:s + SEQ + 1].unsqueeze(0).to(dev)
            logits = model(input_ids=x[:, :-1]).logits
            nll += torch.nn.functional.cross_entropy(logits[0], x[0, 1:], reduction="sum").item(); n += SEQ
    word_count = sum(len(words(d)) for d in held_docs)
    vocab = set(w for d in train_docs for w in words(d))
    greedy, samples, continuations = [], [], []
    for p in PROMPTS:
        ids = tok(p, return_tensors="pt")["input_ids"].to(dev)
        with torch.no_grad():
            g = model.generate(ids, max_new_tokens=32, do_sample=False, pad_token_id=tok.eos_token_id)
        new = g[0, ids.shape[1]:].tolist()
        greedy.append(dict(prompt=p, prompt_token_ids=ids[0].tolist(), token_ids=new, text=tok.decode(new)))
        continuations.append(tok.decode(new, skip_special_tokens=True))
        for seed in range(4):
            torch.manual_seed(seed)
            with torch.no_grad():
                s = model.generate(ids, max_new_tokens=64, do_sample=True, temperature=0.8, top_p=0.95, top_k=50,
                                   pad_token_id=tok.eos_token_id)
            text = tok.decode(s[0, ids.shape[1]:], skip_special_tokens=True)
            continuations.append(text); samples.append(p + text)
    generated = [w for t in continuations for w in words(t)]
    found = sum(w in vocab for w in generated)
    result = dict(parameters=params, steps=steps, train_seconds=round(seconds, 1), history=history,
                  held_out_tokens=n, held_out_token_perplexity=round(math.exp(nll / n), 3),
                  held_out_word_perplexity=round(math.exp(nll / (word_count * n / (len(held) - 1))), 3),
                  generated_words=len(generated), generated_words_in_corpus_word_list=found,
                  word_share=round(found / max(1, len(generated)), 4), corpus_word_list_size=len(vocab),
                  samples=samples, transformers=transformers.__version__, torch=torch.__version__,
                  gpu=torch.cuda.get_device_name())
    json.dump(result, open(os.path.join(out, "eval.json"), "w"), indent=1)
    json.dump(dict(transformers=transformers.__version__, dtype="float32", max_new_tokens=32, prompts=greedy),
              open(os.path.join(out, "greedy.json"), "w"), indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=1), flush=True)
    for g in greedy:
        print(repr(g["prompt"]), "->", repr(g["text"]), flush=True)


if __name__ == "__main__":
    main()
