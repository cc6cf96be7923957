// Weight-level checks of `vectors bake` on synthetic Llama GGUFs (F32, F16 and a Q8_0 conversion): every
// edited matrix is W' = (I − v̂v̂ᵀ)W of the original (bit-exact after re-encoding to its type), nothing else
// changes, metadata is kept and the edit recorded; addition folds into a bias or is refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeGguf, encodeGgufHeader, type GgufValue } from "../gguf/gguf.js";
import type { ControlVector } from "../gguf/vector-file.js";
import { writeSyntheticLlamaGguf } from "../llama/synthetic-model.js";
import { mulberry32 } from "../metrics/random.js";
import { bakedEdit, bakeModel, orthogonaliseOutputs, orthogonaliseRows } from "./bake.js";
import { elementCount, openModelFile, readTensorBytes, readTensorF32, writeModelFile } from "./gguf-model.js";
import {
  bf16BitsToF32,
  decodeTensor,
  encodeTensor,
  f16BitsToF32,
  f32ToBf16Bits,
  GGML_TYPE,
} from "./quant.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-bake-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N_EMBD = 64;
const N_LAYER = 4;

function randomVector(seed: number, layers: number[]): ControlVector {
  const rand = mulberry32(seed);
  return {
    directions: new Map(layers.map((il) => [il, Float32Array.from({ length: N_EMBD }, () => rand() - 0.5)])),
    nEmbd: N_EMBD,
    modelHint: "llama",
  };
}

/** A copy of `src` with every 2-D matrix whose rows are a multiple of 32 re-encoded as Q8_0. */
function toQ8_0(src: string, out: string): void {
  const model = openModelFile(src);
  const replace = new Map<string, Float32Array>();
  const retype = new Map<string, number>();
  for (const t of model.tensors) {
    if (t.shape.length === 2 && t.shape[0]! % 32 === 0) {
      replace.set(t.name, readTensorF32(model, t));
      retype.set(t.name, GGML_TYPE.Q8_0);
    }
  }
  const kv = new Map(model.header.kv);
  kv.set("general.file_type", { type: "uint32", value: 7 });
  writeModelFile(model, out, kv, replace, retype);
}

const files: Record<"f32" | "f16" | "q8_0", string> = {
  f32: join(dir, "tiny-f32.gguf"),
  f16: join(dir, "tiny-f16.gguf"),
  q8_0: join(dir, "tiny-q8_0.gguf"),
};

beforeAll(() => {
  writeSyntheticLlamaGguf(files.f32, { preset: "tiny", seed: 3, type: "f32" });
  writeSyntheticLlamaGguf(files.f16, { preset: "tiny", seed: 3, type: "f16" });
  toQ8_0(files.f32, files.q8_0);
});

describe("tensor encodings", () => {
  it("Q8_0 blocks: fp16 scale amax/127, roundf (half away from zero), 34 bytes per 32 values", () => {
    const x = new Float32Array(32);
    x.set([127, -63.5, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49]);
    const b = encodeTensor(GGML_TYPE.Q8_0, x);
    expect(b.length).toBe(34);
    const d = new DataView(b.buffer);
    expect(d.getUint16(0, true)).toBe(0x3c00); // 1.0
    expect([...new Int8Array(b.buffer, 2, 8)]).toEqual([127, -64, 1, -1, 2, 3, -3, 0]);
    expect(decodeTensor(GGML_TYPE.Q8_0, b, 32)[1]).toBe(-64);
    // A zero block has scale 0 and decodes to zeros.
    const z = encodeTensor(GGML_TYPE.Q8_0, new Float32Array(32));
    expect([...z].every((v) => v === 0)).toBe(true);
    expect(() => encodeTensor(GGML_TYPE.Q8_0, new Float32Array(33))).toThrow(/multiple of 32/);
  });

  it("Q8_0 round trips within half a quantisation step; F16 and BF16 are exact on representable values", () => {
    const rand = mulberry32(5);
    const x = Float32Array.from({ length: 256 }, () => (rand() - 0.5) * 0.1);
    const back = decodeTensor(GGML_TYPE.Q8_0, encodeTensor(GGML_TYPE.Q8_0, x), 256);
    for (let b = 0; b < 8; b++) {
      const block = x.subarray(b * 32, b * 32 + 32);
      const step = Math.max(...block.map(Math.abs)) / 127;
      for (let j = 0; j < 32; j++)
        expect(Math.abs(back[b * 32 + j]! - block[j]!)).toBeLessThanOrEqual(step * 0.6); // half a step, plus the fp16 rounding of the scale;
    }
    // Re-encoding decoded values is the identity (what an unedited block goes through).
    const again = encodeTensor(GGML_TYPE.Q8_0, back);
    expect([...again]).toEqual([...encodeTensor(GGML_TYPE.Q8_0, x)]);
    const h = Float32Array.from([1, -2, 0.5, 65504, 2 ** -24]);
    expect([...decodeTensor(GGML_TYPE.F16, encodeTensor(GGML_TYPE.F16, h), 5)]).toEqual([...h]);
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even
  });
});

describe("projection algebra", () => {
  it("W' = (I − v̂v̂ᵀ)W has v̂ᵀW' = 0 and keeps the orthogonal part", () => {
    const rand = mulberry32(9);
    const nIn = 5;
    const nOut = 4;
    const w = Float32Array.from({ length: nIn * nOut }, () => rand() - 0.5);
    const v = Float64Array.from([0.5, 0.5, 0.5, 0.5]);
    const e = orthogonaliseOutputs(w, nIn, nOut, v);
    for (let k = 0; k < nIn; k++) {
      let p = 0;
      for (let j = 0; j < nOut; j++) p += v[j]! * e[j * nIn + k]!;
      expect(Math.abs(p)).toBeLessThan(1e-6);
      // Column k minus its v̂ part equals the edited column.
      let q = 0;
      for (let j = 0; j < nOut; j++) q += v[j]! * w[j * nIn + k]!;
      for (let j = 0; j < nOut; j++) expect(e[j * nIn + k]).toBeCloseTo(w[j * nIn + k]! - v[j]! * q, 6);
    }
    const rows = orthogonaliseRows(Float32Array.from([1, 2, 3, 4]), 4, v);
    expect(rows.reduce((a, x, i) => a + x * v[i]!, 0)).toBeCloseTo(0, 6);
  });
});

describe("vectors bake --mode ablate", () => {
  for (const type of ["f32", "f16", "q8_0"] as const) {
    it(`${type}: edits token_embd, attn_output and ffn_down to (I − v̂v̂ᵀ)W, copies the rest, keeps metadata`, () => {
      const vec = randomVector(11, [1, 2, 3]);
      const out = join(dir, `baked-${type}.gguf`);
      const r = bakeModel(files[type], vec, out, { mode: "ablate", directionLayer: 2 });
      expect(r.layers).toEqual([0, N_LAYER - 1]);
      expect(r.edited.sort()).toEqual(
        [
          "token_embd.weight",
          ...Array.from({ length: N_LAYER }, (_, b) => [
            `blk.${b}.attn_output.weight`,
            `blk.${b}.ffn_down.weight`,
          ]).flat(),
        ].sort(),
      );
      const before = openModelFile(files[type]);
      const after = openModelFile(out);
      const v = vec.directions.get(2)!;
      const n = Math.hypot(...v);
      const vhat = Float64Array.from(v, (x) => x / n);
      for (const t of before.tensors) {
        const u = after.byName.get(t.name)!;
        expect(u.type).toBe(t.type);
        expect(u.shape).toEqual(t.shape);
        const raw = readTensorBytes(after, u);
        if (!r.edited.includes(t.name)) {
          expect(Buffer.compare(raw, readTensorBytes(before, t))).toBe(0);
          continue;
        }
        const w = readTensorF32(before, t);
        const expected =
          t.name === "token_embd.weight"
            ? orthogonaliseRows(w, N_EMBD, vhat)
            : orthogonaliseOutputs(w, t.shape[0]!, t.shape[1]!, vhat);
        // Bit-exact: the file holds exactly the re-encoding of (I − v̂v̂ᵀ)W.
        expect(Buffer.compare(raw, encodeTensor(t.type, expected))).toBe(0);
        // And the direction is gone up to the encoding's rounding.
        const got = readTensorF32(after, u);
        const nIn = t.name === "token_embd.weight" ? 1 : t.shape[0]!;
        const rowsOut = t.name === "token_embd.weight" ? N_EMBD : t.shape[1]!;
        let worst = 0;
        let scale = 0;
        const cols = t.name === "token_embd.weight" ? t.shape[1]! : nIn;
        for (let k = 0; k < cols; k++) {
          let p = 0;
          let p0 = 0;
          for (let j = 0; j < rowsOut; j++) {
            const idx = t.name === "token_embd.weight" ? k * N_EMBD + j : j * nIn + k;
            p += vhat[j]! * got[idx]!;
            p0 += vhat[j]! * w[idx]!;
          }
          worst = Math.max(worst, Math.abs(p));
          scale = Math.max(scale, Math.abs(p0));
        }
        expect(worst).toBeLessThan(type === "f32" ? 1e-6 : scale * 0.1);
      }
      // The synthetic model ties its output head to token_embd: the original embedding is kept as output.weight.
      expect(r.added).toEqual(["output.weight"]);
      expect(after.tensors).toHaveLength(before.tensors.length + 1);
      const head = after.byName.get("output.weight")!;
      const embd = before.byName.get("token_embd.weight")!;
      expect(head.type).toBe(embd.type);
      expect(Buffer.compare(readTensorBytes(after, head), readTensorBytes(before, embd))).toBe(0);
      for (const [k, val] of before.header.kv) expect(after.header.kv.get(k)).toEqual(val);
      const edit = bakedEdit(out)!;
      expect(edit).toMatchObject({
        mode: "ablate",
        direction_layer: 2,
        layers: "0-3",
        source_model: `tiny-${type}.gguf`,
      });
      expect(bakedEdit(files[type])).toBeUndefined();
    });
  }

  it("--layers edits only those blocks (and the embedding only from block 0); a second bake appends to the history", () => {
    const vec = randomVector(12, [1, 2, 3]);
    const out = join(dir, "baked-partial.gguf");
    const r = bakeModel(files.f32, vec, out, { mode: "ablate", layers: [2, 3] });
    expect(r.edited.sort()).toEqual(
      [
        "blk.2.attn_output.weight",
        "blk.2.ffn_down.weight",
        "blk.3.attn_output.weight",
        "blk.3.ffn_down.weight",
      ].sort(),
    );
    const twice = join(dir, "baked-twice.gguf");
    bakeModel(out, vec, twice, { mode: "ablate", layers: [1, 1] });
    const h = openModelFile(twice).header.kv.get("steerbench.edit.history");
    expect(h?.type === "array" && h.value.length).toBe(2);
    expect(bakedEdit(twice)!.layers).toBe("1-1");
  });

  it("--layers auto picks the discriminative run and its best layer's direction", () => {
    const vec = randomVector(13, [1, 2, 3]);
    vec.meta = {
      model: "tiny.gguf",
      method: "mean-diff",
      pairs: "builtin",
      pairCount: 8,
      testPairs: 2,
      layers: "1-3",
      created: "2026-01-01T00:00:00.000Z",
      modelLayers: N_LAYER,
      modelEmbd: N_EMBD,
      lastTokens: 1,
      seed: 0,
      holdout: 0.25,
      quality: new Map([
        [1, { auc: 0.99, pairAccuracy: 1, norm: 1, posMean: 2, negMean: 1 }],
        [2, { auc: 0.8, pairAccuracy: 1, norm: 1, posMean: 1, negMean: -1 }],
        [3, { auc: 0.9, pairAccuracy: 1, norm: 1, posMean: 1, negMean: -1 }],
      ]),
    };
    const r = bakeModel(files.f32, vec, join(dir, "baked-auto.gguf"), { mode: "ablate", layers: "auto" });
    expect(r.layers).toEqual([2, 3]);
    expect(r.directionLayer).toBe(3);
    expect(r.layerReason).toContain("opposite signs at 2-3");
  });

  it("refuses bad inputs by name", () => {
    expect(() =>
      bakeModel(
        files.f32,
        { ...randomVector(1, [1]), nEmbd: 32, directions: new Map([[1, new Float32Array(32)]]) },
        join(dir, "x.gguf"),
        { mode: "ablate" },
      ),
    ).toThrow(/n_embd 32, but .* has n_embd 64/);
    expect(() =>
      bakeModel(files.f32, randomVector(1, [1]), join(dir, "x.gguf"), { mode: "ablate", layers: [2, 9] }),
    ).toThrow(/outside the model's blocks 0..3/);
    expect(() =>
      bakeModel(files.f32, randomVector(1, [1]), join(dir, "x.gguf"), { mode: "ablate", strength: 2 }),
    ).toThrow(/--strength has no meaning/);
    expect(() =>
      bakeModel(files.f32, randomVector(1, [1]), join(dir, "x.gguf"), { mode: "ablate", directionLayer: 3 }),
    ).toThrow(/no direction for layer 3/);
    const zero: ControlVector = {
      directions: new Map([[1, new Float32Array(N_EMBD)]]),
      nEmbd: N_EMBD,
      modelHint: "llama",
    };
    expect(() => bakeModel(files.f32, zero, join(dir, "x.gguf"), { mode: "ablate" })).toThrow(/zero vector/);
  });

  it("refuses a quantisation it cannot re-encode, naming the tensor and its type", () => {
    // A header claiming a Q4_K attn_output (144 bytes per 256 values), then zero data.
    const kv = new Map<string, GgufValue>([
      ["general.architecture", { type: "string", value: "llama" }],
      ["llama.block_count", { type: "uint32", value: 1 }],
      ["llama.embedding_length", { type: "uint32", value: 256 }],
    ]);
    const tensors = [
      { name: "token_embd.weight", shape: [256, 4], type: 0, byteLength: 4096 },
      { name: "blk.0.attn_output.weight", shape: [256, 256], type: 12, byteLength: 256 * 144 },
    ];
    const { header } = encodeGgufHeader(kv, tensors);
    const path = join(dir, "q4k.gguf");
    const body = Buffer.concat([Buffer.from(header), Buffer.alloc(4096 + 256 * 144)]);
    writeFileSync(path, body);
    const vec: ControlVector = {
      directions: new Map([[1, Float32Array.from({ length: 256 }, (_, i) => (i === 0 ? 1 : 0))]]),
      nEmbd: 256,
      modelHint: "llama",
    };
    expect(() => bakeModel(path, vec, join(dir, "x.gguf"), { mode: "ablate" })).toThrow(
      /tensor blk\.0\.attn_output\.weight is Q4_K; bake edits F32, F16, BF16 and Q8_0/,
    );
  });
});

describe("vectors bake --mode add", () => {
  it("refuses on Llama, which has no residual-writer biases", () => {
    expect(() =>
      bakeModel(files.f32, randomVector(2, [1, 2]), join(dir, "x.gguf"), { mode: "add", strength: 4 }),
    ).toThrow(
      /architecture "llama" has no bias on its residual-stream writers \(no blk\.1\.ffn_down\.bias\).*Llama has no attention-output or FFN-down biases/,
    );
    expect(() => bakeModel(files.f32, randomVector(2, [1]), join(dir, "x.gguf"), { mode: "add" })).toThrow(
      /needs a finite --strength/,
    );
  });

  it("folds s·v into ffn_down.bias where the architecture has one", () => {
    const kv = new Map<string, GgufValue>([
      ["general.architecture", { type: "string", value: "gpt2" }],
      ["gpt2.block_count", { type: "uint32", value: 2 }],
      ["gpt2.embedding_length", { type: "uint32", value: N_EMBD }],
    ]);
    const bias = Float32Array.from({ length: N_EMBD }, (_, i) => i / 100);
    const path = join(dir, "gpt2ish.gguf");
    writeFileSync(
      path,
      encodeGguf(kv, [
        { name: "token_embd.weight", shape: [N_EMBD, 8], data: new Float32Array(N_EMBD * 8).fill(0.1) },
        {
          name: "blk.1.ffn_down.weight",
          shape: [128, N_EMBD],
          data: new Float32Array(128 * N_EMBD).fill(0.2),
        },
        { name: "blk.1.ffn_down.bias", shape: [N_EMBD], data: bias },
      ]),
    );
    const vec = randomVector(4, [1]);
    const out = join(dir, "gpt2ish-add.gguf");
    const r = bakeModel(path, vec, out, { mode: "add", strength: 2.5 });
    expect(r.edited).toEqual(["blk.1.ffn_down.bias"]);
    const m = openModelFile(out);
    const got = readTensorF32(m, m.byName.get("blk.1.ffn_down.bias")!);
    const v = vec.directions.get(1)!;
    for (let k = 0; k < N_EMBD; k++) expect(got[k]).toBeCloseTo(bias[k]! + 2.5 * v[k]!, 5);
    expect(bakedEdit(out)).toMatchObject({ mode: "add", strength: 2.5, layers: "1-1" });
    expect(elementCount(m.byName.get("token_embd.weight")!.shape)).toBe(N_EMBD * 8);
    expect(readFileSync(out).subarray(0, 4).toString()).toBe("GGUF");
  });
});
