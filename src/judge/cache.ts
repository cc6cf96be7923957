// A content-addressed cache of judge replies, so re-judging never pays for the same request twice.
// The key covers everything that determines the reply: provider id (kind + model + endpoint), model,
// the exact messages and the decoding settings. Only the reply text is stored; it is parsed on use.
import { createHash } from "node:crypto";
import type { ChatMessage } from "../types.js";

export interface JudgeCache {
  get(key: string): string | undefined;
  set(key: string, reply: string): void;
}

export interface JudgeCacheKeyInput {
  providerId: string;
  model: string | undefined;
  messages: readonly ChatMessage[];
  decoding: {
    maxTokens?: number;
    temperature?: number;
    seed?: number;
    extraBody?: Record<string, unknown>;
  };
}

/** JSON with object keys sorted, so logically equal inputs hash equally. */
function canonical(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

/**
 * sha256 (hex) of the canonical request description `canonical({ v: 1, provider, model, messages:
 * [[role, content], ...], decoding })`; `v` versions the key format. The same bytes are fed to the hash
 * piece by piece, keys in their sorted order: building the whole string (the judge prompt twice over)
 * was a tenth of the runner's CPU per item.
 */
export function judgeCacheKey(input: JudgeCacheKeyInput): string {
  const hash = createHash("sha256");
  hash.update(`{"decoding":${canonical(input.decoding)},"messages":[`);
  input.messages.forEach((m, i) => {
    hash.update(`${i === 0 ? "" : ","}[${JSON.stringify(m.role)},`);
    hash.update(JSON.stringify(m.content));
    hash.update("]");
  });
  hash.update(
    `],"model":${JSON.stringify(input.model ?? null)},"provider":${JSON.stringify(input.providerId)},"v":1}`,
  );
  return hash.digest("hex");
}

/** An in-memory cache (the persistent one lives in the store). */
export function createMemoryJudgeCache(): JudgeCache & { readonly size: number } {
  const map = new Map<string, string>();
  return {
    get: (key) => map.get(key),
    set: (key, reply) => void map.set(key, reply),
    get size() {
      return map.size;
    },
  };
}
