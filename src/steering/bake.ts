// `vectors bake`: activation steering turned into a weight edit, so the steered model ships as a plain GGUF.
//
// Ablation ("abliteration", Arditi et al. 2024, "Refusal in Language Models Is Mediated by a Single
// Direction"): every matrix that writes into the residual stream is orthogonalised against the unit
// direction v̂, W' = (I − v̂v̂ᵀ)W, so no block can write along v̂ any more: the token embedding rows, and per
// block the attention output and FFN down projections (and their biases where a model has them). When the
// embedding and every block are edited, the residual stream has no component along v̂ anywhere: the same as
// projecting v̂ out at the embedding output, after every attention and after every FFN at run time.
//
// Addition (ActAdd / CAA: h ← h + s·v after block il) folds into a bias on the block's last residual writer,
// `blk.<il>.ffn_down.bias`, where the architecture has one. Llama has no biases there, so for Llama-family
// models bake refuses and says so.
//
// Tensors are decoded to f32, edited in float64 and re-encoded to their own type (F32, F16, BF16, Q8_0);
// tensors bake does not edit are copied byte for byte. The edit is recorded in `steerbench.edit.*` keys.
import { basename } from "node:path";
import type { GgufValue } from "../gguf/gguf.js";
import type { ControlVector } from "../gguf/vector-file.js";
import { ablationDirectionLayer } from "../llama/apply-steering.js";
import { autoLayers } from "../protocol/layer-select.js";
import { fileSha256 } from "./file-hash.js";
import {
  elementCount,
  type ModelFile,
  type ModelTensor,
  openModelFile,
  type RawTensor,
  readTensorBytes,
  readTensorF32,
  writeModelFile,
} from "./gguf-model.js";
import { encodedSize, ggmlTypeName, isEditableType } from "./quant.js";

export class BakeError extends Error {}

export type BakeMode = "ablate" | "add";

export interface BakeOptions {
  mode: BakeMode;
  /** Addition only: the multiplier of the vector. */
  strength?: number;
  /**
   * Blocks il (0-based, as `l_out-<il>`) whose writers are edited, or "auto" (selective-steering rule). Ablation
   * default: the embedding and every block; the embedding is edited when the range starts at 0. Addition
   * default: the vector's layers.
   */
  layers?: [number, number] | "auto";
  /** Ablation: the layer whose direction is used (default: best held-out AUC, else the vector's middle layer). */
  directionLayer?: number;
  /** Recorded in the metadata. */
  vectorPath?: string;
  created?: Date;
}

export interface BakeResult {
  mode: BakeMode;
  layers: [number, number];
  directionLayer?: number;
  strength?: number;
  /** Names of the edited tensors. */
  edited: string[];
  /** Tensors added: `output.weight`, the original embedding, when the model ties its output head to it. */
  added?: string[];
  /** Why these layers, for `--layers auto`. */
  layerReason?: string;
  /** steerbench.* keys added. */
  metadata: Record<string, string | number>;
}

/** The residual-stream writers of one block: name and the axis (in ggml ne order) that is the output. */
const BLOCK_WRITERS = ["attn_output.weight", "ffn_down.weight"] as const;
const BLOCK_WRITER_BIASES = ["attn_output.bias", "ffn_down.bias"] as const;
/** Tensors whose presence means orthogonalising the writers would not remove the direction. */
const BLOCKERS: { pattern: RegExp; why: string }[] = [
  { pattern: /_exps\.weight$|_shexp\.weight$/, why: "mixture-of-experts writers are not supported" },
  {
    pattern: /\.(post_attention_norm|post_ffw_norm|attn_post_norm|ffn_post_norm)\.weight$/,
    why: "a norm after the writer rescales its output per coordinate, so an orthogonalised matrix would still write along the direction",
  },
];

function unit(v: Float32Array, label: string): Float64Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (n === 0) throw new BakeError(`${label} is the zero vector: there is no direction to ablate`);
  return Float64Array.from(v, (x) => x / n);
}

/**
 * W' = (I − v̂v̂ᵀ)W for a matrix whose output axis is ne[1] (rows of ne[0] contiguous values, ggml's layout
 * for y = W x): c = v̂ᵀW, then row j −= v̂_j c.
 */
export function orthogonaliseOutputs(
  w: Float32Array,
  nIn: number,
  nOut: number,
  vhat: Float64Array,
): Float32Array {
  if (vhat.length !== nOut) throw new RangeError(`direction has ${vhat.length} values, output axis ${nOut}`);
  const c = new Float64Array(nIn);
  for (let j = 0; j < nOut; j++) {
    const vj = vhat[j]!;
    if (vj === 0) continue;
    const row = j * nIn;
    for (let k = 0; k < nIn; k++) c[k]! += vj * w[row + k]!;
  }
  const out = new Float32Array(w.length);
  for (let j = 0; j < nOut; j++) {
    const vj = vhat[j]!;
    const row = j * nIn;
    for (let k = 0; k < nIn; k++) out[row + k] = w[row + k]! - vj * c[k]!;
  }
  return out;
}

/** Rows of nEmbd values (embeddings, biases): each row r ← r − (r·v̂)v̂. */
export function orthogonaliseRows(w: Float32Array, nEmbd: number, vhat: Float64Array): Float32Array {
  if (vhat.length !== nEmbd) throw new RangeError(`direction has ${vhat.length} values, rows ${nEmbd}`);
  const out = new Float32Array(w.length);
  for (let r = 0; r < w.length / nEmbd; r++) {
    const base = r * nEmbd;
    let p = 0;
    for (let k = 0; k < nEmbd; k++) p += w[base + k]! * vhat[k]!;
    for (let k = 0; k < nEmbd; k++) out[base + k] = w[base + k]! - p * vhat[k]!;
  }
  return out;
}

function kvNum(model: ModelFile, key: string): number | undefined {
  const v = model.header.kv.get(key);
  if (v === undefined) return undefined;
  return typeof v.value === "number" ? v.value : typeof v.value === "bigint" ? Number(v.value) : undefined;
}

function modelShape(model: ModelFile): { arch: string; nLayer: number; nEmbd: number } {
  const a = model.header.kv.get("general.architecture");
  if (a?.type !== "string") throw new BakeError(`${model.path}: no general.architecture: not a model GGUF`);
  const arch = a.value;
  if (arch === "controlvector") throw new BakeError(`${model.path} is a control vector, not a model`);
  const nLayer = kvNum(model, `${arch}.block_count`);
  const nEmbd = kvNum(model, `${arch}.embedding_length`);
  if (nLayer === undefined || nEmbd === undefined) {
    throw new BakeError(`${model.path}: no ${arch}.block_count / ${arch}.embedding_length keys`);
  }
  return { arch, nLayer, nEmbd };
}

function editable(model: ModelFile, t: ModelTensor): void {
  if (!isEditableType(t.type)) {
    throw new BakeError(
      `${model.path}: tensor ${t.name} is ${ggmlTypeName(t.type)}; bake edits F32, F16, BF16 and Q8_0 tensors (requantise the model to Q8_0 or F16 first)`,
    );
  }
}

/** Bakes `vec` into the model at `modelPath` and writes `outPath`. */
export function bakeModel(
  modelPath: string,
  vec: ControlVector,
  outPath: string,
  opts: BakeOptions,
): BakeResult {
  const model = openModelFile(modelPath);
  const { arch, nLayer, nEmbd } = modelShape(model);
  if (vec.nEmbd !== nEmbd) {
    throw new BakeError(`the vector has n_embd ${vec.nEmbd}, but ${modelPath} has n_embd ${nEmbd}`);
  }
  if (vec.meta && vec.meta.modelLayers !== nLayer) {
    throw new BakeError(
      `the vector was extracted from a model with ${vec.meta.modelLayers} layers, but ${modelPath} has ${nLayer}`,
    );
  }
  let layerReason: string | undefined;
  let range: [number, number] | undefined;
  if (opts.layers === "auto") {
    const auto = autoLayers(vec, opts.vectorPath ?? "the vector");
    range = auto.range;
    layerReason = auto.reason;
  } else if (opts.layers) {
    range = opts.layers;
  }
  if (range && (range[0] < 0 || range[1] > nLayer - 1 || range[0] > range[1])) {
    throw new BakeError(`--layers ${range[0]}-${range[1]} is outside the model's blocks 0..${nLayer - 1}`);
  }
  for (const t of model.tensors) {
    for (const b of BLOCKERS) {
      if (b.pattern.test(t.name)) throw new BakeError(`${modelPath}: tensor ${t.name}: ${b.why}`);
    }
  }
  // Lazy: each edited tensor is read, edited and encoded only when it is written, one at a time.
  const replace = new Map<string, () => Float32Array>();
  const untied: RawTensor[] = [];
  const result: BakeResult = { mode: opts.mode, layers: [0, 0], edited: [], metadata: {} };
  if (layerReason) result.layerReason = layerReason;

  if (opts.mode === "ablate") {
    if (opts.strength !== undefined) {
      throw new BakeError("--strength has no meaning for --mode ablate (the direction is removed entirely)");
    }
    // The runtime's choice, which is also the top of the auto ranking when the vector has discriminative layers.
    const il = opts.directionLayer ?? ablationDirectionLayer(vec);
    const dir = vec.directions.get(il);
    if (!dir) {
      throw new BakeError(
        `the vector has no direction for layer ${il}; it has ${[...vec.directions.keys()].join(", ")}`,
      );
    }
    const vhat = unit(dir, `direction.${il}`);
    const [lo, hi] = range ?? [0, nLayer - 1];
    result.layers = [lo, hi];
    result.directionLayer = il;
    if (lo === 0) {
      for (const name of ["token_embd.weight", "position_embd.weight"]) {
        const t = model.byName.get(name);
        if (!t) continue;
        editable(model, t);
        if (t.shape[0] !== nEmbd)
          throw new BakeError(`${modelPath}: ${name} has rows of ${t.shape[0]}, not n_embd ${nEmbd}`);
        replace.set(name, () => orthogonaliseRows(readTensorF32(model, t), nEmbd, vhat));
      }
      if (!replace.has("token_embd.weight"))
        throw new BakeError(`${modelPath}: no token_embd.weight to edit`);
      // A tied output head reads token_embd too, after the final norm's per-coordinate weights, where the
      // residual stream's missing v̂ component does not cancel the edit: keep the original as output.weight.
      const embd = model.byName.get("token_embd.weight")!;
      if (!model.byName.has("output.weight")) {
        untied.push({
          name: "output.weight",
          shape: [...embd.shape],
          type: embd.type,
          byteLength: encodedSize(embd.type, elementCount(embd.shape)),
          bytes: () => readTensorBytes(model, embd),
        });
      }
    }
    for (let b = lo; b <= hi; b++) {
      let found = 0;
      for (const w of BLOCK_WRITERS) {
        const t = model.byName.get(`blk.${b}.${w}`);
        if (!t) continue;
        editable(model, t);
        const [nIn, nOut] = t.shape as [number, number];
        if (t.shape.length !== 2 || nOut !== nEmbd) {
          throw new BakeError(
            `${modelPath}: ${t.name} has shape ${JSON.stringify(t.shape)}; expected [in, ${nEmbd}]`,
          );
        }
        replace.set(t.name, () => orthogonaliseOutputs(readTensorF32(model, t), nIn, nOut, vhat));
        found++;
      }
      if (found === 0) {
        throw new BakeError(
          `${modelPath} (${arch}): block ${b} has no attn_output.weight or ffn_down.weight: bake does not know this architecture's residual writers`,
        );
      }
      for (const w of BLOCK_WRITER_BIASES) {
        const t = model.byName.get(`blk.${b}.${w}`);
        if (!t) continue;
        editable(model, t);
        replace.set(t.name, () => orthogonaliseRows(readTensorF32(model, t), nEmbd, vhat));
      }
    }
  } else {
    const s = opts.strength;
    if (s === undefined || !Number.isFinite(s)) throw new BakeError("--mode add needs a finite --strength");
    const layers = [...vec.directions.keys()].sort((a, b) => a - b);
    const [lo, hi] = range ?? [layers[0]!, layers[layers.length - 1]!];
    result.layers = [lo, hi];
    result.strength = s;
    for (const il of layers.filter((x) => x >= lo && x <= hi)) {
      const name = `blk.${il}.ffn_down.bias`;
      const t = model.byName.get(name);
      if (!t) {
        throw new BakeError(
          `${modelPath}: architecture "${arch}" has no bias on its residual-stream writers (no ${name}), so activation addition cannot be folded into its weights${arch === "llama" ? " (Llama has no attention-output or FFN-down biases)" : ""}; use runtime steering (activation: { mode: add }) instead`,
        );
      }
      editable(model, t);
      const v = vec.directions.get(il)!;
      replace.set(name, () => Float32Array.from(readTensorF32(model, t), (x, k) => x + s * v[k]!));
    }
    if (replace.size === 0) throw new BakeError(`the vector has no direction in layers ${lo}..${hi}`);
  }

  result.edited = [...replace.keys()];
  if (untied.length > 0) result.added = untied.map((t) => t.name);
  const meta: Record<string, string | number> = {
    mode: opts.mode,
    layers: `${result.layers[0]}-${result.layers[1]}`,
    tensors: result.edited.length,
    source_model: basename(modelPath),
    created: (opts.created ?? new Date()).toISOString(),
  };
  if (result.directionLayer !== undefined) meta.direction_layer = result.directionLayer;
  if (result.strength !== undefined) meta.strength = result.strength;
  if (opts.vectorPath) {
    meta.vector = basename(opts.vectorPath);
    meta.vector_sha256 = fileSha256(opts.vectorPath);
  }
  result.metadata = meta;
  const kv = new Map<string, GgufValue>(model.header.kv);
  for (const [k, v] of Object.entries(meta)) {
    const key = `steerbench.edit.${k}`;
    kv.delete(key);
    kv.set(
      key,
      typeof v === "string"
        ? { type: "string", value: v }
        : Number.isInteger(v)
          ? { type: "int32", value: v }
          : { type: "float32", value: v },
    );
  }
  // Every edit, in order, so a file baked twice says so.
  const history = kv.get("steerbench.edit.history");
  const past = history?.type === "array" && history.itemType === "string" ? (history.value as string[]) : [];
  kv.delete("steerbench.edit.history");
  kv.set("steerbench.edit.history", {
    type: "array",
    itemType: "string",
    value: [...past, JSON.stringify(meta)],
  });
  writeModelFile(model, outPath, kv, replace, new Map(), untied);
  return result;
}

/** The `steerbench.edit.*` record of a model file, if it was baked by steerbench. */
export function bakedEdit(modelPath: string): Record<string, string | number> | undefined {
  const model = openModelFile(modelPath);
  const out: Record<string, string | number> = {};
  for (const [k, v] of model.header.kv) {
    if (!k.startsWith("steerbench.edit.") || k === "steerbench.edit.history") continue;
    if (typeof v.value === "string" || typeof v.value === "number")
      out[k.slice("steerbench.edit.".length)] = v.value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
