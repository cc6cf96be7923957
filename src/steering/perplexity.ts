// Side effects of steering on plain language: the perplexity of a fixed, neutral passage (written for this
// project) as the model's answer to a neutral request, under a condition vs without steering. A condition
// that moves the benchmark a lot while doubling the perplexity of ordinary English is buying its effect with
// broken language; this makes that visible next to every sweep point and comparison.
//
// Activation conditions: the passage is scored under the condition's steering, as its own sequence (prompt
// unchanged), so several conditions can be scored at once in one batch. Prompt
// conditions: the condition's prompt intervention is applied to the neutral request (e.g. the pro_ic suffix
// appended to it), so the number says how much the steering text alone disturbs ordinary language.

import { controlVectorSpec } from "../llama/apply-steering.js";
import type { LlamaEngine } from "../llama/engine.js";
import { fitPrompt } from "../llama/fit-prompt.js";
import type { SequenceSteeringSpec } from "../llama/steer-ops.js";
import { buildPrompt } from "../protocol/build-prompt.js";
import type { Category, ChatMessage, Condition, ProtocolStrings, Scenario } from "../types.js";

/** The neutral request the passage answers. */
export const NEUTRAL_TASK = "Describe an ordinary day at a small town library in one paragraph.";

/** A plain, neutral English paragraph (written for steerbench; no third-party text). */
export const NEUTRAL_PASSAGE =
  "The town library opens at nine o'clock on weekdays. In the morning, a few older readers sit by the " +
  "windows with their newspapers, while a librarian sorts the books that were returned the evening before. " +
  "Around noon, students arrive and work on their assignments at the long wooden tables. Later in the " +
  "afternoon, parents bring young children to the reading corner, where picture books are kept on low " +
  "shelves. Before closing time, the staff switch off the computers, check that every room is empty, and " +
  "lock the front door.";

export type PerplexityEngine = Pick<
  LlamaEngine,
  "info" | "tokenize" | "applyChatTemplate" | "scoreContinuations"
>;

export interface PerplexityResult {
  /** exp(−logProb / tokens). */
  perplexity: number;
  /** Σ ln p(token) over the passage's tokens. */
  logProb: number;
  tokens: number;
  /** The request was cut from the front to fit the context. */
  promptTruncated: boolean;
  /** The passage was cut (kept from its start) because the context is tiny. */
  passageTruncated: boolean;
}

export interface PerplexityOptions {
  /** The prompt (default: the neutral request as a user message). */
  messages?: ChatMessage[];
  /** Steering of this scoring only (any mode: add, ablate, rotate). */
  controlVector?: SequenceSteeringSpec;
  passage?: string;
}

export function neutralMessages(): ChatMessage[] {
  return [{ role: "user", content: NEUTRAL_TASK }];
}

function withoutDoubleBos(engine: PerplexityEngine, tokens: number[]): number[] {
  const bos = engine.tokenize("", { addSpecial: true })[0];
  return bos !== undefined && tokens.length > 1 && tokens[0] === bos && tokens[1] === bos
    ? tokens.slice(1)
    : tokens;
}

/** The number of passage tokens `scoreContinuations` scores after `messages` (same tokenization rules). */
export function continuationTokens(
  engine: PerplexityEngine,
  messages: ChatMessage[],
  passage: string,
): number {
  const text = engine.applyChatTemplate(messages);
  const parseSpecial = engine.info.chatTemplate !== "none";
  const prompt = withoutDoubleBos(engine, engine.tokenize(text, { addSpecial: true, parseSpecial }));
  const full = withoutDoubleBos(engine, engine.tokenize(text + passage, { addSpecial: true, parseSpecial }));
  const prefixMatches = prompt.every((t, i) => full[i] === t);
  return prefixMatches && full.length >= prompt.length
    ? full.length - prompt.length
    : engine.tokenize(passage, { addSpecial: false, parseSpecial: false }).length;
}

/** The passage, cut at its end so it takes at most `budget` tokens on its own. */
function fitPassage(
  engine: PerplexityEngine,
  passage: string,
  budget: number,
): { text: string; truncated: boolean } {
  const count = (t: string) => engine.tokenize(t, { addSpecial: false }).length;
  if (count(passage) <= budget) return { text: passage, truncated: false };
  let lo = 0;
  let hi = passage.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (count(passage.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return { text: passage.slice(0, lo), truncated: true };
}

/** Perplexity of the passage as the answer to `messages`, optionally under a control vector. */
export async function passagePerplexity(
  engine: PerplexityEngine,
  opts: PerplexityOptions = {},
): Promise<PerplexityResult> {
  const ctx = engine.info.contextSize;
  // Small contexts (test models): the passage may take at most half of it, the prompt the rest.
  const passage = fitPassage(engine, opts.passage ?? NEUTRAL_PASSAGE, Math.floor(ctx / 2));
  const passageTokens = engine.tokenize(passage.text, { addSpecial: false }).length;
  const fitted = fitPrompt(engine, opts.messages ?? neutralMessages(), ctx - passageTokens - 4);
  const [logProb] = (await engine.scoreContinuations(fitted.prompt, [passage.text], {
    steering: opts.controlVector,
  })) as [number];
  const tokens = continuationTokens(engine, fitted.prompt, passage.text);
  return {
    perplexity: Math.exp(-logProb / Math.max(1, tokens)),
    logProb,
    tokens,
    promptTruncated: fitted.truncated,
    passageTruncated: passage.truncated,
  };
}

const NEUTRAL_CATEGORY: Category = { slug: "neutral", name: "neutral", file: "", context: "", scenarios: [] };
const NEUTRAL_SCENARIO: Scenario = { id: "neutral-1", category: "neutral", index: 1, prompt: NEUTRAL_TASK };

/**
 * The neutral request under a condition's prompt intervention (its suffix, prefix and system text), built as
 * the benchmark builds prompts. The category context is empty, so only the condition's own text is added.
 */
export function conditionMessages(condition: Condition, strings: ProtocolStrings): ChatMessage[] {
  return buildPrompt(NEUTRAL_CATEGORY, NEUTRAL_SCENARIO, condition, {
    strings,
    defaultSystem: { kind: "none" },
  }).messages;
}

/** Perplexity of the neutral passage under a condition: its prompt intervention and its control vector. */
export async function conditionPerplexity(
  engine: PerplexityEngine,
  condition: Condition,
  strings: ProtocolStrings,
): Promise<PerplexityResult> {
  const controlVector = condition.activation
    ? await controlVectorSpec(condition.activation, engine.info)
    : undefined;
  return passagePerplexity(engine, { messages: conditionMessages(condition, strings), controlVector });
}
