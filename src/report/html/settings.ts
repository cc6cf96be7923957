// Reads the run settings the report shows out of a run's stored config. Stored configs differ by run
// kind (live runs keep the resolved conditions, imports keep preset names and the source folders'
// configs), so every field is optional here and unknown fields are kept in the raw JSON view.
import { z } from "zod";
import type { ConditionInfo, JudgeInfo, ModelInfo, ReportSettings } from "./types.js";

const systemSourceSchema = z.union([
  z.enum(["category", "instrumentaleval-agent", "none"]),
  z.looseObject({ kind: z.string(), text: z.string().optional() }),
  z.looseObject({ text: z.string() }),
]);

const conditionSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  prompt: z
    .looseObject({
      userSuffix: z.string().optional(),
      userPrefix: z.string().optional(),
      systemSuffix: z.string().optional(),
      system: systemSourceSchema.optional(),
    })
    .optional(),
  activation: z
    .looseObject({
      vector: z.string(),
      layers: z.tuple([z.number(), z.number()]).optional(),
      strength: z.number(),
      normPreserving: z.boolean().optional(),
    })
    .optional(),
  requestBody: z.record(z.string(), z.unknown()).optional(),
});

const decodingSchema = z.record(z.string(), z.unknown());

const modelSchema = z.union([
  z.string(),
  z.looseObject({
    name: z.string().optional(),
    model: z.string(),
    provider: z.string().optional(),
    thinking: z.boolean().optional(),
    decoding: decodingSchema.optional(),
  }),
]);

const judgeSchema = z.union([
  z.string(),
  z.looseObject({
    name: z.string().optional(),
    model: z.string(),
    provider: z.string().optional(),
    mode: z.string().optional(),
    prompt: z.unknown().optional(),
    temperature: z.number().optional(),
    maxTokens: z.number().optional(),
  }),
]);

// The source-folder configs an import keeps (arXiv 2601.01584 `config.json`).
const folderSchema = z.looseObject({
  HF_MODEL_NAME: z.string(),
  STEERING_MODE: z.string().optional(),
  HF_IS_THINKING: z.boolean().optional(),
  TEMPERATURE_TEST: z.number().optional(),
  MAX_NEW_TOKENS_TEST: z.number().optional(),
  MAX_TASKS_PER_BENCH: z.number().optional(),
  TASK_SAMPLE_SEED: z.number().optional(),
});

const configSchema = z.looseObject({
  models: z.array(modelSchema).optional().catch(undefined),
  conditions: z
    .array(z.union([z.string(), conditionSchema]))
    .optional()
    .catch(undefined),
  judges: z.array(judgeSchema).optional().catch(undefined),
  decoding: decodingSchema.optional().catch(undefined),
  selection: z.unknown().optional(),
  epochs: z.number().optional().catch(undefined),
  system: systemSourceSchema.optional().catch(undefined),
  folders: z.array(folderSchema).optional().catch(undefined),
});

type SystemSource = z.output<typeof systemSourceSchema>;

export function describeSystem(s: SystemSource | undefined): string | undefined {
  if (s === undefined) return undefined;
  if (typeof s === "string") {
    if (s === "category") return "category context (stripped)";
    if (s === "instrumentaleval-agent") return "original InstrumentalEval agent prompt";
    return "none";
  }
  const kind = "kind" in s ? s.kind : "text";
  if (kind === "text") return `text: ${s.text ?? ""}`;
  return describeSystem(kind === "category" || kind === "instrumentaleval-agent" ? kind : "none");
}

const lastSegment = (name: string): string =>
  name.includes("/") ? name.slice(name.lastIndexOf("/") + 1) : name;

function modelInfos(
  models: z.output<typeof modelSchema>[] | undefined,
  runDecoding: Record<string, unknown> | undefined,
  folders: z.output<typeof folderSchema>[] | undefined,
): ModelInfo[] {
  return (models ?? []).map((m): ModelInfo => {
    if (typeof m !== "string") {
      return {
        name: m.name ?? m.model,
        model: m.model,
        provider: m.provider,
        thinking: m.thinking,
        decoding: { ...(runDecoding ?? {}), ...(m.decoding ?? {}) },
      };
    }
    // An imported model: its settings come from the source folders' configs.
    const folder = folders?.find((f) => lastSegment(f.HF_MODEL_NAME) === m || f.HF_MODEL_NAME === m);
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

function judgeInfos(judges: z.output<typeof judgeSchema>[] | undefined): JudgeInfo[] {
  return (judges ?? []).map((j): JudgeInfo => {
    if (typeof j === "string") return { name: j };
    return {
      name: j.name ?? j.model,
      model: j.model,
      provider: j.provider,
      mode: j.mode,
      prompt: typeof j.prompt === "string" ? j.prompt : j.prompt === undefined ? undefined : "custom",
      temperature: j.temperature,
      maxTokens: j.maxTokens,
    };
  });
}

function conditionInfo(c: string | z.output<typeof conditionSchema>): ConditionInfo {
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

function folderSelection(folders: z.output<typeof folderSchema>[] | undefined): unknown {
  const f = folders?.[0];
  if (f?.MAX_TASKS_PER_BENCH === undefined || f.TASK_SAMPLE_SEED === undefined) return undefined;
  return { maxPerCategory: f.MAX_TASKS_PER_BENCH, seed: f.TASK_SAMPLE_SEED };
}

/** Settings of a run from its stored config and versions. Never throws on an unexpected config. */
export function runSettings(config: unknown, versions: Record<string, string>): ReportSettings {
  const parsed = configSchema.safeParse(config);
  const c = parsed.success ? parsed.data : {};
  return {
    models: modelInfos(c.models, c.decoding, c.folders),
    conditions: (c.conditions ?? []).map(conditionInfo),
    judges: judgeInfos(c.judges),
    decoding: c.decoding ?? null,
    selection: describeSelection(c.selection ?? folderSelection(c.folders)),
    epochs: c.epochs ?? null,
    system: describeSystem(c.system) ?? null,
    steerbenchVersion: versions.steerbench ?? null,
    configJson: JSON.stringify(config, null, 2) ?? "null",
  };
}
