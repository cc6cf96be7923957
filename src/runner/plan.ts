// Turns a run config and a benchmark pack into the run's id and its list of items. Pure: the same
// config and data always give the same id and items, which is what makes resume exact.
import type { RunConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import { runIdentity, runIdOf } from "../config/run-identity.js";
import { type LiveStoredConfig, storedConfig } from "../config/stored-config.js";
import { selectScenarios } from "../data/selection.js";
import { buildPrompt } from "../protocol/build-prompt.js";
import { resolveConditions } from "../protocol/conditions.js";
import type { NewItem } from "../store/store.js";
import type { Condition, Pack, SystemPromptSource } from "../types.js";

export interface RunPlan {
  runId: string;
  name: string;
  conditions: Condition[];
  items: NewItem[];
  /** The config as stored with the run: everything that defines the results, nothing secret. */
  storedConfig: LiveStoredConfig;
}

export function systemSource(system: RunConfig["system"]): SystemPromptSource {
  if (typeof system === "string") return { kind: system };
  return { kind: "text", text: system.text };
}

export { DEFAULT_MAX_RESPONSE_CHARS } from "../config/run-identity.js";

/** The identity planRun hashes into the run id (see config/run-identity.ts for what it includes). */
export function identity(
  config: RunConfig,
  conditions: Condition[],
  dataHash: string,
): Record<string, unknown> {
  return runIdentity({ ...config, conditions, dataHash });
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
  const runId = runIdOf(id);
  const name =
    config.name ?? `${config.models.map(modelLabel).join("+")} × ${conditions.map((c) => c.name).join("/")}`;
  const stored = storedConfig("live", {
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
  });
  return { runId, name, conditions, items, storedConfig: stored };
}
