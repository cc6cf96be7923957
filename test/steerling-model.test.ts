// The committed model organism: the GGUF is the file its manifest describes, planted.json covers every
// scenario and condition at the rates, and the file is a chatml model the embedded engine loads
// with a context that holds the longest paper prompt (the judge's) untruncated.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPack } from "../src/data/pack.js";
import { LlamaEngine } from "../src/llama/index.js";
import { readPlanted } from "../src/organism/planted.js";
import {
  readManifest,
  STEERLING_DIR,
  STEERLING_GGUF,
  STEERLING_MANIFEST,
  STEERLING_PLANTED,
  sha256File,
} from "../src/organism/steerling.js";
import { buildJudgeMessages, buildPrompt, presetCondition } from "../src/protocol/index.js";
import { LABELS } from "../src/types.js";
import { packDir } from "./paths.js";

const CONDITIONS = ["baseline", "pro_ic", "anti_ic", "conflict"] as const;
const RATES = {
  pro_ic: [0.8, 0.15, 0.05],
  anti_ic: [0.1, 0.8, 0.1],
  baseline: [0.4, 0.55, 0.05],
  conflict: [0.25, 0.65, 0.1],
} as const;

describe("steerling's files", () => {
  it("the GGUF matches its manifest (sha256, size ≤ 16 MB)", () => {
    const m = readManifest(STEERLING_MANIFEST);
    const bytes = statSync(STEERLING_GGUF).size;
    expect(bytes).toBe(m.gguf.bytes);
    expect(bytes).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(sha256File(STEERLING_GGUF)).toBe(m.gguf.sha256);
    expect(m.shape.contextLength).toBeGreaterThanOrEqual(1024);
    expect(m.parameters).toBeGreaterThan(0);
  });

  it("planted.json: every scenario × condition, label counts at the issue's rates (±1 of the quota)", async () => {
    const pack = await loadPack(packDir);
    const planted = readPlanted(STEERLING_PLANTED);
    expect(planted.seed).toBe(readManifest().seed);
    expect(planted.packHash).toBe(pack.hash);
    const ids = pack.categories.flatMap((c) => c.scenarios.map((s) => s.id)).sort();
    expect(ids).toHaveLength(76);
    for (const cond of CONDITIONS) {
      expect(Object.keys(planted.labels[cond] ?? {}).sort()).toEqual(ids);
      const labels = Object.values(planted.labels[cond]!);
      RATES[cond].forEach((rate, i) => {
        const n = labels.filter((l) => l === LABELS[i]).length;
        expect(Math.abs(n - rate * 76), `${cond} ${LABELS[i]}`).toBeLessThanOrEqual(1);
      });
      expect(labels.filter((l) => l === "nonsensical")).toHaveLength(0);
    }
  });
});

describe("steerling in the embedded engine", () => {
  let engine: LlamaEngine;
  beforeAll(async () => {
    engine = await LlamaEngine.load(STEERLING_GGUF, { threads: 1 });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it("is a chatml model: <|im_start|>/<|im_end|> are single special tokens", () => {
    expect(engine.info.chatTemplate).toBe("model");
    const text = engine.applyChatTemplate([{ role: "user", content: "Hi" }]);
    expect(text).toBe("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    const special = engine.tokenize("<|im_start|><|im_end|>", { addSpecial: false, parseSpecial: true });
    expect(special).toHaveLength(2);
    // As plain text they are not special: many tokens.
    expect(
      engine.tokenize("<|im_start|>", { addSpecial: false, parseSpecial: false }).length,
    ).toBeGreaterThan(1);
  });

  it("tokenizes chatml text exactly as the trainer did (token-check.json, written by tools/steerling)", () => {
    const rows = JSON.parse(readFileSync(join(STEERLING_DIR, "token-check.json"), "utf8")) as {
      kind: string;
      messages: { role: "system" | "user"; content: string }[];
      response: string;
      ids: number[];
    }[];
    expect(new Set(rows.map((r) => r.kind))).toEqual(new Set(["gen", "judge", "neutral"]));
    for (const r of rows) {
      const text = `${engine.applyChatTemplate(r.messages)}${r.response}<|im_end|>`;
      expect(engine.tokenize(text, { addSpecial: true, parseSpecial: true }), r.kind).toEqual(r.ids);
    }
  });

  it("holds the longest paper prompt, the judge's, without truncation", async () => {
    const pack = await loadPack(packDir);
    let longest = 0;
    for (const category of pack.categories) {
      for (const scenario of category.scenarios) {
        for (const cond of CONDITIONS) {
          const built = buildPrompt(category, scenario, presetCondition(cond, pack.strings), {
            strings: pack.strings,
            defaultSystem: { kind: "category" },
          });
          const judge = buildJudgeMessages(
            "paper",
            { context: category.context, prompt: built.user, response: "x ".repeat(60) },
            pack.strings,
          );
          for (const m of [built.messages, judge]) {
            const n = engine.tokenize(engine.applyChatTemplate(m), {
              addSpecial: true,
              parseSpecial: true,
            }).length;
            longest = Math.max(longest, n);
          }
        }
      }
    }
    // 64 tokens of answer (the quickstart's default) still fit.
    expect(longest + 64).toBeLessThanOrEqual(engine.info.contextSize);
    expect(engine.info.contextSize).toBeGreaterThanOrEqual(1024);
  });
});
