import { mkdirSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { type ControlVector, writeControlVector } from "../gguf/vector-file.js";
import {
  clearVectorCache,
  controlVectorSpec,
  loadControlVector,
  resolveVectorPath,
  SteeringError,
} from "./apply-steering.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-apply-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => clearVectorCache());

const info = { nEmbd: 4, nLayer: 6 };
const vec = (layers: number[], nEmbd = 4, fill = 1, modelLayers?: number): ControlVector => ({
  directions: new Map(layers.map((il) => [il, new Float32Array(nEmbd).fill(fill * il)])),
  nEmbd,
  modelHint: "llama",
  ...(modelLayers === undefined
    ? {}
    : {
        meta: {
          model: "m.gguf",
          method: "mean-diff" as const,
          pairs: "builtin",
          pairCount: 2,
          testPairs: 0,
          layers: "1-2",
          created: "2026-01-01T00:00:00.000Z",
          modelLayers,
          modelEmbd: nEmbd,
          lastTokens: 1,
          seed: 0,
          holdout: 0,
          quality: new Map(),
        },
      }),
});
const file = (name: string, v: ControlVector): string => {
  const p = join(dir, name);
  writeControlVector(p, v);
  return p;
};

describe("controlVectorSpec", () => {
  it("ablate: blocks 0..n−1 by default (0 allowed), one direction: the best held-out AUC layer, else the middle", async () => {
    const plain = file("abl.gguf", vec([2, 3, 5]));
    const spec = await controlVectorSpec({ vector: plain, strength: 1, mode: "ablate" }, info);
    expect([spec.layerStart, spec.layerEnd, spec.directionLayer, spec.mode]).toEqual([0, 5, 3, "ablate"]);
    const part = await controlVectorSpec(
      { vector: plain, strength: 1, mode: "ablate", layers: [0, 1] },
      info,
    );
    expect([part.layerStart, part.layerEnd]).toEqual([0, 1]);
    await expect(
      controlVectorSpec({ vector: plain, strength: 1, mode: "ablate", layers: [-1, 2] }, info),
    ).rejects.toThrow(/outside the model's blocks 0\.\.5 \(mode ablate\)/);
    const scored = vec([2, 3, 5], 4, 1, 6);
    const q = (auc: number) => ({ auc, pairAccuracy: auc, norm: 1 });
    scored.meta!.quality = new Map([
      [2, q(0.6)],
      [3, q(0.7)],
      [5, q(0.9)],
    ]);
    const best = await controlVectorSpec(
      { vector: file("abl-q.gguf", scored), strength: 1, mode: "ablate" },
      info,
    );
    expect(best.directionLayer).toBe(5);
    // With class-mean projections, a layer whose means are on one side loses to a discriminative one:
    // the direction `vectors bake --layers auto` removes.
    scored.meta!.quality = new Map([
      [2, { ...q(0.6), posMean: 1, negMean: -1 }],
      [3, { ...q(0.8), posMean: 1, negMean: -1 }],
      [5, { ...q(0.9), posMean: 2, negMean: 1 }],
    ]);
    const disc = await controlVectorSpec(
      { vector: file("abl-q2.gguf", scored), strength: 1, mode: "ablate" },
      info,
    );
    expect(disc.directionLayer).toBe(3);
    // directionLayer picks another one (the runtime counterpart of `vectors bake --direction-layer`).
    const chosen = await controlVectorSpec(
      { vector: file("abl-q2.gguf", scored), strength: 1, mode: "ablate", directionLayer: 2 },
      info,
    );
    expect(chosen.directionLayer).toBe(2);
    await expect(
      controlVectorSpec(
        { vector: file("abl-q2.gguf", scored), strength: 1, mode: "ablate", directionLayer: 4 },
        info,
      ),
    ).rejects.toThrow(/has no direction for layer 4; it has 2, 3, 5/);
    await expect(
      controlVectorSpec({ vector: file("abl-q2.gguf", scored), strength: 1, directionLayer: 2 }, info),
    ).rejects.toThrow(/directionLayer is for mode ablate, not add/);
  });

  it("loads the file and uses all its layers by default", async () => {
    const p = file("a.gguf", vec([2, 3, 5]));
    const spec = await controlVectorSpec({ vector: p, strength: -2.5 }, info);
    expect(spec.layerStart).toBe(2);
    expect(spec.layerEnd).toBe(5);
    expect(spec.strength).toBe(-2.5);
    expect(spec.normPreserving).toBe(false);
    expect([...spec.data.keys()].sort()).toEqual([2, 3, 5]);
    expect([...spec.data.get(3)!]).toEqual([3, 3, 3, 3]);
  });

  it("honours a layer range and norm preservation", async () => {
    const p = file("b.gguf", vec([1, 2, 3, 4, 5]));
    const spec = await controlVectorSpec(
      { vector: p, strength: 1, layers: [2, 3], normPreserving: true },
      info,
    );
    expect([spec.layerStart, spec.layerEnd, spec.normPreserving]).toEqual([2, 3, true]);
  });

  it("names the file, the expected and the actual n_embd on a mismatch", async () => {
    const p = file("wide.gguf", vec([1], 8));
    await expect(controlVectorSpec({ vector: p, strength: 1 }, info)).rejects.toThrow(
      new RegExp(
        `control vector ${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} has n_embd 8, but the model has n_embd 4`,
      ),
    );
  });

  it("refuses vectors for deeper models, other layer counts, and empty layer ranges", async () => {
    const deep = file("deep.gguf", vec([1, 9]));
    await expect(controlVectorSpec({ vector: deep, strength: 1 }, info)).rejects.toThrow(
      /has a direction for layer 9, but the model's steerable layers are 1\.\.5/,
    );
    const other = file("other.gguf", vec([1, 2], 4, 1, 32));
    await expect(controlVectorSpec({ vector: other, strength: 1 }, info)).rejects.toThrow(
      /extracted from a model with 32 layers, but this model has 6/,
    );
    const p = file("c.gguf", vec([1, 2]));
    await expect(controlVectorSpec({ vector: p, strength: 1, layers: [4, 5] }, info)).rejects.toThrow(
      /has no direction in layers 4\.\.5; it has layers 1, 2/,
    );
    await expect(controlVectorSpec({ vector: p, strength: 1, layers: [0, 2] }, info)).rejects.toThrow(
      /outside the model's steerable layers 1\.\.5/,
    );
    await expect(controlVectorSpec({ vector: p, strength: Number.NaN }, info)).rejects.toThrow(SteeringError);
  });

  it("caches by path and re-reads a file that changed", async () => {
    const p = file("cached.gguf", vec([1]));
    const first = loadControlVector(p);
    expect(loadControlVector(p)).toBe(first);
    writeControlVector(p, vec([1], 4, 7));
    // Make sure the mtime moves even on coarse file systems.
    utimesSync(p, new Date(), new Date(Date.now() + 5000));
    const second = loadControlVector(p);
    expect(second).not.toBe(first);
    expect(second.directions.get(1)![0]).toBe(7);
  });

  it("resolves bare names in $STEERBENCH_VECTORS and names what it looked for", () => {
    const lib = join(dir, "lib");
    mkdirSync(lib, { recursive: true });
    const p = file("lib/honesty.gguf", vec([1]));
    expect(resolveVectorPath("honesty", { STEERBENCH_VECTORS: lib })).toBe(p);
    expect(() => resolveVectorPath("nothing", { STEERBENCH_VECTORS: lib })).toThrow(
      /control vector "nothing" not found .*STEERBENCH_VECTORS/,
    );
    expect(() => resolveVectorPath("nothing", {})).toThrow(/not found/);
  });
});
