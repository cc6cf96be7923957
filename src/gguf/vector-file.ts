// Control-vector GGUF files, in the format llama.cpp reads (`llama-server --control-vector`, common.cpp
// `common_control_vector_load_one`) and its cvector-generator writes:
//   general.architecture = "controlvector", controlvector.model_hint = the model's architecture (string),
//   controlvector.layer_count = the number of direction tensors (int32),
//   one f32 tensor `direction.<il>` of shape [n_embd] per steered layer, il >= 1.
// llama.cpp adds direction.<il> (times the user's scale) to the output of block il, the tensor named
// `l_out-<il>`: the same il that `LlamaEngine.captureHiddenStates` reads and `setControlVector` takes. Layer 0
// is rejected by the loader. (cvector-generator itself stores the direction it measured at l_out-<il−1> as
// direction.<il>; we store what we measured at l_out-<il> as direction.<il>, so the vector moves the very
// hidden state it was measured on.)
// steerbench adds its own metadata as extra keys (`steerbench.*`); llama.cpp ignores them.
import { z } from "zod";
import {
  GGML_TYPE_F32,
  GgufError,
  type GgufFile,
  type GgufValue,
  kvNumber,
  kvString,
  readGgufFile,
  writeGgufFile,
} from "./gguf.js";

export const CONTROL_VECTOR_ARCH = "controlvector";

/** Per-layer separation measured at extraction time. */
export interface LayerQuality {
  /** Projection AUC of positive vs negative prompts on the held-out pairs. */
  auc: number;
  /** Share of held-out pairs whose positive projects higher than its negative. */
  pairAccuracy: number;
  /** Euclidean norm of the stored direction. */
  norm: number;
  /**
   * Mean projection on the unit direction of the held-out positive / negative prompts (absent on older files):
   * `--layers auto` keeps the layers where they have opposite signs.
   */
  posMean?: number;
  negMean?: number;
}

/** steerbench's own metadata, stored as `steerbench.*` keys. */
export interface VectorMetadata {
  /** The model file's name (no directory) or description the vector was extracted from. */
  model: string;
  method: "mean-diff" | "pca";
  /** Where the pairs came from, e.g. "builtin" or a file name. */
  pairs: string;
  pairCount: number;
  testPairs: number;
  /** Layer range extracted, "a-b". */
  layers: string;
  /** ISO time of extraction. */
  created: string;
  /** The model's layer count (n_layer) and n_embd, so a vector is never applied to a different shape. */
  modelLayers: number;
  modelEmbd: number;
  /** Tokens averaged at the end of each prompt (1 = last token only). */
  lastTokens: number;
  seed: number;
  holdout: number;
  /** Categories whose pairs were left out of extraction (`--holdout-categories`), for `sweep` to test on. */
  holdoutCategories?: string[];
  /** Quality per layer il. */
  quality: Map<number, LayerQuality>;
}

export interface ControlVector {
  /** direction.<il> per layer il (>= 1), each nEmbd long. */
  directions: Map<number, Float32Array>;
  nEmbd: number;
  /** controlvector.model_hint: the model architecture (e.g. "llama", "qwen3"). */
  modelHint: string;
  /** Present on files steerbench wrote; absent on files from other tools. */
  meta?: VectorMetadata;
}

const DIRECTION = /^direction\.(\d+)$/;

const metaScalars = z.object({
  model: z.string(),
  method: z.enum(["mean-diff", "pca"]),
  pairs: z.string(),
  pairCount: z.number().int().nonnegative(),
  testPairs: z.number().int().nonnegative(),
  layers: z.string(),
  created: z.string(),
  modelLayers: z.number().int().positive(),
  modelEmbd: z.number().int().positive(),
  lastTokens: z.number().int().positive(),
  seed: z.number().int(),
  holdout: z.number().min(0).max(1),
});

const str = (value: string): GgufValue => ({ type: "string", value });
const u32 = (value: number): GgufValue => ({ type: "uint32", value });
const f32 = (value: number): GgufValue => ({ type: "float32", value });

/** The KV pairs and tensors of a control-vector file, in the order they are written. */
export function controlVectorEntries(vec: ControlVector): {
  kv: Map<string, GgufValue>;
  tensors: { name: string; shape: number[]; data: Float32Array }[];
} {
  validateDirections(vec.directions, vec.nEmbd, "control vector");
  const layers = [...vec.directions.keys()].sort((a, b) => a - b);
  const kv = new Map<string, GgufValue>([
    ["general.architecture", str(CONTROL_VECTOR_ARCH)],
    [`${CONTROL_VECTOR_ARCH}.model_hint`, str(vec.modelHint)],
    [`${CONTROL_VECTOR_ARCH}.layer_count`, { type: "int32", value: layers.length }],
  ]);
  const m = vec.meta;
  if (m) {
    kv.set("steerbench.model", str(m.model));
    kv.set("steerbench.method", str(m.method));
    kv.set("steerbench.pairs", str(m.pairs));
    kv.set("steerbench.pair_count", u32(m.pairCount));
    kv.set("steerbench.test_pairs", u32(m.testPairs));
    kv.set("steerbench.layers", str(m.layers));
    kv.set("steerbench.created", str(m.created));
    kv.set("steerbench.model_n_layer", u32(m.modelLayers));
    kv.set("steerbench.model_n_embd", u32(m.modelEmbd));
    kv.set("steerbench.last_tokens", u32(m.lastTokens));
    kv.set("steerbench.seed", { type: "int64", value: BigInt(m.seed) });
    kv.set("steerbench.holdout", f32(m.holdout));
    if (m.holdoutCategories && m.holdoutCategories.length > 0) {
      kv.set("steerbench.holdout_categories", {
        type: "array",
        itemType: "string",
        value: [...m.holdoutCategories],
      });
    }
    for (const il of [...m.quality.keys()].sort((a, b) => a - b)) {
      const q = m.quality.get(il)!;
      kv.set(`steerbench.auc.${il}`, f32(q.auc));
      kv.set(`steerbench.pair_accuracy.${il}`, f32(q.pairAccuracy));
      kv.set(`steerbench.norm.${il}`, f32(q.norm));
      if (q.posMean !== undefined) kv.set(`steerbench.pos_mean.${il}`, f32(q.posMean));
      if (q.negMean !== undefined) kv.set(`steerbench.neg_mean.${il}`, f32(q.negMean));
    }
  }
  const tensors = layers.map((il) => ({
    name: `direction.${il}`,
    shape: [vec.nEmbd],
    data: vec.directions.get(il)!,
  }));
  return { kv, tensors };
}

/** Writes a control-vector GGUF that llama.cpp (`--control-vector`) and steerbench both read. */
export function writeControlVector(path: string, vec: ControlVector): void {
  const { kv, tensors } = controlVectorEntries(vec);
  writeGgufFile(path, kv, tensors);
}

function validateDirections(
  directions: ReadonlyMap<number, Float32Array>,
  nEmbd: number,
  label: string,
): void {
  if (directions.size === 0) throw new GgufError(`${label}: no direction tensors`);
  for (const [il, v] of directions) {
    if (!Number.isInteger(il) || il < 1) {
      throw new GgufError(`${label}: layer ${il} is invalid (llama.cpp control vectors start at layer 1)`);
    }
    if (v.length !== nEmbd) {
      throw new GgufError(`${label}: direction.${il} has ${v.length} values, expected n_embd ${nEmbd}`);
    }
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad !== -1) throw new GgufError(`${label}: direction.${il} value ${bad} is ${v[bad]}`);
  }
}

/** Interprets a parsed GGUF as a control vector; errors name the file and the offending tensor or key. */
export function controlVectorFromGguf(file: GgufFile, label: string): ControlVector {
  const arch = kvString(file, "general.architecture", label);
  if (arch !== undefined && arch !== CONTROL_VECTOR_ARCH) {
    throw new GgufError(
      `${label}: general.architecture is "${arch}", not "${CONTROL_VECTOR_ARCH}": this is a model, not a control vector`,
    );
  }
  const directions = new Map<number, Float32Array>();
  let nEmbd: number | undefined;
  for (const t of file.tensors) {
    // The same rules as llama.cpp's loader.
    const m = DIRECTION.exec(t.name);
    if (!m) throw new GgufError(`${label}: tensor ${t.name} is not named direction.<layer>`);
    const il = Number(m[1]);
    if (il === 0) throw new GgufError(`${label}: tensor ${t.name}: layer 0 cannot be steered`);
    if (t.type !== GGML_TYPE_F32)
      throw new GgufError(`${label}: tensor ${t.name} is not F32 (ggml type ${t.type})`);
    // ggml_n_dims: trailing dimensions of size 1 do not count.
    let nDims = t.shape.length;
    while (nDims > 1 && t.shape[nDims - 1] === 1) nDims--;
    if (nDims !== 1 || t.shape[0] === 0)
      throw new GgufError(`${label}: tensor ${t.name} is not 1-D (shape ${JSON.stringify(t.shape)})`);
    const n = t.shape[0]!;
    if (nEmbd === undefined) nEmbd = n;
    else if (n !== nEmbd) {
      throw new GgufError(`${label}: tensor ${t.name} has ${n} values, earlier directions have ${nEmbd}`);
    }
    if (!t.data) throw new GgufError(`${label}: tensor ${t.name} has no data`);
    // llama.cpp sums repeated layers; names are unique in a valid file, so a plain set suffices.
    directions.set(il, t.data);
  }
  if (nEmbd === undefined) throw new GgufError(`${label}: no direction tensors`);
  validateDirections(directions, nEmbd, label);
  const vec: ControlVector = {
    directions,
    nEmbd,
    modelHint: kvString(file, `${CONTROL_VECTOR_ARCH}.model_hint`, label) ?? "",
  };
  if (kvString(file, "steerbench.method", label) !== undefined) vec.meta = readMeta(file, label);
  return vec;
}

function readMeta(file: GgufFile, label: string): VectorMetadata {
  const s = (k: string) => kvString(file, `steerbench.${k}`, label);
  const n = (k: string) => kvNumber(file, `steerbench.${k}`, label);
  const parsed = metaScalars.safeParse({
    model: s("model"),
    method: s("method"),
    pairs: s("pairs"),
    pairCount: n("pair_count"),
    testPairs: n("test_pairs"),
    layers: s("layers"),
    created: s("created"),
    modelLayers: n("model_n_layer"),
    modelEmbd: n("model_n_embd"),
    lastTokens: n("last_tokens"),
    seed: n("seed"),
    holdout: n("holdout"),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new GgufError(`${label}: steerbench metadata key ${issue.path.join(".")}: ${issue.message}`);
  }
  const quality = new Map<number, LayerQuality>();
  for (const key of file.kv.keys()) {
    const m = /^steerbench\.auc\.(\d+)$/.exec(key);
    if (!m) continue;
    const il = Number(m[1]);
    const q: LayerQuality = {
      auc: n(`auc.${il}`)!,
      pairAccuracy: n(`pair_accuracy.${il}`) ?? Number.NaN,
      norm: n(`norm.${il}`) ?? Number.NaN,
    };
    const pos = n(`pos_mean.${il}`);
    const neg = n(`neg_mean.${il}`);
    if (pos !== undefined) q.posMean = pos;
    if (neg !== undefined) q.negMean = neg;
    quality.set(il, q);
  }
  const meta: VectorMetadata = { ...parsed.data, quality };
  const held = file.kv.get("steerbench.holdout_categories");
  if (held !== undefined) {
    if (held.type !== "array" || held.itemType !== "string") {
      throw new GgufError(`${label}: steerbench.holdout_categories must be an array of strings`);
    }
    meta.holdoutCategories = held.value as string[];
  }
  return meta;
}

/** Reads and validates a control-vector GGUF (ours or llama.cpp's cvector-generator's). */
export function readControlVector(path: string): ControlVector {
  return controlVectorFromGguf(readGgufFile(path), path);
}

/** The `general.architecture` of a model GGUF (its header only is read), for controlvector.model_hint. */
export function modelArchitecture(modelPath: string): string {
  const file = readGgufFile(modelPath, { tensors: false });
  return kvString(file, "general.architecture", modelPath) ?? "";
}
