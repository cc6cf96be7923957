// Fitting prompts into a small context: cut text from the front (the end of a benchmark prompt holds the
// steering suffix and the assistant turn, which matter most). Chat prompts are cut inside the message
// contents, never inside the template's markup, so the engine still tokenizes them with special tokens.

import type { ChatMessage } from "../types.js";
import type { TokenizeOptions } from "./vocab.js";

/**
 * The engine calls prompt fitting needs (an interface, so tests can count calls on a real engine; declared
 * here rather than picked from LlamaEngine so that the engine and this module do not import each other).
 */
export interface TokenCounter {
  tokenize(text: string, options?: TokenizeOptions): number[];
  applyChatTemplate(messages: readonly ChatMessage[]): string;
  readonly info: { contextSize: number; chatTemplate: "none" | "model" | "option" };
}

/** A prompt as the engine takes it: raw text, or chat messages that go through the template. */
export type PromptInput = string | ChatMessage[];

/** Tokens the engine will see for a prompt (templated text is tokenized with special tokens). */
export function countPromptTokens(engine: TokenCounter, prompt: PromptInput): number {
  if (typeof prompt === "string") return engine.tokenize(prompt).length;
  return engine.tokenize(engine.applyChatTemplate(prompt), {
    addSpecial: true,
    parseSpecial: engine.info.chatTemplate !== "none",
  }).length;
}

/** Removes `k` characters from the front of the messages' contents, dropping messages it empties (not the last). */
function cutFront(messages: readonly ChatMessage[], k: number): ChatMessage[] {
  const out: ChatMessage[] = [];
  let left = k;
  messages.forEach((m, i) => {
    const last = i === messages.length - 1;
    if (left >= m.content.length && !last) {
      left -= m.content.length;
      return;
    }
    let at = Math.min(left, m.content.length);
    // Never split a surrogate pair.
    const code = m.content.charCodeAt(at);
    if (at > 0 && code >= 0xdc00 && code <= 0xdfff) at++;
    out.push({ role: m.role, content: m.content.slice(at) });
    left = 0;
  });
  return out;
}

export interface FitResult<T extends PromptInput> {
  prompt: T;
  truncated: boolean;
  tokens: number;
}

/**
 * The prompt, cut from the front until it has at most `budget` tokens. Throws when even an empty prompt does
 * not fit (the chat template alone is too long).
 */
export function fitPrompt<T extends PromptInput>(
  engine: TokenCounter,
  prompt: T,
  budget: number,
): FitResult<T> {
  const whole = countPromptTokens(engine, prompt);
  if (whole <= budget) return { prompt, truncated: false, tokens: whole };
  const total = typeof prompt === "string" ? prompt.length : prompt.reduce((n, m) => n + m.content.length, 0);
  const cut = (k: number): T =>
    (typeof prompt === "string" ? prompt.slice(k) : cutFront(prompt as ChatMessage[], k)) as T;
  const smallest = countPromptTokens(engine, cut(total));
  if (smallest > budget) {
    throw new RangeError(
      `the prompt cannot be fitted into ${budget} tokens: even with no text it takes ${smallest} (chat template markup)`,
    );
  }
  // Smallest cut whose remainder fits: token counts only shrink as the cut moves right.
  let lo = 0;
  let hi = total;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (countPromptTokens(engine, cut(mid)) <= budget) hi = mid;
    else lo = mid + 1;
  }
  const fitted = cut(lo);
  return { prompt: fitted, truncated: true, tokens: countPromptTokens(engine, fitted) };
}
