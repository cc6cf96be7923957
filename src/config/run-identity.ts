// A run's identity: the fields that change what it produces, hashed into its id. Re-running a config with
// the same identity resumes the run. The one definition, used when a run is planned (runner/plan.ts) and
// when a stored run's id is checked or shards are matched (store/merge.ts), so the two never drift.
//
// Left out on purpose, because they change how the work is done but not its results: the run's name,
// endpoints (baseUrl/baseUrls), API keys and headers, concurrency, timeouts and retries, and the embedded
// engine's threads, context size and GPU settings. `run` says when a resume changed any of those.
import { canonicalJson, sha256 } from "../util/hash.js";
import { modelLabel } from "./run-config.js";

export const DEFAULT_MAX_RESPONSE_CHARS = 65_536;

type Loose = Record<string, unknown>;

/** What the identity is computed from: a parsed config, or the config a run stored (same field names). */
export interface IdentityParts {
  selection: unknown;
  limit?: unknown;
  categories?: unknown;
  system: unknown;
  /** The resolved conditions (full Condition objects, so a preset's text is part of the identity). */
  conditions: unknown;
  models: readonly ({
    name?: string | undefined;
    provider?: string;
    model: string;
    decoding?: unknown;
  } & Loose)[];
  judges: readonly ({ name?: string | undefined; provider?: string; model: string } & Loose)[];
  decoding?: unknown;
  epochs: unknown;
  shard?: unknown;
  dataHash: unknown;
  maxResponseChars?: unknown;
}

const record = (v: unknown): Loose =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Loose) : {};

export function runIdentity(p: IdentityParts): Loose {
  const decoding = record(p.decoding);
  return {
    selection: p.selection,
    limit: p.limit ?? null,
    categories: p.categories ?? null,
    system: p.system,
    conditions: p.conditions,
    models: p.models.map((m) => ({
      name: modelLabel(m),
      provider: m.provider,
      model: m.model,
      thinking: m.thinking,
      decoding: { ...decoding, ...record(m.decoding) },
      // The template decides the prompt the model sees; only when set, so existing ids stay.
      ...(m.chatTemplate !== undefined ? { chatTemplate: m.chatTemplate } : {}),
    })),
    judges: p.judges.map((j) => ({
      name: modelLabel(j),
      provider: j.provider,
      model: j.model,
      mode: j.mode,
      prompt: j.prompt,
      maxTokens: j.maxTokens,
      temperature: j.temperature,
      ...(j.chatTemplate !== undefined ? { chatTemplate: j.chatTemplate } : {}),
    })),
    epochs: p.epochs,
    shard: p.shard ?? null,
    dataHash: p.dataHash,
    // Only when changed from the default, so adding the knob did not change every existing run's id.
    ...(p.maxResponseChars !== undefined && p.maxResponseChars !== DEFAULT_MAX_RESPONSE_CHARS
      ? { maxResponseChars: p.maxResponseChars }
      : {}),
  };
}

/** The run id of an identity. */
export function runIdOf(identity: Loose): string {
  return `run-${sha256(canonicalJson(identity)).slice(0, 12)}`;
}
