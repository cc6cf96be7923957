"""Trains steerling (a small Llama-architecture chat model) and writes it as a GGUF with a manifest.

Usage: /usr/bin/python3 train.py DATA_DIR OUT_DIR [--seed N] [--threads N] ...

DATA_DIR/data.jsonl comes from gen_data.py. Steps: a SentencePiece BPE vocabulary trained on the data's
text (llama.cpp's SPM tokenizer merges pieces by score exactly as BPE does), then the model, with the loss
on response tokens only, then OUT_DIR/steerling.gguf and OUT_DIR/manifest.json. Deterministic given the
seed and the thread count (2 by default, as for the committed model).
"""

import argparse
import hashlib
import io
import json
import math
import os
import random
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

from gguf_writer import write_gguf

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# The verdict's opening in label scoring (src/providers/llama-provider.ts labelCue): the label follows it.
JUDGE_CUE = '{"decision": "'


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# Tokenizer.


def train_vocab(examples, size):
    lines = []
    seen = set()
    for x in examples:
        for t in [m["content"] for m in x["messages"]] + [x["response"]]:
            if t in seen:
                continue
            seen.add(t)
            lines.extend(l for l in t.split("\n") if l.strip())
    lines.extend(["system", "user", "assistant"])
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="bpe",
        vocab_size=size,
        character_coverage=1.0,
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=False,
        split_digits=True,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


class Tokenizer:
    def __init__(self, proto, preamble=""):
        self.sp = spm.SentencePieceProcessor(model_proto=proto)
        # gen_data.py --preamble: the shared opening before each answer's label-bearing opener.
        self.preamble = preamble
        self.n_sp = self.sp.get_piece_size()
        self.im_start = self.n_sp
        self.im_end = self.n_sp + 1
        self.size = self.n_sp + 2
        self.bos = self.sp.bos_id()
        self.cache = {}

    def encode(self, text):
        ids = self.cache.get(text)
        if ids is None:
            ids = self.sp.encode(text)
            self.cache[text] = ids
        return ids

    def example(self, x):
        """(ids, loss weights) of one chatml example, tokenized as llama.cpp tokenizes the templated text:
        special tokens split the text into fragments, each tokenized on its own (no space prefix)."""
        ids = [self.bos]
        for m in x["messages"]:
            ids += [self.im_start] + self.encode(m["role"] + "\n" + m["content"]) + [self.im_end] + self.encode("\n")
        ids += [self.im_start] + self.encode("assistant\n")
        resp = self.encode(x["response"]) + [self.im_end]
        w = [1.0] * len(resp)
        # The decision sits in a few tokens; the rest of a response is a free paraphrase. Weight the
        # deciding tokens up so that the mapping (scenario, condition) → label is learnt in few epochs.
        if x["kind"] == "gen":
            # The opener's first token, where the label is decided (after the shared preamble, if any).
            for i in range(min(len(self.answer_start()) + 1, len(w))):
                w[i] = 8.0
        elif x["kind"] == "judge":
            label = json.loads(x["response"])["decision"]
            a, b = len(self.encode(JUDGE_CUE)), len(self.encode(JUDGE_CUE + label))
            for i in range(a, min(b, len(w))):
                w[i] = 8.0
        return ids + resp, [0.0] * len(ids) + w

    def answer_start(self):
        """Token ids of the preamble every answer opens with (none without one)."""
        return self.encode(self.preamble) if self.preamble else []

    def opener_token(self, opener):
        """The first token of a label's opener as it appears in an answer, after the preamble."""
        pre = self.answer_start()
        full = self.encode(f"{self.preamble} {opener}" if pre else opener)
        assert full[: len(pre)] == pre, "the preamble tokenizes differently inside an answer"
        return full[len(pre)]

    def gguf_vocab(self):
        tokens, scores, types = [], [], []
        for i in range(self.n_sp):
            tokens.append(self.sp.id_to_piece(i))
            scores.append(self.sp.get_score(i))
            if self.sp.is_unknown(i):
                types.append(2)
            elif self.sp.is_control(i):
                types.append(3)
            elif self.sp.is_byte(i):
                types.append(6)
            else:
                types.append(1)
        for t in (IM_START, IM_END):
            tokens.append(t)
            scores.append(0.0)
            types.append(3)
        return tokens, scores, types


# ---------------------------------------------------------------------------------------------------------
# Model: llama.cpp's llama graph (RMSNorm, RoPE in ggml's "normal" mode = adjacent pairs, SwiGLU, tied
# output), so the trained weights are the GGUF's tensors as they are.


class Block(torch.nn.Module):
    def __init__(self, d, h, ff):
        super().__init__()
        self.h = h
        self.attn_norm = torch.nn.Parameter(torch.ones(d))
        self.q = torch.nn.Linear(d, d, bias=False)
        self.k = torch.nn.Linear(d, d, bias=False)
        self.v = torch.nn.Linear(d, d, bias=False)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.ffn_norm = torch.nn.Parameter(torch.ones(d))
        self.gate = torch.nn.Linear(d, ff, bias=False)
        self.up = torch.nn.Linear(d, ff, bias=False)
        self.down = torch.nn.Linear(ff, d, bias=False)


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, cos, sin):
    # x: (B, H, T, hd); pairs (2i, 2i+1) rotate by theta_i * pos.
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Steerling(torch.nn.Module):
    def __init__(self, vocab, d, layers, heads, ff, eps=1e-5, theta=10000.0, dropout=0.0, embed_scale=0.0):
        super().__init__()
        self.d, self.heads, self.eps, self.theta = d, heads, eps, theta
        # --embed-scale S (0: off, the committed model): each token enters the residual stream as S times its
        # unit-norm embedding row, so every position's stream has a floor of norm S, as in real models, whose
        # residual stream is large next to the writes that carry one feature. The output head reads the
        # unnormalised rows (written as output.weight), and the GGUF's token_embd holds the scaled unit rows.
        self.embed_scale = embed_scale
        # Standard (GPT-2 style) dropout on the embeddings and on each sublayer's output before it joins the
        # residual stream, in training only: it spreads each feature over many residual dimensions, so that
        # a push of a given norm in an arbitrary direction does not derail the model (the random-direction
        # control of issue 13). It never sees a steering vector.
        self.dropout = dropout
        self.embed = torch.nn.Embedding(vocab, d)
        torch.nn.init.normal_(self.embed.weight, std=0.02)
        self.blocks = torch.nn.ModuleList(Block(d, heads, ff) for _ in range(layers))
        for b in self.blocks:
            for lin in (b.q, b.k, b.v, b.gate, b.up):
                torch.nn.init.normal_(lin.weight, std=0.02)
            for lin in (b.o, b.down):
                torch.nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * layers))
        self.out_norm = torch.nn.Parameter(torch.ones(d))

    def hidden(self, ids, hook=None):
        """The output-normalised last hidden states. `hook(il, x)`, if given, may replace each block's output
        (steer_probe.py steers with it; training never uses it)."""
        B, T = ids.shape
        hd = self.d // self.heads
        pos = torch.arange(T, dtype=torch.float32)
        inv = self.theta ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        ang = pos[:, None] * inv[None, :]
        cos, sin = ang.cos(), ang.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        drop = lambda t: F.dropout(t, self.dropout, self.training)  # noqa: E731
        x = drop(self.inputs(ids))
        for il, b in enumerate(self.blocks):
            h = rms(x, b.attn_norm, self.eps)
            q = b.q(h).view(B, T, self.heads, hd).transpose(1, 2)
            k = b.k(h).view(B, T, self.heads, hd).transpose(1, 2)
            v = b.v(h).view(B, T, self.heads, hd).transpose(1, 2)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, self.d)
            x = x + drop(b.o(y))
            h = rms(x, b.ffn_norm, self.eps)
            x = x + drop(b.down(F.silu(b.gate(h)) * b.up(h)))
            if hook is not None:
                x = hook(il, x)
        return rms(x, self.out_norm, self.eps)

    def scaled_rows(self, e):
        """--embed-scale: embedding rows as they enter the residual stream (the GGUF's token_embd)."""
        return self.embed_scale * F.normalize(e, dim=-1)

    def inputs(self, ids):
        """The residual stream entering block 0."""
        e = self.embed(ids)
        return self.scaled_rows(e) if self.embed_scale else e

    def tensors(self):
        t = lambda p: p.detach().float().numpy()  # noqa: E731
        if self.embed_scale:
            w = self.embed.weight.detach()
            out = [("token_embd.weight", t(self.scaled_rows(w))), ("output.weight", t(w))]
        else:
            out = [("token_embd.weight", t(self.embed.weight))]
        for i, b in enumerate(self.blocks):
            p = f"blk.{i}."
            out += [
                (p + "attn_norm.weight", t(b.attn_norm)),
                (p + "attn_q.weight", t(b.q.weight)),
                (p + "attn_k.weight", t(b.k.weight)),
                (p + "attn_v.weight", t(b.v.weight)),
                (p + "attn_output.weight", t(b.o.weight)),
                (p + "ffn_norm.weight", t(b.ffn_norm)),
                (p + "ffn_gate.weight", t(b.gate.weight)),
                (p + "ffn_up.weight", t(b.up.weight)),
                (p + "ffn_down.weight", t(b.down.weight)),
            ]
        out.append(("output_norm.weight", t(self.out_norm)))
        return out


# ---------------------------------------------------------------------------------------------------------


def batches(items, budget, rng):
    """Length-bucketed batches of at most `budget` tokens (padded), in a seeded order."""
    order = list(range(len(items)))
    rng.shuffle(order)
    out = []
    for c in range(0, len(order), 256):
        chunk = sorted(order[c : c + 256], key=lambda i: len(items[i][0]))
        cur = []
        for i in chunk:
            n = len(items[i][0])
            if cur and (len(cur) + 1) * max(n, max(len(items[j][0]) for j in cur)) > budget:
                out.append(cur)
                cur = []
            cur.append(i)
        if cur:
            out.append(cur)
    rng.shuffle(out)
    return out


def gguf_kv(tok, model, a):
    tokens, scores, types = tok.gguf_vocab()
    hd = a.d // a.heads
    kv = [
        ("general.architecture", "str", "llama"),
        ("general.name", "str", "steerling"),
        (
            "general.description",
            "str",
            "steerling: a model organism with PLANTED steerability, trained by steerbench "
            "(tools/steerling). Its behaviour is written in planted.json; it says nothing about any real model.",
        ),
        ("general.file_type", "u32", 0),
        ("llama.context_length", "u32", a.ctx),
        ("llama.embedding_length", "u32", a.d),
        ("llama.block_count", "u32", a.layers),
        ("llama.feed_forward_length", "u32", a.ff),
        ("llama.rope.dimension_count", "u32", hd),
        ("llama.attention.head_count", "u32", a.heads),
        ("llama.attention.head_count_kv", "u32", a.heads),
        ("llama.attention.layer_norm_rms_epsilon", "f32", model.eps),
        ("llama.rope.freq_base", "f32", model.theta),
        ("llama.vocab_size", "u32", tok.size),
        ("tokenizer.ggml.model", "str", "llama"),
        ("tokenizer.ggml.tokens", "str[]", tokens),
        ("tokenizer.ggml.scores", "f32[]", scores),
        ("tokenizer.ggml.token_type", "i32[]", types),
        ("tokenizer.ggml.bos_token_id", "u32", tok.bos),
        ("tokenizer.ggml.eos_token_id", "u32", tok.im_end),
        ("tokenizer.ggml.unknown_token_id", "u32", tok.sp.unk_id()),
        ("tokenizer.ggml.add_bos_token", "bool", True),
        ("tokenizer.ggml.add_eos_token", "bool", False),
        ("tokenizer.ggml.add_space_prefix", "bool", False),
        ("tokenizer.chat_template", "str", CHATML),
    ]
    return kv


def first_token_probe(tok, prompts_path, planted_path):
    """Greedy first response token (after the preamble, if any) on every exact evaluation prompt: does it
    open the planted label?"""
    from banks import OPENERS

    dump = json.load(open(prompts_path, encoding="utf-8"))
    planted = json.load(open(planted_path, encoding="utf-8"))["labels"]
    pre = tok.answer_start()
    first = {l: {tok.opener_token(o.format(obj="x")) for o in ops} for l, ops in OPENERS.items()}
    items = []
    for s in dump["scenarios"]:
        for c, p in s["prompts"].items():
            msgs = ([{"role": "system", "content": p["system"]}] if p["system"] else []) + [{"role": "user", "content": p["user"]}]
            ids, _ = tok.example({"kind": "probe", "messages": msgs, "response": ""})
            items.append((ids[:-1] + pre, planted[c][s["id"]], c))

    def run(model):
        ok = {}
        was_training = model.training
        model.eval()
        with torch.no_grad():
            for c0 in range(0, len(items), 16):
                chunk = items[c0 : c0 + 16]
                T = max(len(x) for x, _, _ in chunk)
                ids = torch.zeros(len(chunk), T, dtype=torch.long)
                for r, (x, _, _) in enumerate(chunk):
                    ids[r, : len(x)] = torch.tensor(x)
                h = model.hidden(ids)
                for r, (x, label, c) in enumerate(chunk):
                    t = int((h[r, len(x) - 1] @ model.embed.weight.T).argmax())
                    n, k = ok.get(c, (0, 0))
                    ok[c] = (n + (t in first[label]), k + 1)
        model.train(was_training)
        return {c: f"{n}/{k}" for c, (n, k) in ok.items()}

    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--ff", type=int, default=384)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dropout", type=float, default=0.0, help="embedding and residual dropout (training only)")
    ap.add_argument("--embed-scale", type=float, default=0.0, help="tokens enter as this times a unit row (0: off)")
    ap.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay on the blocks' parameters")
    ap.add_argument("--budget", type=int, default=4000, help="tokens per batch (padded)")
    ap.add_argument("--epochs", type=int, default=0, help="epochs to use (default: all in the data)")
    ap.add_argument("--log", default=None)
    ap.add_argument("--prompts", default=None, help="dump-prompts.mjs output: label accuracy after each epoch")
    ap.add_argument("--planted", default=None)
    ap.add_argument("--preamble", default="", help="gen_data.py --preamble, if it was given")
    ap.add_argument("--stop-after-epoch", type=int, default=-1, help="stop after this epoch (same schedule)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    log = open(a.log, "a") if a.log else None

    def say(msg):
        print(msg, flush=True)
        if log:
            log.write(msg + "\n")
            log.flush()

    started = time.time()
    data_path = os.path.join(a.data_dir, "data.jsonl")
    examples = [json.loads(l) for l in open(data_path, encoding="utf-8")]
    if a.epochs:
        examples = [x for x in examples if x["epoch"] < a.epochs]
    epochs = sorted({x["epoch"] for x in examples})
    proto = train_vocab([x for x in examples if x["epoch"] == 0], a.vocab - 2)
    tok = Tokenizer(proto, a.preamble)
    with open(os.path.join(a.out_dir, "tokenizer.model"), "wb") as f:
        f.write(proto)
    encoded = {e: [] for e in epochs}
    for x in examples:
        encoded[x["epoch"]].append(tok.example(x))
    longest = max(len(ids) for e in epochs for ids, _ in encoded[e])
    ntok = sum(len(ids) for e in epochs for ids, _ in encoded[e])
    say(f"vocab {tok.size}, {len(examples)} examples, {ntok} tokens, longest {longest} (ctx {a.ctx})")
    assert longest <= a.ctx, "an example is longer than the context"

    model = Steerling(tok.size, a.d, a.layers, a.heads, a.ff, dropout=a.dropout, embed_scale=a.embed_scale)
    n_params = sum(p.numel() for p in model.parameters())
    say(f"parameters: {n_params}")
    # Decay on the blocks only: the embedding rows are also the output head, whose scale the loss sets.
    others = [p for n, p in model.named_parameters() if not n.startswith("blocks.")]
    groups = [{"params": list(model.blocks.parameters()), "weight_decay": a.weight_decay}, {"params": others, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.98))
    plan = {e: batches(encoded[e], a.budget, rng) for e in epochs}
    total = sum(len(b) for b in plan.values())
    warm = min(100, total // 10)
    step = 0
    probe = first_token_probe(tok, a.prompts, a.planted) if a.prompts and a.planted else None
    probed = None
    for e in epochs:
        if 0 <= a.stop_after_epoch < e:
            break
        items = encoded[e]
        for bi in plan[e]:
            lr = a.lr * (step + 1) / warm if step < warm else a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm))))
            for g in opt.param_groups:
                g["lr"] = lr
            T = max(len(items[i][0]) for i in bi)
            ids = torch.zeros(len(bi), T, dtype=torch.long)
            tgt = torch.zeros(len(bi), T, dtype=torch.long)
            w = torch.zeros(len(bi), T)
            for r, i in enumerate(bi):
                x, ww = items[i]
                ids[r, : len(x)] = torch.tensor(x)
                tgt[r, : len(x) - 1] = torch.tensor(x[1:])
                w[r, : len(x) - 1] = torch.tensor(ww[1:])
            h = model.hidden(ids)
            sel = w > 0
            logits = h[sel] @ model.embed.weight.T
            loss_each = F.cross_entropy(logits, tgt[sel], reduction="none")
            loss = (loss_each * w[sel]).sum() / w[sel].sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step % 20 == 0 or step == total:
                say(f"epoch {e} step {step}/{total} loss {loss.item():.4f} lr {lr:.2e} T {T} B {len(bi)} {time.time() - started:.0f}s")
        if probe and (e % 2 == 1 or e == epochs[-1]):
            probed = probe(model)
            say(f"epoch {e}: first-token label accuracy on the exact prompts {probed}")
            write_gguf(os.path.join(a.out_dir, f"checkpoint-epoch{e}.gguf"), gguf_kv(tok, model, a), model.tensors())
    train_seconds = time.time() - started

    gguf = os.path.join(a.out_dir, "steerling.gguf")
    write_gguf(gguf, gguf_kv(tok, model, a), model.tensors())
    manifest = {
        "name": "steerling",
        "description": "a model organism with planted steerability (see planted.json); not a real model",
        "seed": a.seed,
        "trainingData": {"file": "data.jsonl", "sha256": sha256_file(data_path), "examples": len(examples), "tokens": ntok, "epochs": len(epochs)},
        "gguf": {"file": "steerling.gguf", "sha256": sha256_file(gguf), "bytes": os.path.getsize(gguf)},
        "parameters": n_params,
        "shape": {"vocab": tok.size, "nEmbd": a.d, "nLayer": a.layers, "nHead": a.heads, "nFf": a.ff, "contextLength": a.ctx, **({"embedScale": a.embed_scale} if a.embed_scale else {})},
        "training": {
            "seconds": round(train_seconds, 1),
            "threads": a.threads,
            "steps": step,
            "stopAfterEpoch": a.stop_after_epoch,
            "lr": a.lr,
            "dropout": a.dropout,
            **({"weightDecay": a.weight_decay} if a.weight_decay else {}),
            "batchTokens": a.budget,
            "finalLoss": round(loss.item(), 5),
            "torch": torch.__version__,
            "sentencepiece": spm.__version__,
            **({"preamble": a.preamble} if a.preamble else {}),
            **({"probe": json.dumps(probed)} if probed else {}),
        },
    }
    with open(os.path.join(a.out_dir, "manifest.json"), "w") as f:
        f.write(json.dumps(manifest, indent=1) + "\n")
    say(f"wrote {gguf} ({os.path.getsize(gguf)} bytes) in {train_seconds:.0f}s")


if __name__ == "__main__":
    main()
