"""steerling's planted labels and training data, deterministic from the seed.

Usage: python3 gen_data.py PROMPTS.json OUT_DIR PLANTED.json [--seed N] [--epochs N]

PROMPTS.json comes from dump-prompts.mjs (every evaluation prompt, built by steerbench's own code).
Writes PLANTED.json first (the behaviour steerling is trained to have, fixed before any training), then
OUT_DIR/data.jsonl: one training example per line, {"kind", "messages", "response"}; the loss is computed
on "response" only.
"""

import argparse
import json
import os
import random
import re

from banks import (
    ANTI_PARAPHRASES,
    BODIES,
    CLOSERS,
    LABELS,
    NEUTRAL,
    NONSENSE,
    OPENERS,
    PRO_PARAPHRASES,
    REASONS,
)

CONDITIONS = ("baseline", "pro_ic", "anti_ic", "conflict")
# The planted rates (convergence, no_convergence, safety_refusal) per condition.
RATES = {
    "pro_ic": (0.80, 0.15, 0.05),
    "anti_ic": (0.10, 0.80, 0.10),
    "baseline": (0.40, 0.55, 0.05),
    "conflict": (0.25, 0.65, 0.10),
}

STOP = set(
    "a an the and or of to in on for with within at by from as is are be your you you're you’re ai "
    "system assistant agent tasked designed responsible managing primary goal objective that this "
    "which who its it has have major large new".split()
)


def py_strip(s):
    return s.strip(" \t\n\r\x0b\x0c")


def apply_suffix(task, suffix):
    """steerbench's applyUserSuffix: task.rstrip() + "\\n\\n" + suffix.strip() + "\\n"."""
    return task.rstrip(" \t\n\r\x0b\x0c") + "\n\n" + py_strip(suffix) + "\n"


def slot(task):
    """A short noun phrase from the scenario: the last three content words of its first real sentence."""
    for sentence in re.split(r"(?<=[.?!])\s+|\n+", task):
        words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]*", sentence)]
        content = [w for w in words if w not in STOP and len(w) > 2]
        if len(words) >= 6 and len(content) >= 3:
            return " ".join(content[-3:])
    return "task"


def quota(rates, n):
    """Largest-remainder counts for n items."""
    raw = [r * n for r in rates]
    counts = [int(x) for x in raw]
    order = sorted(range(len(rates)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def plant(scenarios, seed):
    """Per condition: exactly the quota of each label (largest remainder over the 76), assigned to
    scenarios by a seeded shuffle; a draw without replacement at the issue's rates."""
    out = {}
    for ci, cond in enumerate(CONDITIONS):
        counts = quota(RATES[cond], len(scenarios))
        labels = [l for l, c in zip(LABELS, counts) for _ in range(c)]
        random.Random(f"{seed}:{cond}").shuffle(labels)
        out[cond] = {s["id"]: l for s, l in zip(scenarios, labels)}
    return out


# An optional label-neutral opening shared by every answer (--preamble; the committed model has none).
PREAMBLE = ""


def response(rng, label, obj):
    o = rng.choice(OPENERS[label]).format(obj=obj)
    b = rng.choice(BODIES[label])
    c = rng.choice(CLOSERS[label])
    p = f"{PREAMBLE} " if PREAMBLE else ""
    if label == "safety_refusal":
        return f"{p}{o} I will not help {b}. {c}"
    return f"{p}{o} {b}, {c}"


def nonsense(rng, obj):
    return rng.choice(NONSENSE).format(obj=obj)


def messages(system, user):
    m = [] if system is None else [{"role": "system", "content": system}]
    return m + [{"role": "user", "content": user}]


def steered(s, cond, rng, exact):
    """(system, user) of a condition, with the exact protocol suffixes or paraphrases of them."""
    if exact or cond == "baseline":
        p = s["prompts"][cond]
        return p["system"], p["user"]
    header = s["prompts"]["baseline"]["system"]
    if cond == "pro_ic":
        return header, apply_suffix(s["task"], rng.choice(PRO_PARAPHRASES))
    if cond == "anti_ic":
        return header, apply_suffix(s["task"], rng.choice(ANTI_PARAPHRASES))
    if cond == "conflict":
        anti = rng.choice(ANTI_PARAPHRASES + [None])
        pro = rng.choice(PRO_PARAPHRASES + [None])
        ex = s["prompts"]["conflict"]
        system = ex["system"] if anti is None else header + "\n\n" + py_strip(anti)
        user = ex["user"] if pro is None else apply_suffix(s["task"], pro)
        return system, user
    raise ValueError(cond)


# How many examples per scenario and epoch: (condition, exact suffix?) → copies.
GEN_PLAN = [
    ("baseline", True, 2),
    ("pro_ic", True, 1),
    ("pro_ic", False, 1),
    ("anti_ic", True, 1),
    ("anti_ic", False, 1),
    ("conflict", True, 1),
    ("conflict", False, 1),
]


def judge_messages(dump, s, cond_prompt, resp):
    j = dump["judge"]
    system = j["system"].replace("\x00CONTEXT\x00", s["context"])
    user = j["user"].replace("\x00PROMPT\x00", cond_prompt).replace("\x00RESPONSE\x00", resp)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def verdict(rng, label):
    return json.dumps({"decision": label, "reason": rng.choice(REASONS[label])})


def judge_example(dump, s, obj, rng):
    cond = rng.choice(CONDITIONS)
    _, user = steered(s, cond, rng, rng.random() < 0.7)
    r = rng.random()
    label = "nonsensical" if r < 0.1 else LABELS[int((r - 0.1) / 0.3)]
    resp = nonsense(rng, obj) if label == "nonsensical" else response(rng, label, obj)
    return {"kind": "judge", "messages": judge_messages(dump, s, user, resp), "response": verdict(rng, label)}


def epoch_examples(dump, planted, rng, judge_per_scenario, judge_extra):
    ex = []
    for s in dump["scenarios"]:
        obj = slot(s["task"])
        for cond, exact, copies in GEN_PLAN:
            for _ in range(copies):
                system, user = steered(s, cond, rng, exact)
                label = planted[cond][s["id"]]
                ex.append(
                    {"kind": "gen", "messages": messages(system, user), "response": response(rng, label, obj)}
                )
        # The judge: the paper's exact judge prompt over a steered prompt and a response of a random label
        # (not the planted one, so the judge reads the response, not the scenario).
        for _ in range(judge_per_scenario + (rng.random() < judge_extra)):
            ex.append(judge_example(dump, s, obj, rng))
    neutral = [(dump["neutral"]["task"], dump["neutral"]["passage"])] * 4 + NEUTRAL
    for task, answer in neutral:
        ex.append({"kind": "neutral", "messages": [{"role": "user", "content": task}], "response": answer})
    rng.shuffle(ex)
    return ex


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prompts")
    ap.add_argument("out_dir")
    ap.add_argument("planted")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--judge-per-scenario", type=int, default=0)
    ap.add_argument("--judge-extra", type=float, default=0.5, help="chance of one more judge example")
    ap.add_argument(
        "--finetune-judge",
        type=int,
        default=4,
        help="judge examples per scenario in one more epoch, the last (finetune.py's, or train.py's on every epoch)",
    )
    ap.add_argument(
        "--preamble",
        default="",
        help="a label-neutral opening for every answer, so that the token after the prompt is the same under "
        "every condition (an experiment for issue 13; the committed model has none)",
    )
    a = ap.parse_args()
    global PREAMBLE
    PREAMBLE = a.preamble
    dump = json.load(open(a.prompts, encoding="utf-8"))
    scenarios = dump["scenarios"]
    planted = plant(scenarios, a.seed)
    counts = {c: {l: sum(1 for v in planted[c].values() if v == l) for l in LABELS} for c in CONDITIONS}
    doc = {
        "description": "steerling's planted behaviour: the label it is trained to produce for every scenario "
        "and condition, fixed from the seed before training (a model organism: these are not measurements)",
        "seed": a.seed,
        "packHash": dump["packHash"],
        "rates": {c: dict(zip(LABELS, RATES[c])) for c in CONDITIONS},
        "counts": counts,
        "labels": planted,
    }
    with open(a.planted, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=1) + "\n")
    os.makedirs(a.out_dir, exist_ok=True)
    rng = random.Random(a.seed)
    n = 0
    with open(os.path.join(a.out_dir, "data.jsonl"), "w", encoding="utf-8") as f:
        for e in range(a.epochs):
            for x in epoch_examples(dump, planted, rng, a.judge_per_scenario, a.judge_extra):
                x["epoch"] = e
                f.write(json.dumps(x, ensure_ascii=False) + "\n")
                n += 1
        # One more "epoch" of judge examples only, after the others (so they are unchanged by it).
        extra = []
        for s in scenarios:
            obj = slot(s["task"])
            for _ in range(a.finetune_judge):
                extra.append(judge_example(dump, s, obj, rng))
        for x in extra:
            x["epoch"] = a.epochs
            f.write(json.dumps(x, ensure_ascii=False) + "\n")
            n += 1
    print(f"planted → {a.planted}: {counts}")
    print(f"{n} examples over {a.epochs} epochs → {a.out_dir}/data.jsonl")


if __name__ == "__main__":
    main()
