import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tinyModel } from "../../test/paths.js";
import { GgufError, type GgufValue, readGgufFile, writeGgufFile } from "./gguf.js";
import {
  type ControlVector,
  modelArchitecture,
  readControlVector,
  type VectorMetadata,
  writeControlVector,
} from "./vector-file.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-vec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const row = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));

const meta: VectorMetadata = {
  model: "model.gguf",
  method: "pca",
  pairs: "builtin",
  pairCount: 71,
  testPairs: 18,
  layers: "1-3",
  created: "2026-02-03T04:05:06.000Z",
  modelLayers: 4,
  modelEmbd: 8,
  lastTokens: 2,
  seed: 7,
  holdout: 0.25,
  quality: new Map([
    [1, { auc: 0.5, pairAccuracy: 0.625, norm: 1.5 }],
    [3, { auc: 0.875, pairAccuracy: 1, norm: 0.25 }],
  ]),
};

describe("control-vector files", () => {
  it("round-trips class-mean projections and held-out categories (for --layers auto and sweep)", () => {
    const withMeans: VectorMetadata = {
      ...meta,
      holdoutCategories: ["evading-shutdown", "deceptive-behavior"],
      quality: new Map([[1, { auc: 0.75, pairAccuracy: 0.5, norm: 2, posMean: 0.25, negMean: -0.5 }]]),
    };
    const path = join(dir, "means.gguf");
    writeControlVector(path, {
      directions: new Map([[1, row(8, (i) => i)]]),
      nEmbd: 8,
      modelHint: "llama",
      meta: withMeans,
    });
    expect(readControlVector(path).meta).toEqual(withMeans);
  });

  it("round-trips directions bit for bit, with llama.cpp's keys and steerbench's metadata", () => {
    const vec: ControlVector = {
      // Unsorted on purpose; values include -0 and a subnormal.
      directions: new Map([
        [3, row(8, (i) => (i === 0 ? -0 : Math.exp(-i) * 1e-3))],
        [1, row(8, (i) => (i === 7 ? 1.4e-45 : Math.sin(i) * 17))],
      ]),
      nEmbd: 8,
      modelHint: "llama",
      meta,
    };
    const path = join(dir, "v.gguf");
    writeControlVector(path, vec);
    const back = readControlVector(path);
    expect([...back.directions.keys()].sort()).toEqual([1, 3]);
    for (const [il, v] of vec.directions) expect(bits(back.directions.get(il)!).equals(bits(v))).toBe(true);
    expect(back.nEmbd).toBe(8);
    expect(back.modelHint).toBe("llama");
    expect(back.meta).toEqual(meta);

    const raw = readGgufFile(path);
    expect(raw.kv.get("general.architecture")).toEqual({ type: "string", value: "controlvector" });
    expect(raw.kv.get("controlvector.model_hint")).toEqual({ type: "string", value: "llama" });
    expect(raw.kv.get("controlvector.layer_count")).toEqual({ type: "int32", value: 2 });
    expect(raw.kv.get("steerbench.auc.3")).toEqual({ type: "float32", value: 0.875 });
    // Tensors in layer order, named as llama.cpp's loader expects.
    expect(raw.tensors.map((t) => [t.name, t.shape, t.type])).toEqual([
      ["direction.1", [8], 0],
      ["direction.3", [8], 0],
    ]);
  });

  it("reads files without steerbench metadata (e.g. from llama.cpp's cvector-generator)", () => {
    const path = join(dir, "foreign.gguf");
    writeGgufFile(
      path,
      new Map<string, GgufValue>([
        ["general.architecture", { type: "string", value: "controlvector" }],
        ["controlvector.model_hint", { type: "string", value: "qwen3" }],
        ["controlvector.layer_count", { type: "int32", value: 1 }],
      ]),
      [{ name: "direction.5", shape: [4], data: row(4, (i) => i) }],
    );
    const v = readControlVector(path);
    expect(v.meta).toBeUndefined();
    expect(v.modelHint).toBe("qwen3");
    expect([...v.directions.get(5)!]).toEqual([0, 1, 2, 3]);
  });

  const bad = (
    name: string,
    tensors: { name: string; shape: number[]; data: Float32Array }[],
    arch = "controlvector",
  ) => {
    const path = join(dir, name);
    writeGgufFile(
      path,
      new Map<string, GgufValue>([["general.architecture", { type: "string", value: arch }]]),
      tensors,
    );
    return () => readControlVector(path);
  };

  it("rejects wrong or mixed dimensions, naming the file and the tensor", () => {
    expect(
      bad("mixed.gguf", [
        { name: "direction.1", shape: [4], data: new Float32Array(4) },
        { name: "direction.2", shape: [5], data: new Float32Array(5) },
      ]),
    ).toThrow(/mixed\.gguf: tensor direction\.2 has 5 values, earlier directions have 4/);
    expect(bad("twod.gguf", [{ name: "direction.1", shape: [2, 2], data: new Float32Array(4) }])).toThrow(
      /twod\.gguf: tensor direction\.1 is not 1-D/,
    );
  });

  it("rejects layer 0, stray tensors, empty files and model files", () => {
    expect(bad("zero.gguf", [{ name: "direction.0", shape: [2], data: new Float32Array(2) }])).toThrow(
      /zero\.gguf: tensor direction\.0: layer 0 cannot be steered/,
    );
    expect(bad("stray.gguf", [{ name: "token_embd.weight", shape: [2], data: new Float32Array(2) }])).toThrow(
      /not named direction\.<layer>/,
    );
    expect(bad("none.gguf", [])).toThrow(/none\.gguf: no direction tensors/);
    expect(
      bad("nan.gguf", [{ name: "direction.1", shape: [2], data: Float32Array.from([1, Number.NaN]) }]),
    ).toThrow(/direction\.1 value 1 is NaN/);
    expect(() => readControlVector(tinyModel)).toThrow(
      /general\.architecture is "llama".*a model, not a control vector/,
    );
  });

  it("refuses to write invalid vectors", () => {
    const path = join(dir, "w.gguf");
    const v = (directions: Map<number, Float32Array>): ControlVector => ({
      directions,
      nEmbd: 4,
      modelHint: "x",
    });
    expect(() => writeControlVector(path, v(new Map([[0, new Float32Array(4)]])))).toThrow(GgufError);
    expect(() => writeControlVector(path, v(new Map([[1, new Float32Array(3)]])))).toThrow(
      /3 values, expected n_embd 4/,
    );
    expect(() => writeControlVector(path, v(new Map()))).toThrow(/no direction tensors/);
  });

  it("reads a model's architecture from its header only", () => {
    expect(modelArchitecture(tinyModel)).toBe("llama");
  });
});
