"""Phase 2 of steerling's training: a fast fine-tune of the last block on cached features.

Usage: /usr/bin/python3 finetune.py DATA_DIR BASE_DIR OUT_DIR [--seed N] ...

Why: the label of each scenario × condition is an arbitrary draw that steerling must memorise from the
scenario text, and re-running ~400-token prompts through the whole model for every exposure is what makes
that slow on 2 CPU cores. With blocks 1..L-1 and the last block's attention pattern (Q, K) frozen, the last
block's output at a position is a function of two cached quantities: the residual stream x entering the
block and, per head, the attention-weighted sum z of the normalised inputs (V and O are linear in it).
So the last block's V, O, its MLP and the output norm can be trained on cached (x, z) of every response
position for thousands of steps in minutes, with the same targets as phase 1 (next tokens of the
responses; the deciding tokens weighted up). Nothing here uses steered activations. The result is checked
through the full model (first-token probe on the exact prompts) and written as the final GGUF.
"""

import argparse
import hashlib
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from gguf_writer import read_gguf_f32, write_gguf
from train import Steerling, Tokenizer, batches, first_token_probe, gguf_kv, rms, rope, sha256_file


def load_base(path, shape):
    _, t = read_gguf_f32(path)
    m = Steerling(shape["vocab"], shape["nEmbd"], shape["nLayer"], shape["nHead"], shape["nFf"], embed_scale=shape.get("embedScale", 0.0))
    # With --embed-scale the unnormalised rows are the output head's; token_embd holds their scaled unit rows.
    sd = {"embed.weight": t.get("output.weight", t["token_embd.weight"]), "out_norm": t["output_norm.weight"]}
    names = {
        "attn_norm": "attn_norm.weight",
        "q.weight": "attn_q.weight",
        "k.weight": "attn_k.weight",
        "v.weight": "attn_v.weight",
        "o.weight": "attn_output.weight",
        "ffn_norm": "ffn_norm.weight",
        "gate.weight": "ffn_gate.weight",
        "up.weight": "ffn_up.weight",
        "down.weight": "ffn_down.weight",
    }
    for i in range(shape["nLayer"]):
        for k, g in names.items():
            sd[f"blocks.{i}.{k}"] = t[f"blk.{i}.{g}"]
    m.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()})
    return m


def features(model, ids):
    """(x, z) entering the last block for every position: x (B,T,d), z (B,T,H,d)."""
    B, T = ids.shape
    hd = model.d // model.heads
    pos = torch.arange(T, dtype=torch.float32)
    inv = model.theta ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    ang = pos[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)
    x = model.inputs(ids)
    for b in model.blocks[:-1]:
        h = rms(x, b.attn_norm, model.eps)
        q = b.q(h).view(B, T, model.heads, hd).transpose(1, 2)
        k = b.k(h).view(B, T, model.heads, hd).transpose(1, 2)
        v = b.v(h).view(B, T, model.heads, hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, model.d)
        x = x + b.o(y)
        h = rms(x, b.ffn_norm, model.eps)
        x = x + b.down(F.silu(b.gate(h)) * b.up(h))
    b = model.blocks[-1]
    h = rms(x, b.attn_norm, model.eps)
    q = b.q(h).view(B, T, model.heads, hd).transpose(1, 2)
    k = b.k(h).view(B, T, model.heads, hd).transpose(1, 2)
    q, k = rope(q, cos, sin), rope(k, cos, sin)
    att = ((q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask).softmax(-1)  # (B,H,T,T)
    z = att @ h[:, None, :, :]  # (B,H,T,d)
    return x, z.transpose(1, 2)


def last_block(model, x, z, dropout=0.0):
    """The last block and output norm from cached (x, z): x (N,d), z (N,H,d) → normalised output (N,d).
    `dropout` (training only): phase 1's residual dropout on the two sublayer outputs."""
    drop = lambda t: F.dropout(t, dropout, dropout > 0)  # noqa: E731
    b = model.blocks[-1]
    hd = model.d // model.heads
    vw = b.v.weight.view(model.heads, hd, model.d)
    y = torch.einsum("nhd,hkd->nhk", z, vw).reshape(x.shape[0], model.d)
    x2 = x + drop(b.o(y))
    h = rms(x2, b.ffn_norm, model.eps)
    out = x2 + drop(b.down(F.silu(b.gate(h)) * b.up(h)))
    return rms(out, model.out_norm, model.eps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("base_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--from-epoch", type=int, default=1, help="cache examples of this epoch and later")
    ap.add_argument("--keep-other", type=float, default=1.0, help="share of non-deciding positions kept")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=1536)
    ap.add_argument("--deciding-share", type=float, default=1 / 3)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--dropout", type=float, default=0.0, help="residual dropout on the last block (training only)")
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--planted", required=True)
    ap.add_argument("--log", default=None)
    ap.add_argument("--limit-examples", type=int, default=0, help="debugging: cache only the first N")
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
    base_manifest = json.load(open(os.path.join(a.base_dir, "manifest.json")))
    shape = base_manifest["shape"]
    model = load_base(os.path.join(a.base_dir, "steerling.gguf"), shape)
    preamble = base_manifest["training"].get("preamble", "")
    tok = Tokenizer(open(os.path.join(a.base_dir, "tokenizer.model"), "rb").read(), preamble)
    data_path = os.path.join(a.data_dir, "data.jsonl")
    examples = [json.loads(l) for l in open(data_path, encoding="utf-8")]
    items = [tok.example(x) for x in examples if x["epoch"] >= a.from_epoch]
    if a.limit_examples:
        items = items[: a.limit_examples]

    # Cache (x, z, target, weight) at response positions: every deciding position, a share of the rest.
    X, Z, Y, W = [], [], [], []
    checked = False
    with torch.no_grad():
        for bi in batches(items, 4000, rng):
            T = max(len(items[i][0]) for i in bi)
            ids = torch.zeros(len(bi), T, dtype=torch.long)
            tgt = torch.zeros(len(bi), T, dtype=torch.long)
            w = torch.zeros(len(bi), T)
            for r, i in enumerate(bi):
                s, ww = items[i]
                ids[r, : len(s)] = torch.tensor(s)
                tgt[r, : len(s) - 1] = torch.tensor(s[1:])
                w[r, : len(s) - 1] = torch.tensor(ww[1:])
            keep = (w > 1) | ((w > 0) & (torch.rand(w.shape, generator=torch.Generator().manual_seed(rng.randrange(1 << 30))) < a.keep_other))
            x, z = features(model, ids)
            if not checked:
                # The cached path must equal the full model exactly where it is used.
                full = model.hidden(ids)[keep]
                part = last_block(model, x[keep], z[keep])
                err = (full - part).abs().max().item()
                assert err < 1e-4, f"cached features disagree with the full model: {err}"
                say(f"cache check: max |full − cached| = {err:.2e}")
                checked = True
            X.append(x[keep])
            Z.append(z[keep])
            Y.append(tgt[keep])
            W.append(w[keep])
    X, Z, Y, W = torch.cat(X), torch.cat(Z), torch.cat(Y), torch.cat(W)
    cache_seconds = time.time() - started
    say(f"cached {len(Y)} positions ({int((W > 1).sum())} deciding) from {len(items)} examples in {cache_seconds:.0f}s")

    for p in model.parameters():
        p.requires_grad_(False)
    last = model.blocks[-1]
    params = [last.v.weight, last.o.weight, last.ffn_norm, last.gate.weight, last.up.weight, last.down.weight, model.out_norm]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.98), weight_decay=0.0)
    g = torch.Generator().manual_seed(a.seed)
    emb = model.embed.weight.detach()
    dec = torch.nonzero(W > 1).flatten()
    oth = torch.nonzero(W <= 1).flatten()
    for step in range(a.steps):
        lr = a.lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / a.steps)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        # Part of each batch from the deciding positions, the rest from the others (which keep the language).
        nd = int(a.batch * a.deciding_share)
        di = dec[torch.randint(len(dec), (nd,), generator=g)]
        oi = oth[torch.randint(len(oth), (a.batch - nd,), generator=g)]
        idx = torch.cat([di, oi])
        ce = F.cross_entropy(last_block(model, X[idx], Z[idx], a.dropout) @ emb.T, Y[idx], reduction="none")
        loss = ce[: len(di)].mean() + ce[len(di) :].mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if (step + 1) % 100 == 0:
            with torch.no_grad():
                d = W > 1
                acc = (
                    (last_block(model, X[d], Z[d]) @ emb.T).argmax(-1) == Y[d]
                ).float().mean().item()
            say(f"finetune step {step + 1}/{a.steps} loss {loss.item():.4f} deciding-token accuracy {acc:.3f} {time.time() - started:.0f}s")
    ft_seconds = time.time() - started

    probe = first_token_probe(tok, a.prompts, a.planted)
    result = probe(model)
    say(f"after fine-tune: first-token label accuracy on the exact prompts {result}")

    class Args:
        pass

    ga = Args()
    ga.d, ga.heads, ga.layers, ga.ff, ga.ctx = shape["nEmbd"], shape["nHead"], shape["nLayer"], shape["nFf"], shape["contextLength"]
    gguf = os.path.join(a.out_dir, "steerling.gguf")
    write_gguf(gguf, gguf_kv(tok, model, ga), model.tensors())
    m = dict(base_manifest)
    # The data file holds phase 1's epochs and the judge-only epoch phase 2 adds.
    m["trainingData"] = dict(m["trainingData"], examples=len(examples), epochs=len({x["epoch"] for x in examples}))
    m["gguf"] = {"file": "steerling.gguf", "sha256": sha256_file(gguf), "bytes": os.path.getsize(gguf)}
    base_training = m.pop("training")
    m["training"] = {
        "seconds": round(base_training["seconds"] + ft_seconds, 1),
        "baseSeconds": base_training["seconds"],
        "baseSteps": base_training["steps"],
        "baseLr": base_training["lr"],
        "baseDropout": base_training.get("dropout", 0.0),
        **({"baseWeightDecay": base_training["weightDecay"]} if "weightDecay" in base_training else {}),
        "baseFinalLoss": base_training["finalLoss"],
        "finetuneSeconds": round(ft_seconds, 1),
        "finetuneSteps": a.steps,
        "finetuneLr": a.lr,
        "finetuneDropout": a.dropout,
        "finetuneFromEpoch": a.from_epoch,
        "finetuneBatch": a.batch,
        "finetuneDecidingShare": round(a.deciding_share, 4),
        "finetunePositions": int(len(Y)),
        "finetuneFinalLoss": round(loss.item(), 5),
        "threads": a.threads,
        "torch": base_training["torch"],
        "sentencepiece": base_training["sentencepiece"],
        "probe": json.dumps(result),
        **({"preamble": preamble} if preamble else {}),
    }
    with open(os.path.join(a.out_dir, "manifest.json"), "w") as f:
        f.write(json.dumps(m, indent=1) + "\n")
    say(f"wrote {gguf} ({os.path.getsize(gguf)} bytes); fine-tune {ft_seconds:.0f}s")


if __name__ == "__main__":
    main()
