// Steering vectors on the real tiny GGUF (4 layers, n_embd 64; its outputs are meaningless, so these tests
// check code paths and exact arithmetic, never what the model "means"): prompt fitting, extraction from the
// built-in pairs, recovery of a direction planted with a real control vector, the file round trip, applying
// the file back through controlVectorSpec, and the perplexity side-effect measure.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPack } from "../src/data/pack.js";
import { modelArchitecture, readControlVector, writeControlVector } from "../src/gguf/vector-file.js";
import { clearVectorCache, controlVectorSpec } from "../src/llama/apply-steering.js";
import { countPromptTokens, fitPrompt } from "../src/llama/fit-prompt.js";
import { LlamaEngine } from "../src/llama/index.js";
import { presetCondition } from "../src/protocol/conditions.js";
import {
  type ExtractionEngine,
  extractionToVector,
  extractSteeringVectors,
} from "../src/steering/extract.js";
import { cosine, norm } from "../src/steering/math.js";
import { builtinPairs, type ContrastPair } from "../src/steering/pairs.js";
import {
  conditionMessages,
  conditionPerplexity,
  continuationTokens,
  NEUTRAL_PASSAGE,
  neutralMessages,
  passagePerplexity,
} from "../src/steering/perplexity.js";
import type { ChatMessage, Pack } from "../src/types.js";
import { packDir, tinyModel } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-steer-"));
let engine: LlamaEngine;
let pack: Pack;

beforeAll(async () => {
  // One thread: vitest runs two files at once on two cores, and ggml's spinning pool hates oversubscription.
  engine = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128 });
  pack = await loadPack(packDir);
});
afterAll(async () => {
  await engine?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("fitting prompts into the tiny context", () => {
  it("cuts a benchmark prompt from the front, inside the message text, keeping the steering suffix", () => {
    const messages = builtinPairs(pack, { limit: 1 })[0]!.positive as ChatMessage[];
    expect(countPromptTokens(engine, messages)).toBeGreaterThan(200);
    const fitted = fitPrompt(engine, messages, 100);
    expect(fitted.truncated).toBe(true);
    expect(fitted.tokens).toBeLessThanOrEqual(100);
    // The smallest cut: one more character would fit more than 100 tokens... so one less must not fit.
    expect(fitted.tokens).toBeGreaterThan(90);
    // The system message (first) went entirely; the user message ends as before.
    expect(fitted.prompt).toHaveLength(1);
    expect(messages[1]!.content.endsWith(fitted.prompt[0]!.content)).toBe(true);
    // ~100 tokens of this model is less than the suffix itself: what is left is the suffix's end.
    expect(`${pack.strings.proIcSuffix.trim()}\n`.endsWith(fitted.prompt[0]!.content)).toBe(true);
    expect(fitted.prompt[0]!.content.length).toBeGreaterThan(50);
    expect(fitPrompt(engine, "short text", 100)).toEqual({
      prompt: "short text",
      truncated: false,
      tokens: engine.tokenize("short text").length,
    });
    expect(() => fitPrompt(engine, "some text", 0)).toThrow(/cannot be fitted into 0 tokens/);
  });
});

describe("extraction from the built-in pairs", () => {
  let pairs: ContrastPair[];
  beforeAll(() => {
    // One scenario per category: six pairs, each prompt several times the context, so all are cut.
    pairs = builtinPairs(pack, { selection: { maxPerCategory: 1, seed: 123 } });
  });

  it("gives one finite n_embd direction per steerable layer and a held-out report", async () => {
    let progress = 0;
    const ex = await extractSteeringVectors(engine, pairs, {
      holdout: 0.34,
      seed: 3,
      onProgress: (d) => (progress = d),
    });
    expect(progress).toBe(6);
    expect([...ex.directions.keys()]).toEqual([1, 2, 3]);
    expect([ex.pairs, ex.trainPairs, ex.testPairs]).toEqual([6, 4, 2]);
    expect(ex.truncatedPrompts).toBe(12);
    for (const v of ex.directions.values()) {
      expect(v).toHaveLength(64);
      expect(v.every(Number.isFinite)).toBe(true);
      expect(norm(v)).toBeGreaterThan(0);
    }
    for (const l of ex.layers) {
      expect(l.inSample).toBe(false);
      expect(l.auc).toBeGreaterThanOrEqual(0);
      expect(l.auc).toBeLessThanOrEqual(1);
      expect([0, 0.25, 0.5, 0.75, 1]).toContain(l.pairAccuracy);
      expect(l.norm).toBeCloseTo(norm(ex.directions.get(l.layer)!), 4);
    }
    // Deterministic: the same seed gives the same vectors, bit for bit.
    const again = await extractSteeringVectors(engine, pairs, { holdout: 0.34, seed: 3 });
    expect(bits(again.directions.get(2)!).equals(bits(ex.directions.get(2)!))).toBe(true);
    // pca points the same way as the mean difference.
    const pca = await extractSteeringVectors(engine, pairs, {
      holdout: 0.34,
      seed: 3,
      method: "pca",
      layers: [2],
    });
    expect([...pca.directions.keys()]).toEqual([2]);
    expect(cosine(pca.directions.get(2)!, ex.directions.get(2)!)).toBeGreaterThan(0);
  });

  it("saves a control-vector file that loads back bit-exact and steers the layer it was measured on", async () => {
    const ex = await extractSteeringVectors(engine, pairs, { holdout: 0.25, seed: 1, layers: [1, 2] });
    const vec = extractionToVector(ex, {
      modelPath: tinyModel,
      modelHint: modelArchitecture(tinyModel),
      nLayer: engine.info.nLayer,
      nEmbd: engine.info.nEmbd,
      pairsSource: "builtin",
    });
    const path = join(dir, "builtin.gguf");
    writeControlVector(path, vec);
    const back = readControlVector(path);
    for (const il of [1, 2])
      expect(bits(back.directions.get(il)!).equals(bits(ex.directions.get(il)!))).toBe(true);
    expect(back.meta).toMatchObject({
      model: "aidreams260K-f32.gguf",
      method: "mean-diff",
      pairCount: 6,
      modelLayers: 4,
      layers: "1-2",
    });
    expect(back.meta!.quality.get(2)!.auc).toBeCloseTo(ex.layers[1]!.auc, 6);

    // Apply it through the provider's path: l_out-2 moves by exactly strength × direction.2.
    clearVectorCache();
    const spec = await controlVectorSpec({ vector: path, strength: 3, layers: [2, 2] }, engine.info);
    const prompt = "the library opens at nine";
    const before = (await engine.captureHiddenStates({ prompt, layers: [1, 2] })) as Map<
      number,
      Float32Array[]
    >;
    await engine.setControlVector(spec);
    let after: Map<number, Float32Array[]>;
    try {
      after = await engine.captureHiddenStates({ prompt, layers: [1, 2] });
    } finally {
      await engine.clearControlVector();
    }
    expect(bits(after.get(1)![0]!).equals(bits(before.get(1)![0]!))).toBe(true);
    const d = back.directions.get(2)!;
    const shift = after.get(2)![0]!.map((x, i) => x - before.get(2)![0]![i]!);
    const err = Math.max(...shift.map((x, i) => Math.abs(x - 3 * d[i]!)));
    expect(err / (3 * norm(d))).toBeLessThan(1e-4);
  });
});

describe("a planted direction is recovered", () => {
  // Positive and negative prompts are the same text; only the positive is run with a real control vector
  // at layer 2. The paired difference at l_out-2 is then exactly the planted vector, at every token.
  const planted = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.7) * 0.8);
  const texts = [
    "a cat sat on the mat",
    "rain fell all night long",
    "she read the old map",
    "two birds and a tree",
    "the bus was late again",
    "we ate bread and soup",
  ];
  const pairs: ContrastPair[] = texts.map((t, i) => ({
    id: `p${i}`,
    positive: [{ role: "user", content: t }],
    negative: [{ role: "user", content: t }],
  }));
  const positives = new Set(pairs.map((p) => p.positive));
  const planting = (): ExtractionEngine => ({
    info: engine.info,
    tokenize: (text, options) => engine.tokenize(text, options),
    applyChatTemplate: (messages) => engine.applyChatTemplate(messages),
    // Per-request steering: the extractor captures a pair's two prompts at once, in one batch.
    captureHiddenStates(req) {
      const steer = req.messages !== undefined && positives.has(req.messages);
      return engine.captureHiddenStates(
        steer ? { ...req, steering: { data: new Map([[2, planted]]), layerStart: 2, layerEnd: 2 } } : req,
      );
    },
  });

  for (const method of ["mean-diff", "pca"] as const) {
    it(`${method} finds it at its layer and nothing before it`, async () => {
      const ex = await extractSteeringVectors(planting(), pairs, {
        method,
        holdout: 0.34,
        seed: 2,
        lastTokens: 3,
      });
      const v2 = ex.directions.get(2)!;
      expect(cosine(v2, planted)).toBeGreaterThan(0.9999);
      expect(Math.abs(norm(v2) - norm(planted)) / norm(planted)).toBeLessThan(1e-4);
      expect(ex.layers[1]!.pairAccuracy).toBe(1);
      // Layer 1 comes before the vector: identical activations, no direction, chance-level separation.
      expect(norm(ex.directions.get(1)!)).toBe(0);
      expect(ex.layers[0]!.pairAccuracy).toBe(0.5);
      // Layer 3 sees the planted change propagated, not the vector itself.
      expect(norm(ex.directions.get(3)!)).toBeGreaterThan(0);
    });
  }
});

describe("batched extraction", () => {
  it("captures pairs concurrently in one batch and gets the same directions as one at a time", async () => {
    const pairs = builtinPairs(pack, { selection: "full" }).slice(0, 8);
    // The same per-sequence window as `engine` (llama.cpp pads its 128 to 256 cells).
    const batched = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 256, parallel: 6 });
    expect(batched.info.contextSize).toBe(engine.info.contextSize);
    try {
      const serial = await extractSteeringVectors(engine, pairs, { holdout: 0.25, seed: 1 });
      const together = await extractSteeringVectors(batched, pairs, {
        holdout: 0.25,
        seed: 1,
        concurrency: 3,
      });
      // ~250-token prompts: two fill a 512-token batch.
      expect(batched.batchStats.maxSequencesInStep).toBeGreaterThanOrEqual(2);
      expect(together.truncatedPrompts).toBe(serial.truncatedPrompts);
      for (const [il, v] of serial.directions) {
        const w = together.directions.get(il)!;
        // Float noise only (batch layout changes the order of attention sums): 1e-5 of the norm.
        let d = 0;
        for (let k = 0; k < v.length; k++) d = Math.max(d, Math.abs(v[k]! - w[k]!));
        expect(d).toBeLessThan(1e-5 * Math.max(1, norm(v)));
      }
      expect(together.layers.map((l) => l.auc)).toEqual(serial.layers.map((l) => l.auc));
    } finally {
      await batched.dispose();
    }
  });
});

describe("perplexity of the neutral passage", () => {
  it("is finite, counts the passage's tokens, and is unchanged by a zero-strength vector", async () => {
    const base = await passagePerplexity(engine);
    expect(base.perplexity).toBeGreaterThan(1);
    expect(Number.isFinite(base.perplexity)).toBe(true);
    // The tiny context holds only part of the passage.
    expect(base.passageTruncated).toBe(true);
    expect(base.tokens).toBeGreaterThan(50);
    expect(base.tokens).toBeLessThanOrEqual(Math.floor(engine.info.contextSize / 2) + 1);
    expect(base.perplexity).toBeCloseTo(Math.exp(-base.logProb / base.tokens), 10);
    const data = new Map([[2, Float32Array.from({ length: 64 }, (_, i) => (i % 3) - 1)]]);
    const zero = await passagePerplexity(engine, { controlVector: { data, strength: 0 } });
    expect(zero.logProb).toBe(base.logProb);
    const strong = await passagePerplexity(engine, { controlVector: { data, strength: 6 } });
    expect(strong.logProb).not.toBe(base.logProb);
    // Other modes score under their own operation (per-request steering), not as an added vector.
    const ablated = await passagePerplexity(engine, { controlVector: { data, strength: 1, mode: "ablate" } });
    const added = await passagePerplexity(engine, { controlVector: { data, strength: 1 } });
    expect(ablated.logProb).not.toBe(base.logProb);
    expect(ablated.logProb).not.toBe(added.logProb);
    // The vector is cleared afterwards.
    expect(engine.controlVector).toBeUndefined();
    expect((await passagePerplexity(engine)).logProb).toBe(base.logProb);
    expect(continuationTokens(engine, neutralMessages(), "hello")).toBe(
      engine.tokenize("hello", { addSpecial: false }).length,
    );
    expect(NEUTRAL_PASSAGE.split(" ").length).toBeGreaterThan(60);
  });

  it("prices prompt conditions by putting their text in the prompt", async () => {
    const pro = presetCondition("pro_ic", pack.strings);
    const messages = conditionMessages(pro, pack.strings);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.content.endsWith(`${pack.strings.proIcSuffix.trim()}\n`)).toBe(true);
    const base = await conditionPerplexity(engine, presetCondition("baseline", pack.strings), pack.strings);
    expect(base.logProb).toBe((await passagePerplexity(engine)).logProb);
    const withSuffix = await conditionPerplexity(engine, pro, pack.strings);
    expect(withSuffix.logProb).not.toBe(base.logProb);
  });
});
