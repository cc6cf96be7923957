// Synthetic llama-architecture GGUF models: real shapes, seeded random weights, a minimal SentencePiece-style
// vocabulary. They exist for benchmarks and tests that need a model of realistic size (the cost of a decode
// depends on shapes, not on what the weights mean) without downloading one. The weights are RANDOM: the
// text such a model generates is meaningless.
//
// Layout follows llama.cpp's llama loader (src/models/llama.cpp of the bundled v0.5.0 source): token_embd,
// per block attn_norm / attn_q / attn_k / attn_v / attn_output / ffn_norm / ffn_gate / ffn_down / ffn_up, and
// output_norm; no output.weight, so the output projection is tied to token_embd (as SmolLM2 does). Norm
// weights are 1 and stay F32; matrices are N(0, 0.02²) in F32 or F16. The tokenizer is "llama" (SPM):
// <unk>/<s>/</s> (ids 0/1/2, as llama.cpp's defaults), the 256 byte tokens <0x00>…<0xFF>, then "▁", printable
// ASCII, and letter n-grams, so English text tokenizes into pieces of a few characters, as a real vocabulary
// would.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { decodeGguf, encodeGguf, GGUF_DEFAULT_ALIGNMENT, type GgufValue } from "../gguf/gguf.js";
import { f32ToF16Bits } from "../gguf/half.js";

export { f32ToF16Bits };

export type SyntheticPreset = "smollm2-135m" | "qwen2.5-1.5b" | "tiny";
export type SyntheticWeightType = "f32" | "f16";

export interface SyntheticShape {
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  nVocab: number;
  contextLength: number;
  ropeTheta: number;
  rmsEps: number;
}

/** Shapes: "smollm2-135m" is HuggingFaceTB/SmolLM2-135M's configuration (134,515,008 parameters). */
export const SYNTHETIC_PRESETS: Readonly<Record<SyntheticPreset, Readonly<SyntheticShape>>> = {
  "smollm2-135m": {
    nEmbd: 576,
    nLayer: 30,
    nHead: 9,
    nHeadKv: 3,
    nFf: 1536,
    nVocab: 49152,
    contextLength: 2048,
    ropeTheta: 10000,
    rmsEps: 1e-5,
  },
  // Qwen/Qwen2.5-1.5B's matrix shapes (tied embeddings) in the llama architecture, without Qwen2's q/k/v
  // biases (28 × 2,048 values): for GPU-vs-CPU speed at a realistic size (scripts/gpu-check.sh), ~3.1 GB in F16.
  "qwen2.5-1.5b": {
    nEmbd: 1536,
    nLayer: 28,
    nHead: 12,
    nHeadKv: 2,
    nFf: 8960,
    nVocab: 151936,
    contextLength: 32768,
    ropeTheta: 1000000,
    rmsEps: 1e-6,
  },
  tiny: {
    nEmbd: 64,
    nLayer: 4,
    nHead: 4,
    nHeadKv: 2,
    nFf: 128,
    nVocab: 512,
    contextLength: 512,
    ropeTheta: 10000,
    rmsEps: 1e-5,
  },
};

export interface SyntheticModelOptions {
  preset: SyntheticPreset;
  /** Seed of the weights (default 0): the same seed always writes the same bytes. */
  seed?: number;
  /** Matrix storage (default "f32"); norm weights are always F32. */
  type?: SyntheticWeightType;
}

export interface SyntheticModelInfo {
  path: string;
  preset: SyntheticPreset;
  seed: number;
  type: SyntheticWeightType;
  shape: SyntheticShape;
  nParams: number;
  /** File size in bytes. */
  bytes: number;
}

/** Bump when the bytes written for a given (preset, seed, type) change, so caches are not reused. */
export const SYNTHETIC_FORMAT_VERSION = 1;
/** Standard deviation of the random matrices (GPT-2-style initialisation scale). */
export const SYNTHETIC_WEIGHT_STD = 0.02;

const OptionsSchema = z
  .object({
    preset: z.enum(["smollm2-135m", "qwen2.5-1.5b", "tiny"]),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    type: z.enum(["f32", "f16"]).optional(),
  })
  .strict();

function parseOptions(options: SyntheticModelOptions): Required<SyntheticModelOptions> {
  const r = OptionsSchema.safeParse(options);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new TypeError(`invalid synthetic model options: ${issues}`);
  }
  return { preset: r.data.preset, seed: r.data.seed ?? 0, type: r.data.type ?? "f32" };
}

// ---------------------------------------------------------------------------------------------------------
// Tensors.

const GGML_F32 = 0;
const GGML_F16 = 1;

interface TensorSpec {
  name: string;
  /** ggml order: ne[0] (contiguous) first. */
  shape: number[];
  kind: "norm" | "matrix";
}

function tensorSpecs(s: SyntheticShape): TensorSpec[] {
  const headDim = s.nEmbd / s.nHead;
  const nEmbdKv = headDim * s.nHeadKv;
  const specs: TensorSpec[] = [{ name: "token_embd.weight", shape: [s.nEmbd, s.nVocab], kind: "matrix" }];
  for (let i = 0; i < s.nLayer; i++) {
    const b = `blk.${i}`;
    specs.push(
      { name: `${b}.attn_norm.weight`, shape: [s.nEmbd], kind: "norm" },
      { name: `${b}.attn_q.weight`, shape: [s.nEmbd, s.nEmbd], kind: "matrix" },
      { name: `${b}.attn_k.weight`, shape: [s.nEmbd, nEmbdKv], kind: "matrix" },
      { name: `${b}.attn_v.weight`, shape: [s.nEmbd, nEmbdKv], kind: "matrix" },
      { name: `${b}.attn_output.weight`, shape: [s.nEmbd, s.nEmbd], kind: "matrix" },
      { name: `${b}.ffn_norm.weight`, shape: [s.nEmbd], kind: "norm" },
      { name: `${b}.ffn_gate.weight`, shape: [s.nEmbd, s.nFf], kind: "matrix" },
      { name: `${b}.ffn_down.weight`, shape: [s.nFf, s.nEmbd], kind: "matrix" },
      { name: `${b}.ffn_up.weight`, shape: [s.nEmbd, s.nFf], kind: "matrix" },
    );
  }
  specs.push({ name: "output_norm.weight", shape: [s.nEmbd], kind: "norm" });
  return specs;
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The parameter count of a preset (what llama_model_n_params reports for the written file). */
export function syntheticParamCount(preset: SyntheticPreset): number {
  return tensorSpecs(SYNTHETIC_PRESETS[preset]).reduce((n, t) => n + count(t.shape), 0);
}

// ---------------------------------------------------------------------------------------------------------
// Random numbers: sfc32 seeded from (seed, tensor index), so each tensor is generated independently.

function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function rngFor(seed: number, stream: number): () => number {
  const next = sfc32(0x9e3779b9, seed >>> 0, stream >>> 0, 0x85ebca6b);
  for (let i = 0; i < 16; i++) next(); // warm up: the first outputs of sfc32 are correlated with the seed
  return next;
}

/** Fills `out` with N(0, std²) values (Box–Muller). */
function fillNormal(out: Float32Array, std: number, rand: () => number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - rand(); // (0, 1]: log(0) is never taken
    const r = std * Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * rand();
    out[i] = r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta);
  }
}

// ---------------------------------------------------------------------------------------------------------
// F16.

// ---------------------------------------------------------------------------------------------------------
// Vocabulary.

const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_UNKNOWN = 2;
const TOKEN_TYPE_CONTROL = 3;
const TOKEN_TYPE_BYTE = 6;
/** SentencePiece's word-boundary marker (U+2581), which llama.cpp's SPM tokenizer puts for spaces. */
const SPACE = "\u2581";

function vocabulary(n: number): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [TOKEN_TYPE_UNKNOWN, TOKEN_TYPE_CONTROL, TOKEN_TYPE_CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TOKEN_TYPE_BYTE);
  }
  if (tokens.length > n) throw new RangeError(`a vocabulary needs at least ${tokens.length} tokens`);
  const lower = "abcdefghijklmnopqrstuvwxyz";
  const upper = lower.toUpperCase();
  function* pieces(): Generator<string> {
    yield SPACE;
    for (let c = 0x21; c <= 0x7e; c++) yield String.fromCharCode(c);
    for (const ch of lower + upper) yield SPACE + ch;
    for (const a of lower) for (const b of lower) yield a + b;
    for (const a of lower) for (const b of lower) yield SPACE + a + b;
    for (const a of lower) for (const b of lower) for (const c of lower) yield a + b + c;
    for (const a of lower) for (const b of lower) for (const c of lower) yield SPACE + a + b + c;
    for (const a of lower)
      for (const b of lower) for (const c of lower) for (const d of lower) yield a + b + c + d;
  }
  for (const p of pieces()) {
    if (tokens.length >= n) break;
    tokens.push(p);
    types.push(TOKEN_TYPE_NORMAL);
  }
  if (tokens.length < n) throw new RangeError(`cannot build a vocabulary of ${n} tokens`);
  // SPM merges the pair with the highest score first: earlier (shorter) pieces first, as BPE would.
  const scores = tokens.map((_, i) => (types[i] === TOKEN_TYPE_NORMAL ? -i : 0));
  return { tokens, scores, types };
}

function metadata(preset: SyntheticPreset, type: SyntheticWeightType, seed: number): Map<string, GgufValue> {
  const s = SYNTHETIC_PRESETS[preset];
  const v = vocabulary(s.nVocab);
  const u32 = (value: number): GgufValue => ({ type: "uint32", value });
  return new Map<string, GgufValue>([
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: `steerbench synthetic ${preset} (random weights)` }],
    [
      "general.description",
      {
        type: "string",
        value: `RANDOM weights (seed ${seed}, N(0, ${SYNTHETIC_WEIGHT_STD}^2)) in the shape of ${preset}; for benchmarks only, not a trained model`,
      },
    ],
    ["general.file_type", u32(type === "f16" ? 1 : 0)],
    ["llama.context_length", u32(s.contextLength)],
    ["llama.embedding_length", u32(s.nEmbd)],
    ["llama.block_count", u32(s.nLayer)],
    ["llama.feed_forward_length", u32(s.nFf)],
    ["llama.rope.dimension_count", u32(s.nEmbd / s.nHead)],
    ["llama.attention.head_count", u32(s.nHead)],
    ["llama.attention.head_count_kv", u32(s.nHeadKv)],
    ["llama.attention.layer_norm_rms_epsilon", { type: "float32", value: s.rmsEps }],
    ["llama.rope.freq_base", { type: "float32", value: s.ropeTheta }],
    ["llama.vocab_size", u32(s.nVocab)],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: v.tokens }],
    ["tokenizer.ggml.scores", { type: "array", itemType: "float32", value: v.scores }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "int32", value: v.types }],
    ["tokenizer.ggml.bos_token_id", u32(1)],
    ["tokenizer.ggml.eos_token_id", u32(2)],
    ["tokenizer.ggml.unknown_token_id", u32(0)],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// Writing.

const padTo = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The KV section exactly as gguf/gguf.ts encodes it (header with 0 tensors, without its final padding). */
function kvSection(kv: ReadonlyMap<string, GgufValue>): Buffer {
  const bytes = encodeGguf(kv, []);
  // With no tensors the reader's dataOffset is where the KV pairs end, before the padding.
  const end = decodeGguf(bytes, "synthetic header", { data: false }).dataOffset;
  return Buffer.from(bytes.buffer, bytes.byteOffset, end);
}

function tensorInfos(specs: readonly TensorSpec[], matrixType: number): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (const t of specs) {
    const type = t.kind === "norm" ? GGML_F32 : matrixType;
    const name = Buffer.from(t.name, "utf8");
    const b = Buffer.alloc(8 + name.length + 4 + 8 * t.shape.length + 4 + 8);
    let p = b.writeBigUInt64LE(BigInt(name.length), 0);
    p += name.copy(b, p);
    p = b.writeUInt32LE(t.shape.length, p);
    for (const d of t.shape) p = b.writeBigInt64LE(BigInt(d), p);
    p = b.writeInt32LE(type, p);
    b.writeBigUInt64LE(BigInt(offset), p);
    parts.push(b);
    offset += padTo(count(t.shape) * (type === GGML_F16 ? 2 : 4), GGUF_DEFAULT_ALIGNMENT);
  }
  return Buffer.concat(parts);
}

/**
 * Writes a llama-architecture GGUF with the preset's shapes and seeded RANDOM weights (atomically: a
 * temporary file renamed over `path`). Deterministic: the same options always give the same bytes.
 */
export function writeSyntheticLlamaGguf(path: string, options: SyntheticModelOptions): SyntheticModelInfo {
  const { preset, seed, type } = parseOptions(options);
  const shape = { ...SYNTHETIC_PRESETS[preset] };
  const specs = tensorSpecs(shape);
  const matrixType = type === "f16" ? GGML_F16 : GGML_F32;

  const kv = kvSection(metadata(preset, type, seed));
  kv.writeBigInt64LE(BigInt(specs.length), 8); // the tensor count field of the header
  const infos = tensorInfos(specs, matrixType);

  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  let pos = 0;
  const write = (b: Uint8Array) => {
    let done = 0;
    while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
    pos += b.length;
  };
  const zeros = Buffer.alloc(GGUF_DEFAULT_ALIGNMENT);
  const pad = () => write(zeros.subarray(0, padTo(pos, GGUF_DEFAULT_ALIGNMENT) - pos));
  try {
    write(kv);
    write(infos);
    pad();
    for (const [i, t] of specs.entries()) {
      const values = new Float32Array(count(t.shape));
      if (t.kind === "norm") values.fill(1);
      else fillNormal(values, SYNTHETIC_WEIGHT_STD, rngFor(seed, i));
      if (t.kind === "matrix" && type === "f16") {
        const half = new Uint16Array(values.length);
        for (let k = 0; k < values.length; k++) half[k] = f32ToF16Bits(values[k]!);
        write(littleEndian(half));
      } else {
        write(littleEndian(values));
      }
      pad(); // every tensor, the last one included, is padded to the alignment (llama.cpp reads it so)
    }
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, path);
  return {
    path,
    preset,
    seed,
    type,
    shape,
    nParams: specs.reduce((n, t) => n + count(t.shape), 0),
    bytes: pos,
  };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndian(a: Float32Array | Uint16Array): Uint8Array {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN) return b;
  const copy = b.slice();
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < copy.length; i += w) copy.subarray(i, i + w).reverse();
  return copy;
}

/** The cache file name for a synthetic model (preset, type, seed and format version). */
export function syntheticModelFileName(options: SyntheticModelOptions): string {
  const { preset, seed, type } = parseOptions(options);
  return `steerbench-synthetic-${preset}-${type}-seed${seed}-v${SYNTHETIC_FORMAT_VERSION}.gguf`;
}

/**
 * The synthetic model in `dir` (e.g. os.tmpdir()), written only when it is not there yet. Returns its path
 * and whether it was written now.
 */
export function ensureSyntheticLlamaGguf(
  dir: string,
  options: SyntheticModelOptions,
): { path: string; created: boolean } {
  const path = join(dir, syntheticModelFileName(options));
  // The write is atomic (rename), so an existing file is complete.
  if (existsSync(path) && statSync(path).isFile()) return { path, created: false };
  mkdirSync(dir, { recursive: true });
  writeSyntheticLlamaGguf(path, options);
  return { path, created: true };
}
