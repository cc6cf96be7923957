// An LLM judge: build the preset's messages, ask the provider, parse the reply into a label.
// A reply we cannot parse is asked again (same request, up to `retries` more times); if every reply
// fails, the verdict is `failed` with the last raw reply kept for audit. Transport errors (ProviderError)
// are not handled here: they propagate, and the engine decides about retrying them.
import type { ModelProvider } from "../providers/provider.js";
import type { ChatMessage, Label, Verdict } from "../types.js";
import { type JudgeCache, judgeCacheKey } from "./cache.js";
import { parseVerdict } from "./parse-verdict.js";

export interface JudgeInput {
  /** The category header (benchmark context), raw. */
  context: string;
  /** The steered task prompt the model saw. */
  prompt: string;
  /** The model's final answer. */
  response: string;
}

export interface JudgePreset {
  name: string;
  labels: readonly Label[];
  buildMessages(input: JudgeInput): ChatMessage[];
}

export interface JudgeOptions {
  provider: ModelProvider;
  preset: JudgePreset;
  /** Extra requests after an unparseable reply (0 = ask once). */
  retries: number;
  maxTokens: number;
  temperature: number;
  seed?: number;
  extraBody?: Record<string, unknown>;
  cache?: JudgeCache;
}

/** A verdict plus how it was obtained (not stored; for counters and logs). */
export interface JudgeOutcome extends Verdict {
  /** Provider requests made for this verdict (0 when served from the cache). */
  requests: number;
  cached: boolean;
}

export interface Judge {
  readonly preset: JudgePreset;
  judge(input: JudgeInput, signal?: AbortSignal): Promise<JudgeOutcome>;
}

export function createJudge(options: JudgeOptions): Judge {
  const { provider, preset, cache, maxTokens, temperature, seed, extraBody } = options;
  if (!Number.isInteger(options.retries) || options.retries < 0) {
    throw new Error(`judge option "retries": must be a non-negative integer, got ${options.retries}`);
  }
  if (preset.labels.length === 0) throw new Error(`judge preset "${preset.name}": no labels`);

  const judge = async (input: JudgeInput, signal?: AbortSignal): Promise<JudgeOutcome> => {
    const messages = preset.buildMessages(input);
    const key = cache
      ? judgeCacheKey({
          providerId: provider.id,
          model: provider.model,
          messages,
          decoding: { maxTokens, temperature, seed, extraBody },
        })
      : "";

    // A cached reply is trusted only if it still parses; otherwise we ask the judge (not a retry).
    const cachedReply = cache?.get(key);
    if (cachedReply !== undefined) {
      const parsed = parseVerdict(cachedReply, preset.labels);
      if (parsed.ok) {
        return {
          label: parsed.label,
          reason: parsed.reason,
          failed: false,
          raw: cachedReply,
          requests: 0,
          cached: true,
        };
      }
    }

    let lastReply = "";
    let lastError = "";
    for (let attempt = 0; attempt <= options.retries; attempt++) {
      const generation = await provider.generate({
        messages,
        maxTokens,
        temperature,
        seed,
        extraBody,
        signal,
      });
      lastReply = generation.response;
      const parsed = parseVerdict(lastReply, preset.labels);
      if (parsed.ok) {
        cache?.set(key, lastReply);
        return {
          label: parsed.label,
          reason: parsed.reason,
          failed: false,
          raw: lastReply,
          requests: attempt + 1,
          cached: false,
        };
      }
      lastError = parsed.error;
    }
    const requests = options.retries + 1;
    return {
      label: undefined,
      reason: undefined,
      failed: true,
      raw: lastReply,
      error: `${lastError} (${requests} ${requests === 1 ? "reply" : "replies"} unparseable)`,
      requests,
      cached: false,
    };
  };

  return { preset, judge };
}
