// Generates one item's answer with one model and commits it (answer or error). The generation half of
// a live run, beside judge-item.ts: retries, the stored-size cap and the per-item flags live here.
import { type ProviderError, withRetry } from "../providers/index.js";
import type { ItemRecord, ResponseFlags } from "../store/store.js";
import type { ResultWriter } from "../store/write-behind.js";
import type { Condition } from "../types.js";
import type { Connected } from "./connect.js";
import type { RetrySettings } from "./judge-item.js";

export interface GenerateItemArgs {
  /** Where the answer is committed; the outcome returns only after it is. */
  store: ResultWriter;
  item: ItemRecord;
  /** The model name sent to the provider (stored with the request). */
  model: string;
  connection: Connected;
  condition: Condition | undefined;
  decoding: { maxTokens: number; temperature: number; topP?: number | undefined; stop: string[] };
  maxResponseChars: number;
  retry: RetrySettings;
  signal: AbortSignal | undefined;
  log: (line: string) => void;
}

/** ok / error are stored; aborted stores nothing (redone on resume). */
export type GenerateOutcome =
  | { kind: "ok"; text: string }
  | { kind: "error"; error: unknown }
  | { kind: "aborted" };

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Cuts an answer to the stored size limit (at a code-point boundary), saying what was cut. */
export function capResponse(
  text: string,
  max: number,
): { text: string; flag?: ResponseFlags["responseTruncated"] } {
  if (text.length <= max) return { text };
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // never split a surrogate pair
  return { text: text.slice(0, end), flag: { chars: text.length, keptChars: end } };
}

export async function generateItem(args: GenerateItemArgs): Promise<GenerateOutcome> {
  const { store, item, connection: conn, decoding, signal } = args;
  const messages = [
    ...(item.systemPrompt === undefined ? [] : [{ role: "system" as const, content: item.systemPrompt }]),
    { role: "user" as const, content: item.userPrompt },
  ];
  const request = {
    messages,
    maxTokens: decoding.maxTokens,
    temperature: decoding.temperature,
    topP: decoding.topP,
    seed: item.seed ?? undefined,
    stop: decoding.stop.length > 0 ? decoding.stop : undefined,
    extraBody: args.condition?.requestBody,
    steering: args.condition?.activation,
  };
  let attempts = 0;
  try {
    const gen = await withRetry(
      () => {
        attempts++;
        return conn.limiter.run(() => conn.provider.generate({ ...request, signal }));
      },
      {
        ...args.retry,
        signal,
        onRetry: (err: ProviderError) => args.log(`retry ${item.model}: ${err.message}`),
      },
    );
    const capped = capResponse(gen.response, args.maxResponseChars);
    const flags: ResponseFlags = {};
    if (gen.maxTokensCapped) flags.maxTokensCapped = gen.maxTokensCapped;
    if (gen.promptTruncated) flags.promptTruncated = gen.promptTruncated;
    if (capped.flag) flags.responseTruncated = capped.flag;
    if (capped.text.trim() === "") flags.empty = true;
    await store.saveResponse({
      itemId: item.id,
      status: "ok",
      response: capped.text,
      thinking: gen.thinking ?? null,
      promptTokens: gen.promptTokens ?? null,
      completionTokens: gen.completionTokens ?? null,
      latencyMs: gen.latencyMs,
      finishReason: gen.finishReason ?? null,
      requestJson: JSON.stringify({ model: args.model, ...request }),
      error: null,
      attempts,
      flags,
    });
    return { kind: "ok", text: capped.text };
  } catch (err) {
    if (signal?.aborted) return { kind: "aborted" };
    await store.saveResponse({
      itemId: item.id,
      status: "error",
      response: null,
      thinking: null,
      promptTokens: null,
      completionTokens: null,
      latencyMs: null,
      finishReason: null,
      requestJson: null,
      error: errorText(err),
      attempts,
    });
    args.log(`generation failed for ${item.model}/${item.condition}/${item.scenarioId}: ${errorText(err)}`);
    return { kind: "error", error: err };
  }
}
