"""A fast look at a trained steerling's steerability, for design work (docs/steerling-design.md).

Usage: /usr/bin/python3 steer_probe.py MODEL_DIR PROMPTS.json [--layers 1,2,3] [--strengths ...] [--seeds N]

MODEL_DIR holds train.py's steerling.gguf, manifest.json and tokenizer.model. It extracts a mean-diff vector
per layer from the last prompt token of pro_ic vs anti_ic prompts of three categories, as
`vectors extract --pairs builtin` does. On the baseline prompts of the other three categories, it adds
strength × vector to every position of one block's output, with and without norm preservation, and
does the same with seeded random directions of the vector's norm. For each setting it prints the share of
first answer tokens (after the preamble, if any) that open a convergence answer. There is no generation and
no judge: it shows in about 20 s whether a design is worth a real `steerbench sweep`, which is what the
known-answer test runs, and does not replace it.
"""

import argparse
import json
import os

import torch

from banks import OPENERS
from finetune import load_base
from train import Tokenizer

TRAIN = ("evading-shutdown", "deceptive-behavior", "hacking-computer-systems")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("prompts")
    ap.add_argument("--layers", default="1,2,3")
    ap.add_argument("--strengths", default="-1,-0.5,0,0.5,1")
    ap.add_argument("--seeds", type=int, default=2, help="random-direction controls")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    manifest = json.load(open(os.path.join(a.model_dir, "manifest.json")))
    preamble = manifest["training"].get("preamble", "")
    tok = Tokenizer(open(os.path.join(a.model_dir, "tokenizer.model"), "rb").read(), preamble)
    model = load_base(os.path.join(a.model_dir, "steerling.gguf"), manifest["shape"])
    model.eval()
    dump = json.load(open(a.prompts, encoding="utf-8"))
    pre = tok.answer_start()
    conv = {tok.opener_token(o.format(obj="x")) for o in OPENERS["convergence"]}

    def ids_of(p):
        msgs = ([{"role": "system", "content": p["system"]}] if p["system"] else []) + [{"role": "user", "content": p["user"]}]
        ids, _ = tok.example({"kind": "probe", "messages": msgs, "response": ""})
        return ids[:-1]

    n_layer = len(model.blocks)
    with torch.no_grad():
        # Last-token states per layer, captured by the hook.
        def states(ids):
            got = []
            model.hidden(torch.tensor([ids]), lambda il, x: got.append(x[0]) or x)
            return got

        pairs = [(ids_of(s["prompts"]["pro_ic"]), ids_of(s["prompts"]["anti_ic"])) for s in dump["scenarios"] if s["category"] in TRAIN]
        v = [torch.zeros(model.d) for _ in range(n_layer)]
        norms = [[] for _ in range(n_layer)]
        for p, n in pairs:
            sp, sn = states(p), states(n)
            for il in range(n_layer):
                v[il] += (sp[il][-1] - sn[il][-1]) / len(pairs)
                norms[il].append(sp[il].norm(dim=-1).median().item())
        for il in range(n_layer):
            print(f"layer {il}: |v| {v[il].norm():.2f}, median token norm {sorted(norms[il])[len(norms[il]) // 2]:.2f}")

        evalp = [ids_of(s["prompts"]["baseline"]) + pre for s in dump["scenarios"] if s["category"] not in TRAIN]

        def rate(layer, vec, strength, keep_norm):
            def hook(il, x):
                if il != layer or strength == 0:
                    return x
                y = x + strength * vec
                return y * (x.norm(dim=-1, keepdim=True) / y.norm(dim=-1, keepdim=True)) if keep_norm else y

            hits = 0
            for ids in evalp:
                h = model.hidden(torch.tensor([ids]), hook)
                hits += int((h[0, -1] @ model.embed.weight.T).argmax()) in conv
            return 100 * hits / len(evalp)

        strengths = [float(x) for x in a.strengths.split(",")]
        for layer in (int(x) for x in a.layers.split(",")):
            settings = [("vector", v[layer], False), ("vector, norm-preserving", v[layer], True)]
            for seed in range(a.seeds):
                r = torch.randn(model.d, generator=torch.Generator().manual_seed(seed))
                settings.append((f"random seed {seed}", r / r.norm() * v[layer].norm(), False))
            for name, vec, keep in settings:
                row = " ".join(f"{s:+g}:{rate(layer, vec, s, keep):5.1f}" for s in strengths)
                print(f"layer {layer} {name:24s} {row}")


if __name__ == "__main__":
    main()
