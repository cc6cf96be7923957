// Proof that we reach inside the real model: on the tiny GGUF (4 layers, n_embd 64), a control vector set at
// layer L with strength s moves the captured `l_out-L` by exactly s·v at every position, leaves earlier layers
// bit-identical, changes later ones, and clearing it restores the baseline exactly. Also checks the layer
// numbering, the layer range, norm-preserving steering and that steering changes what the model writes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaEngine } from "../src/llama/index.js";
import { tinyModel } from "./paths.js";

const PROMPT = "I dream of electric sheep and quiet vectors";
const ALL_LAYERS = [0, 1, 2, 3];

/** Deterministic standard-normal-ish vector (mulberry32 + Box-Muller). */
function randomVector(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next()),
  );
}

function norm(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((row, p) => {
    row.forEach((v, i) => {
      m = Math.max(m, Math.abs(v - b[p]![i]!));
    });
  });
  return m;
}

describe("hidden states and control vectors on the tiny GGUF", () => {
  let engine: LlamaEngine;
  let baseline: Map<number, Float32Array[]>;
  let nPositions: number;

  beforeAll(async () => {
    // One thread: on a shared 2-core machine (vitest runs two files at once) ggml's spinning thread pool
    // slows down 10-100x when oversubscribed, while one thread stays near 0.6 ms/token on this model.
    engine = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128 });
    baseline = await engine.captureHiddenStates({ prompt: PROMPT, layers: ALL_LAYERS, positions: "all" });
    nPositions = engine.tokenize(PROMPT).length;
  });

  afterAll(async () => {
    await engine?.dispose();
  });

  it("captures one n_embd row per layer and position", () => {
    expect([...baseline.keys()]).toEqual(ALL_LAYERS);
    for (const rows of baseline.values()) {
      expect(rows).toHaveLength(nPositions);
      for (const r of rows) {
        expect(r).toHaveLength(64);
        expect(norm(r)).toBeGreaterThan(0);
      }
    }
    // Layers differ from each other (we are not reading the same tensor four times).
    expect(maxAbsDiff(baseline.get(0)!, baseline.get(3)!)).toBeGreaterThan(0.01);
  });

  it("selects positions: last, explicit and negative indices, also on the last layer", async () => {
    const last = await engine.captureHiddenStates({ prompt: PROMPT, layers: [1, 3] });
    expect(last.get(1)).toEqual([baseline.get(1)![nPositions - 1]]);
    // The last block only computes output rows, so its matmuls run on fewer rows than in the "all" capture
    // (other SIMD paths): equal to float rounding, not bit for bit.
    expect(maxAbsDiff(last.get(3)!, [baseline.get(3)![nPositions - 1]!])).toBeLessThan(1e-5);
    const picked = await engine.captureHiddenStates({
      prompt: PROMPT,
      layers: [3, 0],
      positions: [2, 0, -1],
    });
    const order = [2, 0, nPositions - 1];
    expect(
      maxAbsDiff(
        picked.get(3)!,
        order.map((p) => baseline.get(3)![p]!),
      ),
    ).toBeLessThan(1e-5);
    // …whereas a row mix-up would be far larger than that.
    expect(
      maxAbsDiff(
        picked.get(3)!,
        [0, 2, nPositions - 1].map((p) => baseline.get(3)![p]!),
      ),
    ).toBeGreaterThan(1e-2);
    expect(picked.get(0)).toEqual(order.map((p) => baseline.get(0)![p]));
    // Token input gives the same states as the text it came from.
    const byTokens = await engine.captureHiddenStates({
      tokens: engine.tokenize(PROMPT),
      layers: [2],
      positions: "all",
    });
    expect(byTokens.get(2)).toEqual(baseline.get(2));
    await expect(engine.captureHiddenStates({ prompt: PROMPT, layers: [4] })).rejects.toThrow(
      /layer 4 is outside 0..3/,
    );
    await expect(
      engine.captureHiddenStates({ prompt: PROMPT, layers: [0], positions: [nPositions] }),
    ).rejects.toThrow(/position \d+ is outside/);
  });

  for (const [L, s] of [
    [1, 0.75],
    [2, -1.5],
    [3, 3],
  ] as const) {
    it(`control vector at layer ${L}, strength ${s}: l_out-${L} moves by exactly s·v; clearing restores it`, async () => {
      const v = randomVector(64, 1000 + L);
      await engine.setControlVector({ data: new Map([[L, v]]), strength: s });
      expect(engine.controlVector).toEqual({
        layerStart: L,
        layerEnd: L,
        strength: s,
        normPreserving: false,
      });
      const steered = await engine.captureHiddenStates({
        prompt: PROMPT,
        layers: ALL_LAYERS,
        positions: "all",
      });

      // Layer L: steered − baseline = s·v at every position, to float precision.
      const base = baseline.get(L)!;
      const got = steered.get(L)!;
      for (let p = 0; p < nPositions; p++) {
        for (let i = 0; i < 64; i++) {
          const shift = got[p]![i]! - base[p]![i]!;
          const expected = s * v[i]!;
          expect(Math.abs(shift - expected)).toBeLessThanOrEqual(1e-4 * Math.abs(expected) + 1e-6);
        }
      }
      // Earlier layers are untouched, bit for bit; later layers see the change.
      for (let l = 0; l < L; l++) expect(steered.get(l)).toEqual(baseline.get(l));
      for (let l = L + 1; l < 4; l++)
        expect(maxAbsDiff(steered.get(l)!, baseline.get(l)!)).toBeGreaterThan(1e-3);

      await engine.clearControlVector();
      expect(engine.controlVector).toBeUndefined();
      const restored = await engine.captureHiddenStates({
        prompt: PROMPT,
        layers: ALL_LAYERS,
        positions: "all",
      });
      for (const l of ALL_LAYERS)
        expect(maxAbsDiff(restored.get(l)!, baseline.get(l)!)).toBeLessThanOrEqual(1e-6);
    });
  }

  it("applies only inside [layerStart, layerEnd] and rejects layer 0", async () => {
    const data = new Map([1, 2, 3].map((l) => [l, randomVector(64, 2000 + l)] as const));
    await engine.setControlVector({ data, layerStart: 2, layerEnd: 2, strength: 1 });
    const steered = await engine.captureHiddenStates({ prompt: PROMPT, layers: [1, 2], positions: "all" });
    expect(steered.get(1)).toEqual(baseline.get(1));
    const shifted = steered.get(2)!.map((row, p) => row.map((x, i) => x - baseline.get(2)![p]![i]!));
    const v2 = data.get(2)!;
    for (const d of shifted) for (let i = 0; i < 64; i++) expect(d[i]).toBeCloseTo(v2[i]!, 4);
    await engine.clearControlVector();
    await expect(engine.setControlVector({ data: new Map([[0, randomVector(64, 1)]]) })).rejects.toThrow(
      /layer 0 is outside 1..3/,
    );
  });

  it("norm-preserving steering keeps each state's norm and takes the steered direction", async () => {
    const L = 2;
    const s = 2;
    const v = randomVector(64, 3000);
    await engine.setControlVector({ data: new Map([[L, v]]), strength: s });
    const plain = await engine.captureHiddenStates({ prompt: PROMPT, layers: [L, 3], positions: "all" });
    await engine.setControlVector({ data: new Map([[L, v]]), strength: s, normPreserving: true });
    const kept = await engine.captureHiddenStates({ prompt: PROMPT, layers: [L, 3], positions: "all" });
    for (let p = 0; p < nPositions; p++) {
      const b = baseline.get(L)![p]!;
      const x = kept.get(L)![p]!;
      const y = plain.get(L)![p]!;
      expect(Math.abs(norm(x) - norm(b)) / norm(b)).toBeLessThan(1e-5);
      expect(norm(y)).not.toBeCloseTo(norm(b), 2);
      const cos = x.reduce((acc, xi, i) => acc + xi * y[i]!, 0) / (norm(x) * norm(y));
      expect(cos).toBeGreaterThan(1 - 1e-6);
    }
    // The rescaled state is what the next layers consume.
    expect(maxAbsDiff(kept.get(3)!, plain.get(3)!)).toBeGreaterThan(1e-3);
    await engine.clearControlVector();
    const restored = await engine.captureHiddenStates({
      prompt: PROMPT,
      layers: ALL_LAYERS,
      positions: "all",
    });
    for (const l of ALL_LAYERS)
      expect(maxAbsDiff(restored.get(l)!, baseline.get(l)!)).toBeLessThanOrEqual(1e-6);
  });

  it("steering changes greedy generation deterministically, and clearing brings the original back", async () => {
    const req = { prompt: PROMPT, maxTokens: 30, temperature: 0 };
    const before = await engine.generate(req);
    await engine.setControlVector({ data: new Map([[2, randomVector(64, 4000)]]), strength: 4 });
    const steeredA = await engine.generate(req);
    const steeredB = await engine.generate(req);
    expect(steeredA.tokens).toEqual(steeredB.tokens);
    expect(steeredA.text).not.toBe(before.text);
    await engine.clearControlVector();
    const after = await engine.generate(req);
    expect(after.tokens).toEqual(before.tokens);
  });

  it("refuses hidden states and norm-preserving steering without hooks, but steers plainly", async () => {
    const bare = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128, hooks: false });
    try {
      await expect(bare.captureHiddenStates({ prompt: PROMPT, layers: [1] })).rejects.toThrow(/hooks: true/);
      const data = new Map([[2, randomVector(64, 5)]]);
      await expect(bare.setControlVector({ data, normPreserving: true })).rejects.toThrow(/hooks: true/);
      const req = { prompt: PROMPT, maxTokens: 20, temperature: 0 };
      await bare.setControlVector({ data, strength: 4 });
      await engine.setControlVector({ data, strength: 4 });
      // Same model, same vector: the hook-less engine generates exactly what the hooked one does.
      expect((await bare.generate(req)).tokens).toEqual((await engine.generate(req)).tokens);
    } finally {
      await engine.clearControlVector();
      await bare.dispose();
    }
  });
});
