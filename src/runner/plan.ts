// Turns a run config and a benchmark pack into the run's id and its list of items. Pure: the same
// config and data always give the same id and items, which is what makes resume exact.
import type { RunConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import { selectScenarios } from "../data/selection.js";
import { buildPrompt } from "../protocol/build-prompt.js";
import { resolveConditions } from "../protocol/conditions.js";
import type { NewItem } from "../store/store.js";
import type { Condition, Pack, SystemPromptSource } from "../types.js";
import { canonicalJson, sha256 } from "../util/hash.js";

export interface RunPlan {
  runId: string;
  name: string;
  conditions: Condition[];
  items: NewItem[];
  /** The config as stored with the run: everything that defines the results, nothing secret. */
  storedConfig: unknown;
}

export function systemSource(system: RunConfig["system"]): SystemPromptSource {
  if (typeof system === "string") return { kind: system };
  return { kind: "text", text: system.text };
}

export const DEFAULT_MAX_RESPONSE_CHARS = 65_536;

/**
 * Fields that change what a run produces: the run's identity, hashed into its id. Re-running a config
 * with the same identity resumes the run. Left out on purpose, because they change how the work is
 * done but not its results: the run's name, endpoints (baseUrl/baseUrls), API keys
 * and headers, concurrency, timeouts and retries. `run` says when a resume changed any of those.
 */
export function identity(
  config: RunConfig,
  conditions: Condition[],
  dataHash: string,
): Record<string, unknown> {
  return {
    selection: config.selection,
    limit: config.limit ?? null,
    categories: config.categories ?? null,
    system: config.system,
    conditions,
    models: config.models.map((m) => ({
      name: modelLabel(m),
      provider: m.provider,
      model: m.model,
      thinking: m.thinking,
      decoding: { ...config.decoding, ...m.decoding },
    })),
    judges: config.judges.map((j) => ({
      name: modelLabel(j),
      provider: j.provider,
      model: j.model,
      mode: j.mode,
      prompt: j.prompt,
      maxTokens: j.maxTokens,
      temperature: j.temperature,
    })),
    epochs: config.epochs,
    shard: config.shard ?? null,
    dataHash,
    // Only when changed from the default, so adding the knob did not change every existing run's id.
    ...(config.maxResponseChars !== DEFAULT_MAX_RESPONSE_CHARS
      ? { maxResponseChars: config.maxResponseChars }
      : {}),
  };
}

/** Stable shard of an item key: FNV-1a, so every process splits the item space the same way. */
export function shardOf(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}

export function planRun(config: RunConfig, pack: Pack): RunPlan {
  const conditions = resolveConditions(config.conditions, pack.strings);
  let selected = selectScenarios(pack, config.selection);
  if (config.categories) {
    const known = new Set(pack.categories.map((c) => c.slug));
    const unknown = config.categories.filter((c) => !known.has(c));
    if (unknown.length > 0) {
      throw new Error(`categories: unknown ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
    }
    const wanted = new Set(config.categories);
    selected = selected.filter((s) => wanted.has(s.category.slug));
  }
  if (config.limit !== undefined) selected = selected.slice(0, config.limit);
  const defaultSystem = systemSource(config.system);

  const items: NewItem[] = [];
  for (const model of config.models) {
    const decoding = { ...config.decoding, ...model.decoding };
    for (const condition of conditions) {
      const prompts = selected.map(({ category, scenario }) => ({
        category,
        scenario,
        built: buildPrompt(category, scenario, condition, { strings: pack.strings, defaultSystem }),
      }));
      for (let epoch = 0; epoch < config.epochs; epoch++) {
        for (const { category, scenario, built } of prompts) {
          const item: NewItem = {
            model: modelLabel(model),
            condition: condition.name,
            scenarioId: scenario.id,
            category: category.slug,
            epoch,
            seed: decoding.seed + epoch,
            context: category.context,
            systemPrompt: built.system,
            userPrompt: built.user,
          };
          if (config.shard) {
            const key = `${item.model}\u0000${item.condition}\u0000${item.scenarioId}\u0000${epoch}`;
            if (shardOf(key, config.shard.count) !== config.shard.index) continue;
          }
          items.push(item);
        }
      }
    }
  }

  const id = identity(config, conditions, pack.hash);
  const runId = `run-${sha256(canonicalJson(id)).slice(0, 12)}`;
  const name =
    config.name ?? `${config.models.map(modelLabel).join("+")} × ${conditions.map((c) => c.name).join("/")}`;
  const storedConfig = {
    ...id,
    name,
    models: config.models.map((m) => ({
      ...m,
      // Header values can hold tokens: keep only their names.
      headers: m.headers ? Object.keys(m.headers) : undefined,
    })),
    judges: config.judges.map((j) => ({ ...j, headers: j.headers ? Object.keys(j.headers) : undefined })),
    concurrency: config.concurrency,
    retry: config.retry,
    decoding: config.decoding,
  };
  return { runId, name, conditions, items, storedConfig };
}
