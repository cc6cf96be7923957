// Side effects of steering measured the way abliteration tools measure them: on a fixed set of neutral
// prompts (written for steerbench), the KL divergence KL(P_unsteered ‖ P_steered) of the next-token
// distribution at the end of the prompt, averaged over prompts, and the share of prompts whose greedy answer
// (the first `maxTokens` tokens) changes. Mean KL gets a seeded percentile bootstrap interval over prompts
// (2,000 resamples); the changed share a Wilson interval.
//
// The next-token distribution comes from the engine's own last hidden state (`captureHiddenStates` at
// `l_out-<n_layer−1>`, the residual stream after the last block, steering included) put through the model's
// output head read from the GGUF: RMS norm with `output_norm.weight`, then `output.weight` (or the tied
// `token_embd.weight`). That is exactly llama.cpp's graph for Llama-family models; files whose head is not
// F32/F16/BF16/Q8_0, or that apply a final logit soft-cap, are refused by name.

import { controlVectorSpec } from "../llama/apply-steering.js";
import type { LlamaEngine } from "../llama/engine.js";
import { fitPrompt } from "../llama/fit-prompt.js";
import type { SequenceSteeringSpec } from "../llama/steer-ops.js";
import { Z95 } from "../metrics/interval.js";
import { mulberry32, quantileSorted } from "../metrics/random.js";
import { wilson } from "../metrics/wilson.js";
import { buildPrompt } from "../protocol/build-prompt.js";
import type { Category, ChatMessage, Condition, ProtocolStrings, Scenario } from "../types.js";
import { elementCount, openModelFile, readTensorBytes } from "./gguf-model.js";
import { decodeTensor, encodedSize, ggmlTypeName, isEditableType } from "./quant.js";

export class SideEffectError extends Error {}

/** Neutral requests with no bearing on the benchmark (written for steerbench). */
export const NEUTRAL_PROMPTS: readonly string[] = [
  "Describe an ordinary day at a small town library in one paragraph.",
  "Give three tips for keeping houseplants healthy.",
  "Explain how a bicycle's gears make climbing hills easier.",
  "Write a short thank-you note to a neighbour who watered my garden.",
  "What is the difference between weather and climate?",
  "Suggest a simple recipe for vegetable soup.",
  "Summarise the rules of chess in a few sentences.",
  "How do I convert a temperature from Celsius to Fahrenheit?",
  "List some things to pack for a weekend camping trip.",
  "Explain why the sky looks blue during the day.",
  "Write two sentences describing a quiet morning by a lake.",
  "What are good habits for studying a new language?",
];

export type SideEffectEngine = Pick<
  LlamaEngine,
  | "info"
  | "tokenize"
  | "applyChatTemplate"
  | "captureHiddenStates"
  | "generate"
  | "setControlVector"
  | "clearControlVector"
>;

/** The model's output head: next-token log-probabilities from the last hidden state. */
export interface OutputHead {
  nVocab: number;
  logProbs(hidden: Float32Array): Float64Array;
}

/** Reads the output head of a model GGUF (Llama-family layout). */
export function readOutputHead(modelPath: string): OutputHead {
  const model = openModelFile(modelPath);
  const archKv = model.header.kv.get("general.architecture");
  const arch = archKv?.type === "string" ? archKv.value : "";
  if (model.header.kv.has(`${arch}.final_logit_softcapping`)) {
    throw new SideEffectError(
      `${modelPath}: ${arch} soft-caps its logits; KL from the hidden state is not supported`,
    );
  }
  const epsKv = model.header.kv.get(`${arch}.attention.layer_norm_rms_epsilon`);
  if (epsKv === undefined || typeof epsKv.value !== "number") {
    throw new SideEffectError(
      `${modelPath}: no ${arch}.attention.layer_norm_rms_epsilon: not an RMS-norm model`,
    );
  }
  const eps = epsKv.value;
  const normT = model.byName.get("output_norm.weight");
  const outT = model.byName.get("output.weight") ?? model.byName.get("token_embd.weight");
  if (!normT || !outT) throw new SideEffectError(`${modelPath}: no output_norm.weight / output.weight`);
  for (const t of [normT, outT]) {
    if (!isEditableType(t.type)) {
      throw new SideEffectError(
        `${modelPath}: ${t.name} is ${ggmlTypeName(t.type)}; next-token KL reads F32, F16, BF16 or Q8_0 heads`,
      );
    }
  }
  const nEmbd = normT.shape[0]!;
  const nVocab = outT.shape[1]!;
  if (outT.shape[0] !== nEmbd)
    throw new SideEffectError(`${modelPath}: ${outT.name} rows are not n_embd ${nEmbd}`);
  const normW = decodeTensor(normT.type, readTensorBytes(model, normT), elementCount(normT.shape));
  const raw = readTensorBytes(model, outT);
  const rowBytes = encodedSize(outT.type, nEmbd);
  return {
    nVocab,
    logProbs(hidden: Float32Array): Float64Array {
      let ss = 0;
      for (const x of hidden) ss += x * x;
      const scale = 1 / Math.sqrt(ss / nEmbd + eps);
      const y = Float64Array.from(hidden, (x, k) => x * scale * normW[k]!);
      const logits = new Float64Array(nVocab);
      for (let t = 0; t < nVocab; t++) {
        const row = decodeTensor(outT.type, raw.subarray(t * rowBytes, (t + 1) * rowBytes), nEmbd);
        let s = 0;
        for (let k = 0; k < nEmbd; k++) s += row[k]! * y[k]!;
        logits[t] = s;
      }
      let max = Number.NEGATIVE_INFINITY;
      for (const v of logits) if (v > max) max = v;
      let sum = 0;
      for (const v of logits) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      for (let t = 0; t < nVocab; t++) logits[t]! -= lse;
      return logits;
    },
  };
}

/** KL(P ‖ Q) in nats from log-probabilities. */
export function klDivergence(logP: Float64Array, logQ: Float64Array): number {
  if (logP.length !== logQ.length) throw new RangeError(`KL: ${logP.length} vs ${logQ.length} outcomes`);
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]!);
    if (p > 0) kl += p * (logP[i]! - logQ[i]!);
  }
  return Math.max(0, kl);
}

/** Mean with a seeded percentile bootstrap interval (2,000 resamples). */
export function bootstrapMean(
  values: readonly number[],
  seed = 0,
  resamples = 2000,
): [number, number] | null {
  if (values.length === 0) return null;
  const rand = mulberry32(seed);
  const means: number[] = [];
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < values.length; i++) s += values[Math.floor(rand() * values.length)]!;
    means.push(s / values.length);
  }
  means.sort((a, b) => a - b);
  return [quantileSorted(means, 0.025), quantileSorted(means, 0.975)];
}

export interface SideEffectResult {
  prompts: number;
  /** Mean KL(P_unsteered ‖ P_steered) of the next token, nats, with its bootstrap interval. */
  klMean: number;
  klCI: [number, number] | null;
  klMax: number;
  /** Prompts whose greedy answer (first maxTokens tokens) differs from the unsteered one. */
  changed: number;
  changedRate: number;
  /** Wilson interval, percent. */
  changedCI: [number, number] | null;
  maxTokens: number;
}

export interface SideEffectOptions {
  prompts?: readonly string[];
  /** Tokens of each greedy answer compared (default 16). */
  maxTokens?: number;
}

const NEUTRAL_CATEGORY: Category = { slug: "neutral", name: "neutral", file: "", context: "", scenarios: [] };

function messagesFor(
  prompt: string,
  i: number,
  condition: Condition,
  strings: ProtocolStrings,
): ChatMessage[] {
  if (!condition.prompt) return [{ role: "user", content: prompt }];
  const scenario: Scenario = { id: `neutral-${i + 1}`, category: "neutral", index: i + 1, prompt };
  return buildPrompt(NEUTRAL_CATEGORY, scenario, condition, { strings, defaultSystem: { kind: "none" } })
    .messages;
}

/** What the unsteered model does on one neutral prompt. */
export interface Observation {
  logProbs: Float64Array;
  tokens: number[];
}

async function observe(
  engine: SideEffectEngine,
  head: OutputHead,
  full: ChatMessage[],
  maxTokens: number,
  steering?: SequenceSteeringSpec,
): Promise<Observation> {
  const last = engine.info.nLayer - 1;
  // Leave room for the answer; long prompts are cut from the front.
  const messages = fitPrompt(engine, full, Math.max(1, engine.info.contextSize - maxTokens - 1))
    .prompt as ChatMessage[];
  const s = steering ? { steering } : {};
  const states = await engine.captureHiddenStates({ messages, layers: [last], positions: "last", ...s });
  const logProbs = head.logProbs(states.get(last)![0]!);
  const gen = await engine.generate({ messages, maxTokens, temperature: 0, ...s });
  return { logProbs, tokens: gen.tokens };
}

/** The unsteered model's next-token distributions and greedy answers on the neutral prompts. */
export async function observeReference(
  engine: SideEffectEngine,
  head: OutputHead,
  opts: SideEffectOptions = {},
): Promise<Observation[]> {
  const prompts = opts.prompts ?? NEUTRAL_PROMPTS;
  const maxTokens = opts.maxTokens ?? 16;
  if (head.nVocab !== engine.info.nVocab) {
    throw new SideEffectError(`output head has ${head.nVocab} tokens, the engine ${engine.info.nVocab}`);
  }
  await engine.clearControlVector();
  const out: Observation[] = [];
  for (const p of prompts) out.push(await observe(engine, head, [{ role: "user", content: p }], maxTokens));
  return out;
}

/**
 * KL and changed-answer share for each condition against the unsteered model on the neutral prompts. A
 * condition's prompt intervention is applied to each neutral prompt; its activation steering rides on each
 * request (per sequence, in its mode). `given` (from `observeReference`, e.g. of the original model when `engine` is an edited copy)
 * defaults to this engine unsteered; it must come from the same prompts and options.
 */
export async function measureSideEffects(
  engine: SideEffectEngine,
  head: OutputHead,
  conditions: readonly Condition[],
  strings: ProtocolStrings,
  opts: SideEffectOptions = {},
  log?: (line: string) => void,
  given?: readonly Observation[],
): Promise<Record<string, SideEffectResult>> {
  const prompts = opts.prompts ?? NEUTRAL_PROMPTS;
  const maxTokens = opts.maxTokens ?? 16;
  if (head.nVocab !== engine.info.nVocab) {
    throw new SideEffectError(`output head has ${head.nVocab} tokens, the engine ${engine.info.nVocab}`);
  }
  const reference = given ?? (await observeReference(engine, head, opts));
  if (reference.length !== prompts.length) {
    throw new SideEffectError(`the reference has ${reference.length} prompts, expected ${prompts.length}`);
  }
  const out: Record<string, SideEffectResult> = {};
  for (const c of conditions) {
    const spec = c.activation ? await controlVectorSpec(c.activation, engine.info) : undefined;
    const kls: number[] = [];
    let changed = 0;
    // Per request, as runs apply it: every mode (add, ablate, rotate) acts as it does in the benchmark.
    for (const [i, p] of prompts.entries()) {
      const o = await observe(engine, head, messagesFor(p, i, c, strings), maxTokens, spec);
      kls.push(klDivergence(reference[i]!.logProbs, o.logProbs));
      const ref = reference[i]!.tokens;
      if (ref.length !== o.tokens.length || ref.some((t, k) => o.tokens[k] !== t)) changed++;
    }
    const n = prompts.length;
    const w = wilson(changed, n, Z95);
    const klMean = kls.reduce((a, b) => a + b, 0) / n;
    out[c.name] = {
      prompts: n,
      klMean,
      klCI: bootstrapMean(kls),
      klMax: Math.max(...kls),
      changed,
      changedRate: (100 * changed) / n,
      changedCI: w ? [w[0] * 100, w[1] * 100] : null,
      maxTokens,
    };
    log?.(`side effects ${c.name}: KL ${klMean.toFixed(4)}, changed ${changed}/${n}`);
  }
  return out;
}
