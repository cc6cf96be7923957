// Next-token KL and changed greedy answers on neutral prompts, through the real engine on the 260K fixture:
// the output head read from the GGUF reproduces the engine's own log-probabilities, strength 0 costs nothing,
// and a strong vector costs something.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPack } from "../src/data/pack.js";
import { writeControlVector } from "../src/gguf/vector-file.js";
import { controlVectorSpec } from "../src/llama/apply-steering.js";
import { LlamaEngine } from "../src/llama/engine.js";
import { mulberry32 } from "../src/metrics/random.js";
import { presetCondition } from "../src/protocol/conditions.js";
import { klDivergence, measureSideEffects, readOutputHead } from "../src/steering/side-effects.js";
import type { ProtocolStrings } from "../src/types.js";
import { packDir, tinyModel } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-side-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const vectorPath = join(dir, "v.gguf");
let engine: LlamaEngine;
let strings: ProtocolStrings;

beforeAll(async () => {
  const rand = mulberry32(3);
  const v = Float32Array.from({ length: 64 }, () => rand() - 0.5);
  writeControlVector(vectorPath, {
    directions: new Map([
      [1, v],
      [2, v],
      [3, v],
    ]),
    nEmbd: 64,
    modelHint: "llama",
  });
  engine = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128 });
  strings = (await loadPack(packDir)).strings;
});
afterAll(async () => engine?.dispose());

describe("next-token side effects", () => {
  it("the GGUF output head gives the engine's own next-token log-probabilities", async () => {
    const head = readOutputHead(tinyModel);
    const prompt = "Once upon a time, there was a";
    const last = engine.info.nLayer - 1;
    const h = (await engine.captureHiddenStates({ prompt, layers: [last], positions: "last" })).get(
      last,
    )![0]!;
    const lp = head.logProbs(h);
    // Continuations that are exactly one vocabulary token after the prompt: their score is one log-probability.
    const base = engine.tokenize(prompt, { addSpecial: true });
    let checked = 0;
    for (let id = 300; id < engine.info.nVocab && checked < 5; id++) {
      const piece = engine.detokenize([id]);
      const full = engine.tokenize(prompt + piece, { addSpecial: true });
      if (full.length !== base.length + 1 || full[full.length - 1] !== id) continue;
      checked++;
      const [score] = await engine.scoreContinuations(prompt, [piece]);
      expect(lp[id]).toBeCloseTo(score!, 3);
    }
    expect(checked).toBeGreaterThan(0);
    expect(klDivergence(lp, lp)).toBe(0);
  });

  it("strength 0 has KL 0 and changes no answer; a strong vector and a prompt suffix do cost something", async () => {
    const head = readOutputHead(tinyModel);
    const prompts = [
      "Tell me about the park.",
      "Once upon a time",
      "What did the dog do?",
      "Lily had a ball",
    ];
    const r = await measureSideEffects(
      engine,
      head,
      [
        { name: "act0", activation: { vector: vectorPath, strength: 0 } },
        { name: "act+8", activation: { vector: vectorPath, strength: 8 } },
        presetCondition("pro_ic", strings),
      ],
      strings,
      { prompts, maxTokens: 6 },
    );
    expect(r.act0).toMatchObject({ prompts: 4, changed: 0, klMax: 0 });
    expect(r.act0!.klMean).toBe(0);
    expect(r["act+8"]!.klMean).toBeGreaterThan(0.01);
    expect(r["act+8"]!.klCI![0]).toBeLessThanOrEqual(r["act+8"]!.klMean);
    expect(r["act+8"]!.klCI![1]).toBeGreaterThanOrEqual(r["act+8"]!.klMean);
    expect(r["act+8"]!.changed).toBeGreaterThan(0);
    expect(r.pro_ic!.klMean).toBeGreaterThan(0);
    expect(r.pro_ic!.changedCI).toHaveLength(2);
  });

  it("an ablation or rotation condition is measured in its own mode, not as adding the vector", async () => {
    // Each condition's KL equals the KL of its own steering computed directly, request by request (before,
    // the vector was set as a global addition whatever the mode).
    const head = readOutputHead(tinyModel);
    const prompts = ["Tell me about the park.", "Lily had a ball"];
    const conditions = [
      { name: "abl", activation: { vector: vectorPath, strength: 1, mode: "ablate" as const } },
      { name: "rot", activation: { vector: vectorPath, strength: 1, mode: "rotate" as const } },
      { name: "add1", activation: { vector: vectorPath, strength: 1 } },
    ];
    const r = await measureSideEffects(engine, head, conditions, strings, { prompts, maxTokens: 4 });
    const last = engine.info.nLayer - 1;
    for (const c of conditions) {
      const steering = await controlVectorSpec(c.activation, engine.info);
      let kl = 0;
      for (const p of prompts) {
        const messages = [{ role: "user" as const, content: p }];
        const state = async (s?: typeof steering) =>
          (
            await engine.captureHiddenStates({
              messages,
              layers: [last],
              positions: "last",
              ...(s ? { steering: s } : {}),
            })
          ).get(last)![0]!;
        kl += klDivergence(head.logProbs(await state()), head.logProbs(await state(steering)));
      }
      expect(r[c.name]!.klMean, c.name).toBeCloseTo(kl / prompts.length, 10);
    }
    expect(r.abl!.klMean).not.toBeCloseTo(r.add1!.klMean, 6);
    expect(r.rot!.klMean).not.toBeCloseTo(r.add1!.klMean, 6);
  });
});
