// Synthetic GGUFs: the F16 conversion against IEEE 754 binary16 values, the file against our GGUF reader,
// and the tiny preset loaded and run by the real llama.cpp through LlamaEngine.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGgufFile } from "../gguf/gguf.js";
import { LlamaEngine } from "./engine.js";
import {
  ensureSyntheticLlamaGguf,
  f32ToF16Bits,
  SYNTHETIC_PRESETS,
  syntheticModelFileName,
  syntheticParamCount,
  writeSyntheticLlamaGguf,
} from "./synthetic-model.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-synth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** binary16 bits → number, straight from the format's definition (independent of f32ToF16Bits). */
function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

describe("f32ToF16Bits", () => {
  it("encodes exact values, limits and specials as IEEE 754 binary16", () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(0.5)).toBe(0x3800);
    expect(f32ToF16Bits(65504)).toBe(0x7bff); // largest finite
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(f32ToF16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(f32ToF16Bits(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(f32ToF16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToF16Bits(Number.NaN) & 0x3ff).not.toBe(0);
  });

  it("rounds to nearest, ties to even, in normal and subnormal ranges", () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie → 0
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 subnormal units: tie → even
    expect(f32ToF16Bits(2 ** -26)).toBe(0x0000);
    // Halfway between 31.984375 (0x4fff, odd) and 32: rounds up, the mantissa carry bumping the exponent.
    expect(f32ToF16Bits(31.9921875)).toBe(0x5000);
  });

  it("stays within half an ulp on many values around the weights' scale", () => {
    let x = 12345;
    for (let i = 0; i < 20000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const v = Math.fround(((x / 2 ** 32) * 2 - 1) * 0.1 * 2 ** ((i % 24) - 12));
      const back = f16ToNumber(f32ToF16Bits(v));
      const a = Math.abs(v);
      const ulp = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
      expect(Math.abs(back - v)).toBeLessThanOrEqual(ulp / 2 + 1e-30);
    }
  });
});

describe("synthetic GGUF files", () => {
  it("has SmolLM2-135M's published parameter count for the smollm2-135m preset", () => {
    expect(syntheticParamCount("smollm2-135m")).toBe(134_515_008);
  });

  it("has Qwen2.5-1.5B's published size (1.54B, 1.31B without the embedding) less its q/k/v biases", () => {
    const embedding = 151_936 * 1536;
    expect(syntheticParamCount("qwen2.5-1.5b")).toBe(1_543_656_960);
    expect((syntheticParamCount("qwen2.5-1.5b") - embedding) / 1e9).toBeCloseTo(1.31, 2);
  });

  it("writes the llama layout our reader (and llama.cpp) expects, F32 and F16", () => {
    const f32 = writeSyntheticLlamaGguf(join(dir, "t32.gguf"), { preset: "tiny", seed: 3 });
    const f16 = writeSyntheticLlamaGguf(join(dir, "t16.gguf"), { preset: "tiny", seed: 3, type: "f16" });
    for (const info of [f32, f16]) {
      expect(statSync(info.path).size).toBe(info.bytes);
      const g = readGgufFile(info.path, { data: false });
      const s = SYNTHETIC_PRESETS.tiny;
      expect(g.kv.get("general.architecture")).toEqual({ type: "string", value: "llama" });
      expect(g.kv.get("llama.block_count")).toEqual({ type: "uint32", value: s.nLayer });
      expect(g.kv.get("llama.attention.head_count_kv")).toEqual({ type: "uint32", value: s.nHeadKv });
      const tokens = g.kv.get("tokenizer.ggml.tokens");
      expect(tokens?.type === "array" && tokens.value.length).toBe(s.nVocab);
      expect(tokens?.type === "array" && tokens.value.slice(0, 4)).toEqual([
        "<unk>",
        "<s>",
        "</s>",
        "<0x00>",
      ]);
      expect(g.tensors).toHaveLength(s.nLayer * 9 + 2);
      const byName = new Map(g.tensors.map((t) => [t.name, t]));
      expect(byName.get("blk.0.attn_k.weight")?.shape).toEqual([64, 32]); // head_dim 16 × 2 KV heads
      expect(byName.get("blk.3.ffn_down.weight")?.shape).toEqual([s.nFf, s.nEmbd]);
      expect(byName.get("output_norm.weight")?.type).toBe(0); // norms stay F32
      expect(byName.get("token_embd.weight")?.type).toBe(info.type === "f16" ? 1 : 0);
      expect(g.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0)).toBe(info.nParams);
    }
    // Same options → same bytes; another seed → other weights.
    const again = writeSyntheticLlamaGguf(join(dir, "t32b.gguf"), { preset: "tiny", seed: 3 });
    const other = writeSyntheticLlamaGguf(join(dir, "t32c.gguf"), { preset: "tiny", seed: 4 });
    expect(readFileSync(again.path).equals(readFileSync(f32.path))).toBe(true);
    expect(readFileSync(other.path).equals(readFileSync(f32.path))).toBe(false);
    expect(readFileSync(other.path).length).toBe(f32.bytes);
  });

  it("writes random N(0, 0.02²) matrices and unit norms", () => {
    const info = writeSyntheticLlamaGguf(join(dir, "stats.gguf"), { preset: "tiny", seed: 9 });
    const g = readGgufFile(info.path);
    const data = (name: string) => g.tensors.find((t) => t.name === name)!.data!;
    expect([...data("blk.1.ffn_norm.weight")].every((x) => x === 1)).toBe(true);
    const w = data("token_embd.weight");
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(std).toBeGreaterThan(0.0195);
    expect(std).toBeLessThan(0.0205);
  });

  it("caches by preset, type and seed", () => {
    const opts = { preset: "tiny", seed: 5, type: "f16" } as const;
    expect(syntheticModelFileName(opts)).toMatch(/tiny-f16-seed5/);
    const first = ensureSyntheticLlamaGguf(dir, opts);
    const second = ensureSyntheticLlamaGguf(dir, opts);
    expect(first.created).toBe(true);
    expect(second).toEqual({ path: first.path, created: false });
  });

  it("rejects bad options with the offending key", () => {
    // @ts-expect-error an unknown preset
    expect(() => writeSyntheticLlamaGguf(join(dir, "x.gguf"), { preset: "huge" })).toThrow(/preset/);
    expect(() => writeSyntheticLlamaGguf(join(dir, "x.gguf"), { preset: "tiny", seed: -1 })).toThrow(/seed/);
  });
});

describe("the tiny synthetic model in llama.cpp", () => {
  let engine: LlamaEngine;
  let engine16: LlamaEngine;

  beforeAll(async () => {
    const f32 = writeSyntheticLlamaGguf(join(dir, "run32.gguf"), { preset: "tiny", seed: 1 });
    const f16 = writeSyntheticLlamaGguf(join(dir, "run16.gguf"), { preset: "tiny", seed: 1, type: "f16" });
    // One thread: ggml's spinning thread pool collapses on an oversubscribed 2-core machine.
    engine = await LlamaEngine.load(f32.path, { threads: 1, contextSize: 128 });
    engine16 = await LlamaEngine.load(f16.path, { threads: 1, contextSize: 128 });
  });

  afterAll(async () => {
    await engine?.dispose();
    await engine16?.dispose();
  });

  it("loads with the preset's shape and parameter count", () => {
    const s = SYNTHETIC_PRESETS.tiny;
    expect(engine.info).toMatchObject({
      nLayer: s.nLayer,
      nEmbd: s.nEmbd,
      nVocab: s.nVocab,
      nCtxTrain: s.contextLength,
      nParams: syntheticParamCount("tiny"),
      chatTemplate: "none",
    });
    expect(engine16.info.nParams).toBe(syntheticParamCount("tiny"));
  });

  it("tokenizes as SentencePiece: BOS first, pieces of several characters, bytes for the rest", () => {
    const text = "hello world, café";
    const tokens = engine.tokenize(text);
    expect(tokens[0]).toBe(1);
    // Fewer tokens than characters: multi-character pieces were merged.
    expect(tokens.length).toBeLessThan(text.length);
    // "é" is not a piece: its two UTF-8 bytes come out as byte tokens <0xC3> <0xA9> (ids 3 + byte).
    expect(tokens.slice(-2)).toEqual([3 + 0xc3, 3 + 0xa9]);
    expect(engine.detokenize(tokens, { removeSpecial: true }).trim()).toBe(text);
  });

  it("generates greedily and deterministically, F32 and F16", async () => {
    for (const e of [engine, engine16]) {
      const a = await e.generate({ prompt: "the weather today", maxTokens: 6, temperature: 0 });
      const b = await e.generate({ prompt: "the weather today", maxTokens: 6, temperature: 0 });
      expect(a.promptTokens).toBeGreaterThan(1);
      expect(a.completionTokens + (a.finishReason === "eog" ? 1 : 0)).toBeGreaterThan(0);
      expect(a.tokens.every((t) => t >= 0 && t < SYNTHETIC_PRESETS.tiny.nVocab)).toBe(true);
      expect(b.tokens).toEqual(a.tokens);
    }
  });

  it("exposes every layer to hidden-state capture", async () => {
    const rows = await engine.captureHiddenStates({ prompt: "the weather", layers: [0, 1, 2, 3] });
    for (const il of [0, 1, 2, 3]) {
      const row = rows.get(il)![0]!;
      expect(row).toHaveLength(SYNTHETIC_PRESETS.tiny.nEmbd);
      expect(row.every(Number.isFinite)).toBe(true);
    }
  });
});
