// Steering vectors from the engine's hidden states: run each contrastive pair through the model, read the
// residual stream `l_out-<il>` of the chosen layers at the end of each prompt, and turn the paired
// differences into one direction per layer (math.ts). A seeded part of the pairs is held out to report, per
// layer, how well the direction separates positive from negative prompts it was not fitted on.
import { basename } from "node:path";
import type { ControlVector, VectorMetadata } from "../gguf/vector-file.js";
import type { LlamaEngine } from "../llama/engine.js";
import { countPromptTokens, fitPrompt, type PromptInput } from "../llama/fit-prompt.js";
import { formatLayerList } from "../protocol/layer-select.js";
import { forEachConcurrent } from "../util/limiter.js";
import {
  type ExtractionMethod,
  norm,
  pairDifferences,
  project,
  type Separation,
  separation,
  splitTrainTest,
  steeringDirection,
} from "./math.js";
import type { ContrastPair } from "./pairs.js";

export type ExtractionEngine = Pick<
  LlamaEngine,
  "info" | "tokenize" | "applyChatTemplate" | "captureHiddenStates"
>;

export interface ExtractOptions {
  /** Layers il to extract (default: every steerable layer, 1 … nLayer − 1). */
  layers?: number[];
  method?: ExtractionMethod;
  /** Share of pairs held out to measure separation (default 0.25). */
  holdout?: number;
  /** Seed of the train/test split (default 0). */
  seed?: number;
  /** Average the hidden states of the last k tokens (default 1: the last token only). */
  lastTokens?: number;
  /** Store unit vectors instead of the natural scale. */
  normalize?: boolean;
  /** Most tokens per prompt; longer prompts are cut from the front (default: the engine's context size). */
  maxPromptTokens?: number;
  /**
   * Pairs captured at once (default 1). With an engine loaded with `parallel` ≥ 2·concurrency, a pair's two
   * prompts and the other pairs' prompts share decode batches; results do not depend on it.
   */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface LayerReport {
  layer: number;
  /** Separation on the held-out pairs, or on the training pairs when nothing was held out (`inSample`). */
  auc: number;
  pairAccuracy: number;
  inSample: boolean;
  /** Separation on the training pairs (always in-sample). */
  trainAuc: number;
  /** Norm of the stored direction. */
  norm: number;
  /** Mean projection on the unit direction of the held-out (else training) positive / negative prompts. */
  posMean: number;
  negMean: number;
}

export interface Extraction {
  directions: Map<number, Float32Array>;
  layers: LayerReport[];
  method: ExtractionMethod;
  pairs: number;
  trainPairs: number;
  testPairs: number;
  /** Prompts that had to be cut to fit the context. */
  truncatedPrompts: number;
  lastTokens: number;
  seed: number;
  holdout: number;
}

/** Mean of the captured rows of a layer (summed in float64, kept as float32 to halve memory on big models). */
function meanRows(rows: Float32Array[]): Float32Array {
  if (rows.length === 1) return rows[0]!;
  const sum = new Float64Array(rows[0]!.length);
  for (const r of rows) for (let k = 0; k < r.length; k++) sum[k]! += r[k]!;
  return Float32Array.from(sum, (x) => x / rows.length);
}

async function capture(
  engine: ExtractionEngine,
  prompt: PromptInput,
  layers: number[],
  lastTokens: number,
  budget: number,
): Promise<{ byLayer: Map<number, Float32Array>; truncated: boolean }> {
  const fitted = fitPrompt(engine, prompt, budget);
  // The engine may drop a doubled BOS, so count conservatively and keep at least the last token.
  const k = Math.max(1, Math.min(lastTokens, countPromptTokens(engine, fitted.prompt) - 1));
  const positions = k === 1 ? "last" : Array.from({ length: k }, (_, i) => i - k);
  const input = typeof fitted.prompt === "string" ? { prompt: fitted.prompt } : { messages: fitted.prompt };
  const states = await engine.captureHiddenStates({ ...input, layers, positions });
  const byLayer = new Map<number, Float32Array>();
  for (const il of layers) byLayer.set(il, meanRows(states.get(il)!));
  return { byLayer, truncated: fitted.truncated };
}

/** Every steerable layer of a model: 1 … nLayer − 1 (llama.cpp keeps no control vector for layer 0). */
export function steerableLayers(nLayer: number): number[] {
  return Array.from({ length: Math.max(0, nLayer - 1) }, (_, i) => i + 1);
}

export async function extractSteeringVectors(
  engine: ExtractionEngine,
  pairs: readonly ContrastPair[],
  opts: ExtractOptions = {},
): Promise<Extraction> {
  const { nLayer } = engine.info;
  const layers = [...new Set(opts.layers ?? steerableLayers(nLayer))].sort((a, b) => a - b);
  if (layers.length === 0) throw new RangeError("no layers to extract");
  const bad = layers.find((il) => !Number.isInteger(il) || il < 1 || il > nLayer - 1);
  if (bad !== undefined) {
    throw new RangeError(`layer ${bad} cannot be steered: the model's steerable layers are 1..${nLayer - 1}`);
  }
  const method = opts.method ?? "mean-diff";
  const holdout = opts.holdout ?? 0.25;
  const seed = opts.seed ?? 0;
  const lastTokens = opts.lastTokens ?? 1;
  if (!Number.isInteger(lastTokens) || lastTokens < 1)
    throw new RangeError(`lastTokens must be a positive integer`);
  if (pairs.length < 1) throw new RangeError("no pairs to extract from");
  const budget = Math.min(opts.maxPromptTokens ?? engine.info.contextSize, engine.info.contextSize);

  // Split before capturing, so the split does not depend on anything the model does.
  const { train, test } = splitTrainTest(
    pairs.map((_, i) => i),
    holdout,
    seed,
  );
  const pos: Map<number, Float32Array>[] = new Array(pairs.length);
  const neg: Map<number, Float32Array>[] = new Array(pairs.length);
  let truncated = 0;
  let done = 0;
  await forEachConcurrent(
    pairs.keys(),
    Math.max(1, opts.concurrency ?? 1),
    async (i) => {
      const pair = pairs[i]!;
      // Both prompts of a pair at once: they decode in the same batch.
      const [p, n] = await Promise.all([
        capture(engine, pair.positive, layers, lastTokens, budget),
        capture(engine, pair.negative, layers, lastTokens, budget),
      ]);
      truncated += Number(p.truncated) + Number(n.truncated);
      pos[i] = p.byLayer;
      neg[i] = n.byLayer;
      opts.onProgress?.(++done, pairs.length);
    },
    opts.signal,
  );
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error("aborted");

  const directions = new Map<number, Float32Array>();
  const reports: LayerReport[] = [];
  for (const il of layers) {
    const rows = (side: Map<number, Float32Array>[], idx: number[]) => idx.map((i) => side[i]!.get(il)!);
    const trainPos = rows(pos, train);
    const trainNeg = rows(neg, train);
    const v = steeringDirection(pairDifferences(trainPos, trainNeg), method, {
      normalize: opts.normalize ?? false,
    });
    const inTrain: Separation = separation(trainPos, trainNeg, v);
    const held: Separation = test.length > 0 ? separation(rows(pos, test), rows(neg, test), v) : inTrain;
    const evalIdx = test.length > 0 ? test : train;
    const meanProjection = (r: Float32Array[]) => {
      const p = project(r, v);
      return p.reduce((a, b) => a + b, 0) / Math.max(1, p.length);
    };
    directions.set(il, Float32Array.from(v));
    reports.push({
      layer: il,
      auc: held.auc,
      pairAccuracy: held.pairAccuracy,
      inSample: test.length === 0,
      trainAuc: inTrain.auc,
      norm: norm(v),
      posMean: meanProjection(rows(pos, evalIdx)),
      negMean: meanProjection(rows(neg, evalIdx)),
    });
  }
  return {
    directions,
    layers: reports,
    method,
    pairs: pairs.length,
    trainPairs: train.length,
    testPairs: test.length,
    truncatedPrompts: truncated,
    lastTokens,
    seed,
    holdout,
  };
}

/** The extraction as a control-vector file's content, with steerbench's metadata. */
export function extractionToVector(
  extraction: Extraction,
  ctx: {
    modelPath: string;
    modelHint: string;
    nLayer: number;
    nEmbd: number;
    pairsSource: string;
    created?: Date;
    /** Categories left out of extraction, recorded for `sweep` to evaluate on. */
    holdoutCategories?: string[];
  },
): ControlVector {
  const layers = extraction.layers.map((l) => l.layer);
  const meta: VectorMetadata = {
    model: basename(ctx.modelPath),
    method: extraction.method,
    pairs: ctx.pairsSource,
    pairCount: extraction.pairs,
    testPairs: extraction.testPairs,
    layers: formatLayerList(layers),
    created: (ctx.created ?? new Date()).toISOString(),
    modelLayers: ctx.nLayer,
    modelEmbd: ctx.nEmbd,
    lastTokens: extraction.lastTokens,
    seed: extraction.seed,
    holdout: extraction.holdout,
    quality: new Map(
      extraction.layers.map((l) => [
        l.layer,
        { auc: l.auc, pairAccuracy: l.pairAccuracy, norm: l.norm, posMean: l.posMean, negMean: l.negMean },
      ]),
    ),
  };
  if (ctx.holdoutCategories && ctx.holdoutCategories.length > 0)
    meta.holdoutCategories = ctx.holdoutCategories;
  return { directions: extraction.directions, nEmbd: ctx.nEmbd, modelHint: ctx.modelHint, meta };
}
