// The run settings the report shows, from a run's stored config as the one reader reads it
// (config/stored-config.ts): live runs keep resolved conditions and model entries, imports keep names and
// the source folders' configs. An unreadable config still gives a report: empty settings, the reader's
// error, and the raw JSON.
import {
  type LayerChoice,
  readStoredConfig,
  type StoredConfig,
  StoredConfigError,
  type StoredJudge,
  type StoredModel,
} from "../../config/stored-config.js";
import type { Condition, SystemPromptSource } from "../../types.js";
import type { ConditionInfo, JudgeInfo, ModelInfo, ReportSettings } from "./types.js";

/** A system source as stored: a run config's (`"category"`, `{text}`) or a condition's (`{kind}`). */
type SystemSource = string | { text: string } | SystemPromptSource;

interface Folder {
  HF_MODEL_NAME: string;
  HF_IS_THINKING?: boolean | undefined;
  TEMPERATURE_TEST?: number | undefined;
  MAX_NEW_TOKENS_TEST?: number | undefined;
  MAX_TASKS_PER_BENCH?: number | undefined;
  TASK_SAMPLE_SEED?: number | undefined;
}

export function describeSystem(s: SystemSource | undefined): string | undefined {
  if (s === undefined) return undefined;
  if (typeof s === "string") {
    if (s === "category") return "category context (stripped)";
    if (s === "instrumentaleval-agent") return "original InstrumentalEval agent prompt";
    return "none";
  }
  if (!("kind" in s) || s.kind === "text") return `text: ${"text" in s ? s.text : ""}`;
  const kind = s.kind;
  return describeSystem(kind === "category" || kind === "instrumentaleval-agent" ? kind : "none");
}

const lastSegment = (name: string): string =>
  name.includes("/") ? name.slice(name.lastIndexOf("/") + 1) : name;

function modelInfos(models: StoredModel[], runDecoding: Record<string, unknown> | undefined): ModelInfo[] {
  return models.map(
    (m): ModelInfo => ({
      name: m.name ?? m.model,
      model: m.model,
      provider: m.provider,
      thinking: m.thinking,
      decoding: { ...(runDecoding ?? {}), ...(m.decoding ?? {}) },
    }),
  );
}

/** An imported model: its settings come from the source folders' configs. */
function importedModelInfos(models: string[], folders: readonly Folder[]): ModelInfo[] {
  return models.map((m): ModelInfo => {
    const folder = folders.find((f) => lastSegment(f.HF_MODEL_NAME) === m || f.HF_MODEL_NAME === m);
    if (folder === undefined) return { name: m };
    const decoding: Record<string, unknown> = {};
    if (folder.TEMPERATURE_TEST !== undefined) decoding.temperature = folder.TEMPERATURE_TEST;
    if (folder.MAX_NEW_TOKENS_TEST !== undefined) decoding.maxTokens = folder.MAX_NEW_TOKENS_TEST;
    return {
      name: m,
      model: folder.HF_MODEL_NAME,
      provider: "imported run",
      thinking: folder.HF_IS_THINKING,
      decoding,
    };
  });
}

function judgeInfos(judges: readonly StoredJudge[]): JudgeInfo[] {
  return judges.map((j): JudgeInfo => {
    return {
      name: j.name ?? j.model ?? "",
      model: j.model,
      provider: j.provider,
      mode: j.mode,
      prompt: typeof j.prompt === "string" ? j.prompt : j.prompt === undefined ? undefined : "custom",
      temperature: j.temperature,
      maxTokens: j.maxTokens,
    };
  });
}

function conditionInfo(c: string | Condition, layerSelection?: Record<string, LayerChoice>): ConditionInfo {
  if (typeof c === "string") return { name: c };
  const info: ConditionInfo = { name: c.name };
  if (c.description !== undefined) info.description = c.description;
  if (c.prompt?.userSuffix !== undefined) info.userSuffix = c.prompt.userSuffix;
  if (c.prompt?.userPrefix !== undefined) info.userPrefix = c.prompt.userPrefix;
  if (c.prompt?.systemSuffix !== undefined) info.systemSuffix = c.prompt.systemSuffix;
  const system = describeSystem(c.prompt?.system);
  if (system !== undefined) info.system = system;
  if (c.activation !== undefined) {
    const a = c.activation;
    info.activation = { vector: a.vector, strength: a.strength };
    if (a.layers !== undefined) info.activation.layers = a.layers;
    if (a.normPreserving !== undefined) info.activation.normPreserving = a.normPreserving;
    if (a.mode !== undefined) info.activation.mode = a.mode;
    if (a.directionLayer !== undefined) info.activation.directionLayer = a.directionLayer;
    const chosen = layerSelection?.[c.name];
    if (chosen) info.activation.layersReason = chosen.reason;
  }
  if (c.requestBody !== undefined) info.requestBody = JSON.stringify(c.requestBody);
  return info;
}

function describeSelection(s: unknown): string | null {
  if (s === undefined || s === null) return null;
  if (typeof s === "string") return s;
  if (typeof s === "object" && "maxPerCategory" in s && "seed" in s) {
    const o = s as { maxPerCategory: unknown; seed: unknown };
    return `at most ${String(o.maxPerCategory)} per category, seed ${String(o.seed)}`;
  }
  return JSON.stringify(s);
}

function folderSelection(folders: readonly Folder[]): unknown {
  const f = folders[0];
  if (f?.MAX_TASKS_PER_BENCH === undefined || f.TASK_SAMPLE_SEED === undefined) return undefined;
  return { maxPerCategory: f.MAX_TASKS_PER_BENCH, seed: f.TASK_SAMPLE_SEED };
}

const EMPTY = {
  models: [],
  conditions: [],
  judges: [],
  decoding: null,
  selection: null,
  epochs: null,
  system: null,
};

function settingsOf(sc: StoredConfig): Omit<ReportSettings, "steerbenchVersion" | "configJson"> {
  if (sc.kind === "published" || sc.kind === "inspect") {
    const folders = sc.kind === "published" ? sc.config.folders : [];
    return {
      ...EMPTY,
      models: importedModelInfos(sc.config.models, folders),
      conditions: sc.config.conditions.map((x) => conditionInfo(x)),
      judges: judgeInfos(sc.config.judges),
      selection: describeSelection(folderSelection(folders)),
    };
  }
  const c = sc.config;
  return {
    models: modelInfos(c.models ?? [], c.decoding),
    conditions: (c.conditions ?? []).map((x) => conditionInfo(x, c.layerSelection)),
    judges: judgeInfos(c.judges ?? []),
    decoding: c.decoding ?? null,
    selection: describeSelection(c.selection),
    epochs: c.epochs ?? null,
    system: describeSystem(c.system) ?? null,
  };
}

/**
 * Settings of a run from its stored config and versions. Never throws on an unexpected config: the
 * report then shows the reader's error beside the raw JSON.
 */
export function runSettings(
  config: unknown,
  versions: Record<string, string>,
  run: { id: string; kind: string } = { id: "(config)", kind: "live" },
): ReportSettings {
  const common = {
    steerbenchVersion: versions.steerbench ?? null,
    configJson: JSON.stringify(config, null, 2) ?? "null",
  };
  try {
    return { ...settingsOf(readStoredConfig({ ...run, config })), ...common };
  } catch (err) {
    if (!(err instanceof StoredConfigError)) throw err;
    return { ...EMPTY, ...common, configError: err.message };
  }
}
