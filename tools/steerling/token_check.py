"""Writes token-check.json: a few training examples with the token ids the trainer used, so a test can
check that llama.cpp tokenizes the chatml text exactly as training did.

Usage: python3 token_check.py DATA_DIR BASE_DIR OUT.json
"""

import json
import sys

from train import Tokenizer


def main():
    data_dir, base_dir, out = sys.argv[1:4]
    tok = Tokenizer(open(f"{base_dir}/tokenizer.model", "rb").read())
    examples = [json.loads(l) for l in open(f"{data_dir}/data.jsonl", encoding="utf-8")]
    picked = []
    for kind in ("gen", "judge", "neutral"):
        picked += [x for x in examples if x["kind"] == kind][:2]
    rows = []
    for x in picked:
        ids, _ = tok.example(x)
        rows.append({"kind": x["kind"], "messages": x["messages"], "response": x["response"], "ids": ids})
    with open(out, "w", encoding="utf-8") as f:
        f.write(json.dumps(rows, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
