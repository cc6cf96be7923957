// Per-sequence steering inside one batch, on the real tiny GGUF (4 layers, n_embd 64): four sequences decode
// together, each with its own steering (none, +s·v, −s'·w, ablation, rotation). Each captured l_out-L moves by
// exactly its own s·v, unsteered sequences stay bit-identical to an unsteered run of the same batch, earlier
// layers are untouched, ablation leaves no component along v̂ (a block range: those blocks write none), rotation keeps
// ‖h‖ and sets the angle to v̂.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaEngine } from "../src/llama/index.js";
import type { SequenceSteeringSpec } from "../src/llama/steer-ops.js";
import { tinyModel } from "./paths.js";

const PROMPTS = [
  "I dream of electric sheep and quiet vectors",
  "The cat ran over the old stone",
  "Once upon a time in a green river valley",
  "Morning light fell into the small room",
];
const LAYERS = [0, 1, 2, 3];
const L = 2;

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

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));
const unit = (a: Float32Array) => Float32Array.from(a, (x) => x / norm(a));

type Captured = Map<number, Float32Array[]>;

describe("per-sequence steering in one batch", () => {
  let engine: LlamaEngine;
  let v: Float32Array;
  let w: Float32Array;
  let baseline: Captured[];

  const capture = (steerings: (SequenceSteeringSpec | undefined)[]) =>
    Promise.all(
      PROMPTS.map((prompt, i) =>
        engine.captureHiddenStates({ prompt, layers: LAYERS, positions: "all", steering: steerings[i] }),
      ),
    );
  const at = (data: Float32Array): SequenceSteeringSpec["data"] => new Map([[L, data]]);

  beforeAll(async () => {
    engine = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 256, parallel: 4 });
    v = randomVector(engine.info.nEmbd, 1);
    w = randomVector(engine.info.nEmbd, 2);
    baseline = await capture([undefined, undefined, undefined, undefined]);
    expect(engine.batchStats.maxSequencesInStep).toBe(4);
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  it("moves each sequence by exactly its own s·v; the unsteered one stays bit-identical", async () => {
    const s1 = 2.5;
    const s2 = -1.25;
    const mixed = await capture([
      undefined,
      { data: at(v), strength: s1 },
      { data: at(w), strength: s2 },
      undefined,
    ]);
    for (const i of [0, 3]) for (const il of LAYERS) expect(mixed[i]!.get(il)).toEqual(baseline[i]!.get(il));
    for (const [i, s, dir] of [
      [1, s1, v],
      [2, s2, w],
    ] as const) {
      // Layers before L are untouched, bit for bit.
      for (const il of [0, 1]) expect(mixed[i]!.get(il)).toEqual(baseline[i]!.get(il));
      const rows = mixed[i]!.get(L)!;
      const base = baseline[i]!.get(L)!;
      let worst = 0;
      rows.forEach((row, p) => {
        for (let k = 0; k < row.length; k++) {
          const want = s * dir[k]!;
          worst = Math.max(worst, Math.abs(row[k]! - base[p]![k]! - want) / (Math.abs(want) + 1e-3));
        }
      });
      expect(worst).toBeLessThan(1e-4);
      // Later layers change.
      expect(mixed[i]!.get(3)).not.toEqual(baseline[i]!.get(3));
    }
  });

  it("ablation (all blocks, the default) leaves no component along v̂ in any captured state", async () => {
    const u = unit(v);
    const mixed = await capture([
      { data: at(v), strength: 1, mode: "ablate" },
      undefined,
      undefined,
      undefined,
    ]);
    for (const il of LAYERS) expect(mixed[1]!.get(il)).toEqual(baseline[1]!.get(il));
    const worst = (rows: Float32Array[]) => Math.max(...rows.map((h) => Math.abs(dot(h, u)) / norm(h)));
    for (const il of LAYERS) {
      expect(worst(baseline[0]!.get(il)!)).toBeGreaterThan(1e-2); // there was something to remove
      expect(worst(mixed[0]!.get(il)!)).toBeLessThan(1e-5);
    }
  });

  it("ablation of block L only: earlier layers bit-identical, block L writes nothing along v̂", async () => {
    // Blocks a..b stop writing along v̂ (as `vectors bake --layers a-b` edits their writers): the v̂ component
    // of l_out-L is the one l_out-(L−1) carried in, and the rest of l_out-L is what block L now writes.
    const u = unit(v);
    const mixed = await capture([
      undefined,
      undefined,
      { data: at(v), strength: 1, mode: "ablate", layerStart: L, layerEnd: L },
      undefined,
    ]);
    for (const il of LAYERS.filter((x) => x < L)) expect(mixed[2]!.get(il)).toEqual(baseline[2]!.get(il));
    const before = baseline[2]!.get(L - 1)!;
    mixed[2]!.get(L)!.forEach((row, p) => {
      const carried = dot(before[p]!, u);
      expect(Math.abs(dot(baseline[2]!.get(L)![p]!, u) - carried)).toBeGreaterThan(1e-3); // block L wrote along v̂
      expect(Math.abs(dot(row, u) - carried)).toBeLessThan(1e-5 * norm(row));
    });
    expect(mixed[2]!.get(L)).not.toEqual(baseline[2]!.get(L));
  });

  it("rotation keeps ‖h‖ and turns h toward v̂ by the strength in radians", async () => {
    const u = unit(v);
    const theta = 0.5;
    const mixed = await capture([
      undefined,
      { data: at(v), strength: theta, mode: "rotate" },
      undefined,
      undefined,
    ]);
    expect(mixed[0]!.get(L)).toEqual(baseline[0]!.get(L));
    const rows = mixed[1]!.get(L)!;
    const base = baseline[1]!.get(L)!;
    rows.forEach((row, p) => {
      const before = norm(base[p]!);
      expect(Math.abs(norm(row) - before) / before).toBeLessThan(1e-6);
      const phi = Math.acos(dot(base[p]!, u) / before);
      expect(dot(row, u) / norm(row)).toBeCloseTo(Math.cos(Math.max(0, phi - theta)), 5);
    });
  });

  it("generation: a steered sequence changes, the unsteered ones in its batch equal an unsteered run", async () => {
    const plain = await Promise.all(
      PROMPTS.map((prompt) => engine.generate({ prompt, maxTokens: 24, temperature: 0 })),
    );
    const steered = await Promise.all(
      PROMPTS.map((prompt, i) =>
        engine.generate({
          prompt,
          maxTokens: 24,
          temperature: 0,
          steering:
            i === 2
              ? {
                  data: new Map([
                    [1, v],
                    [2, v],
                    [3, v],
                  ]),
                  strength: 4,
                }
              : undefined,
        }),
      ),
    );
    for (const i of [0, 1, 3]) expect(steered[i]!.tokens).toEqual(plain[i]!.tokens);
    expect(steered[2]!.tokens).not.toEqual(plain[2]!.tokens);
  });

  it("each steered sequence in a mixed batch generates what it generates alone with the same steering", async () => {
    const solo = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 256 });
    try {
      const layers = (d: Float32Array) => new Map([1, 2, 3].map((il) => [il, d] as const));
      const steerings: (SequenceSteeringSpec | undefined)[] = [
        { data: layers(v), strength: 3 },
        { data: layers(w), strength: -2, normPreserving: true },
        { data: layers(v), strength: 1, mode: "ablate" },
        { data: layers(w), strength: 1.2, mode: "rotate" },
      ];
      const alone = [];
      for (const [i, prompt] of PROMPTS.entries()) {
        alone.push(await solo.generate({ prompt, maxTokens: 24, temperature: 0, steering: steerings[i] }));
      }
      const together = await Promise.all(
        PROMPTS.map((prompt, i) =>
          engine.generate({ prompt, maxTokens: 24, temperature: 0, steering: steerings[i] }),
        ),
      );
      for (const [i, r] of together.entries()) expect(r.tokens).toEqual(alone[i]!.tokens);
    } finally {
      await solo.dispose();
    }
  });

  it("a judge scoring beside a steered generation in the same batch is not steered", async () => {
    const prompt = "The cat ran over the old stone";
    const conts = [" and the river", " into the light", " under a tree"];
    const strong = { data: new Map([1, 2, 3].map((il) => [il, v] as const)), strength: 4 };
    const alone = await engine.scoreContinuations(prompt, conts);
    const before = engine.batchStats.steps;
    const [, beside] = await Promise.all([
      engine.generate({ prompt: PROMPTS[0]!, maxTokens: 30, temperature: 0, steering: strong }),
      engine.scoreContinuations(prompt, conts),
    ]);
    expect(engine.batchStats.steps).toBeGreaterThan(before);
    const steered = await engine.scoreContinuations(prompt, conts, { steering: strong });
    beside.forEach((x, i) => {
      expect(Math.abs(x - alone[i]!)).toBeLessThan(1e-4);
      // The same vector on the scoring itself moves it far more: the check above can fail.
      expect(Math.abs(steered[i]! - alone[i]!)).toBeGreaterThan(1e-2);
    });
  });

  it("refuses per-request steering beside a global control vector, and bad modes by name", async () => {
    // Queued behind a global vector that is set while it waits: refused when its turn comes.
    const busy = engine.generate({ prompt: "I dream", maxTokens: 8, temperature: 0 });
    const setting = engine.setControlVector({ data: at(v), strength: 1 });
    const waiting = engine.generate({ prompt: "x", maxTokens: 1, steering: { data: at(v), strength: 1 } });
    await busy;
    await setting;
    await expect(waiting).rejects.toThrow(/cannot be combined with a global control vector/);
    try {
      await expect(
        engine.generate({ prompt: "x", maxTokens: 1, steering: { data: at(v), strength: 1 } }),
      ).rejects.toThrow(/cannot be combined with a global control vector/);
    } finally {
      await engine.clearControlVector();
    }
    await expect(
      engine.generate({
        prompt: "x",
        maxTokens: 1,
        steering: { data: at(v), strength: 1, mode: "twist" as "add" },
      }),
    ).rejects.toThrow(/steering mode "twist"/);
    await expect(
      engine.generate({
        prompt: "x",
        maxTokens: 1,
        steering: { data: at(v), strength: 4, mode: "rotate" },
      }),
    ).rejects.toThrow(/−π…π/);
    // The global vector only adds: another mode is refused by name, never applied as an addition.
    await expect(
      engine.setControlVector({ data: at(v), strength: 1, mode: "ablate" } as SequenceSteeringSpec),
    ).rejects.toThrow(/setControlVector only adds.*mode "ablate"/);
    expect(engine.controlVector).toBeUndefined();
  });
});
