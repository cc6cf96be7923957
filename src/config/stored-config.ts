// The config a run stores with itself (the `runs` table's JSON), one zod schema per run kind, and the one
// reader of it. Writers build what they store through these schemas (`storedConfig`), readers go through
// `readStoredConfig`, so what is written is what is read.
//
// The schemas read what every earlier steerbench wrote: fields added over time are optional, entries keep
// keys this version does not know (a newer version's store still reads), and a key that is there must
// have its type. A config that does not match fails with the run id and the key.
import { z } from "zod";
import type { Condition } from "../types.js";
import { type SweepRecord, sweepRecordSchema } from "./sweep-record.js";

const int = z.number().int();
const count = int.nonnegative();

/** Decoding as stored: the run's (defaults applied) or a model's override (only what it sets). */
const decodingSchema = z.looseObject({
  temperature: z.number().optional(),
  topP: z.number().optional(),
  maxTokens: count.optional(),
  seed: int.optional(),
  stop: z.array(z.string()).optional(),
});

/** The fields a model and a judge entry share: a run config's entry, parsed, with header values dropped. */
const endpointFields = {
  name: z.string().optional(),
  provider: z.string().optional(),
  model: z.string(),
  baseUrl: z.string().optional(),
  baseUrls: z.array(z.string()).optional(),
  apiKeyEnv: z.string().optional(),
  apiKeyFile: z.string().optional(),
  concurrency: count.optional(),
  timeoutMs: count.optional(),
  /** Header names only: their values can hold tokens and are never stored. */
  headers: z.array(z.string()).optional(),
  contextSize: count.optional(),
  chatTemplate: z.string().optional(),
  threads: count.optional(),
  gpu: z.union([z.string(), z.literal(false)]).optional(),
  gpuLayers: count.optional(),
};

export const storedModelSchema = z.looseObject({
  ...endpointFields,
  thinking: z.boolean().optional(),
  decoding: decodingSchema.optional(),
});

export const storedJudgeSchema = z.looseObject({
  ...endpointFields,
  /** Always written; optional because hand-made stores (tests, fixtures) name a judge by `name` only. */
  model: z.string().optional(),
  mode: z.string().optional(),
  /** A preset name, or a custom judge prompt. */
  prompt: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  retries: count.optional(),
  maxTokens: count.optional(),
  temperature: z.number().optional(),
});

const systemSourceSchema = z.union([
  z.looseObject({ kind: z.enum(["category", "instrumentaleval-agent", "none"]) }),
  z.looseObject({ kind: z.literal("text"), text: z.string() }),
]);

/** A resolved condition (types.ts `Condition`), as planRun stores it. */
const storedConditionSchema = z.looseObject({
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
      strength: z.number(),
      layers: z.tuple([int, int]).optional(),
      normPreserving: z.boolean().optional(),
      mode: z.enum(["add", "ablate", "rotate"]).optional(),
      directionLayer: int.optional(),
    })
    .optional(),
  requestBody: z.record(z.string(), z.unknown()).optional(),
});

/** How `layers: auto` was resolved for a condition (see runner/auto-layers.ts). */
export const layerChoiceSchema = z.object({
  vector: z.string(),
  layers: z.tuple([int, int]),
  reason: z.string(),
});
export type LayerChoice = z.output<typeof layerChoiceSchema>;

/** Judges added later by a judge-only pass (`judge-check`, adding a judge), on a run of any kind. */
const addedJudges = { addedJudges: z.array(storedJudgeSchema).optional() };

const selectionSchema = z.union([z.string(), z.looseObject({ maxPerCategory: count, seed: int })]);

/** A run of `steerbench run` (kind live): its identity fields, operational settings and the data's categories. */
export const liveStoredConfigSchema = z.looseObject({
  name: z.string().optional(),
  selection: selectionSchema.optional(),
  limit: count.nullable().optional(),
  categories: z.array(z.string()).nullable().optional(),
  system: z.union([z.string(), z.looseObject({ text: z.string() })]).optional(),
  /** Resolved conditions (a hand-made store may name presets only). */
  conditions: z.array(z.union([z.string(), storedConditionSchema])).optional(),
  models: z.array(storedModelSchema).optional(),
  judges: z.array(storedJudgeSchema).optional(),
  decoding: decodingSchema.optional(),
  epochs: count.optional(),
  shard: z.object({ index: count, count: count }).nullable().optional(),
  dataHash: z.string().nullable().optional(),
  maxResponseChars: count.optional(),
  concurrency: count.optional(),
  retry: z.record(z.string(), z.unknown()).optional(),
  /** Which categories the data had, and the pack's warnings. */
  pack: z
    .looseObject({
      categories: z.array(z.looseObject({ slug: z.string(), scenarios: count })),
      warnings: z.array(z.string()),
    })
    .optional(),
  ...addedJudges,
  /** Conditions whose `layers: auto` was resolved when the run was planned, by condition name. */
  layerSelection: z.record(z.string(), layerChoiceSchema).optional(),
});

/** A strength sweep (kind sweep): a live run plus its `sweep` record. */
export const sweepStoredConfigSchema = liveStoredConfigSchema.extend({
  sweep: sweepRecordSchema.optional(),
});

// The source-folder configs a published import keeps (arXiv 2601.01584 `config.json`), with the folder name.
const folderSchema = z.looseObject({
  folder: z.string().optional(),
  HF_MODEL_NAME: z.string(),
  STEERING_MODE: z.string().optional(),
  JUDGE_MODEL: z.string().optional(),
  HF_IS_THINKING: z.boolean().optional(),
  TEMPERATURE_TEST: z.number().optional(),
  MAX_NEW_TOKENS_TEST: z.number().optional(),
  MAX_TASKS_PER_BENCH: z.number().optional(),
  TASK_SAMPLE_SEED: z.number().optional(),
});

const importedJudgeSchema = z.looseObject({
  name: z.string(),
  model: z.string(),
  prompt: z.string().optional(),
  /** Inspect imports: the label map that turned the log's scores into labels. */
  labelMap: z.string().optional(),
});

/** The paper's published run folders (`steerbench import`, kind import). Models and conditions by name. */
export const publishedStoredConfigSchema = z.looseObject({
  source: z.string(),
  models: z.array(z.string()),
  conditions: z.array(z.string()),
  judges: z.array(importedJudgeSchema),
  folders: z.array(folderSchema),
  ...addedJudges,
});

/** Inspect eval logs (`steerbench import` of .eval/.json logs, kind import). */
export const inspectStoredConfigSchema = z.looseObject({
  source: z.literal("inspect"),
  models: z.array(z.string()),
  conditions: z.array(z.string()),
  judges: z.array(importedJudgeSchema),
  logs: z.array(
    z.looseObject({
      file: z.string(),
      format: z.string().optional(),
      version: z.number().optional(),
      task: z.string().optional(),
      model: z.string().optional(),
      evalId: z.string().nullable().optional(),
      created: z.string().nullable().optional(),
    }),
  ),
  ...addedJudges,
});

export type LiveStoredConfig = z.output<typeof liveStoredConfigSchema>;
export type SweepStoredConfig = z.output<typeof sweepStoredConfigSchema>;
export type PublishedStoredConfig = z.output<typeof publishedStoredConfigSchema>;
export type InspectStoredConfig = z.output<typeof inspectStoredConfigSchema>;
export type StoredModel = z.output<typeof storedModelSchema>;
export type StoredJudge = z.output<typeof storedJudgeSchema>;

/** A stored config, by what wrote it. Imports share the store's kind `import` and differ by source. */
export type StoredConfig =
  | { kind: "live"; config: LiveStoredConfig }
  | { kind: "sweep"; config: SweepStoredConfig }
  | { kind: "published"; config: PublishedStoredConfig }
  | { kind: "inspect"; config: InspectStoredConfig };

export class StoredConfigError extends Error {}

type Form = StoredConfig["kind"];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function formOf(kind: string, config: unknown): Form | undefined {
  // The store's kind `judge-check` is reserved (no version has written it): read as a live run.
  if (kind === "live" || kind === "judge-check") return "live";
  if (kind === "sweep") return "sweep";
  if (kind === "import") {
    return isRecord(config) && (config.source === "inspect" || "logs" in config) ? "inspect" : "published";
  }
  return undefined;
}

function problem(runId: string, form: Form, error: z.ZodError): StoredConfigError {
  const first = error.issues[0]!;
  const key = first.path.length === 0 ? "(top level)" : first.path.map(String).join(".");
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : "";
  return new StoredConfigError(
    `run ${runId}: its stored config does not read as a ${form} run at ${key}: ${first.message}${more}`,
  );
}

function parse(runId: string, form: Form, config: unknown): StoredConfig {
  const check = <T>(schema: z.ZodType<T>): T => {
    const parsed = schema.safeParse(config);
    if (!parsed.success) throw problem(runId, form, parsed.error);
    return parsed.data;
  };
  switch (form) {
    case "live":
      return { kind: form, config: check(liveStoredConfigSchema) };
    case "sweep":
      return { kind: form, config: check(sweepStoredConfigSchema) };
    case "published":
      return { kind: form, config: check(publishedStoredConfigSchema) };
    case "inspect":
      return { kind: form, config: check(inspectStoredConfigSchema) };
  }
}

/**
 * The one reader of a run's stored config: typed by the run's kind. Throws StoredConfigError naming the
 * run and the first key that does not match.
 */
export function readStoredConfig(run: { id: string; kind: string; config: unknown }): StoredConfig {
  const form = formOf(run.kind, run.config);
  if (form === undefined) throw new StoredConfigError(`run ${run.id}: unknown run kind "${run.kind}"`);
  return parse(run.id, form, run.config);
}

/** What a writer stores for a run of `kind`, checked by the same schema the reader uses. */
export function storedConfig(kind: "live", config: unknown): LiveStoredConfig;
export function storedConfig(kind: "sweep", config: unknown): SweepStoredConfig;
export function storedConfig(kind: "live" | "sweep", config: unknown): SweepStoredConfig;
export function storedConfig(kind: "published", config: unknown): PublishedStoredConfig;
export function storedConfig(kind: "inspect", config: unknown): InspectStoredConfig;
export function storedConfig(kind: Form, config: unknown): StoredConfig["config"] {
  return parse("(being written)", kind, config).config;
}

/** What a run's stored config may gain after the run was created. */
export interface StoredConfigPatch {
  addedJudges?: StoredJudge[];
  /** A sweep's measurements (sweep runs only). */
  sweep?: SweepRecord;
}

/** A run's stored config with `patch` laid over it, checked by the run's schema: what to write back. */
export function withStored(
  run: { id: string; kind: string; config: unknown },
  patch: StoredConfigPatch,
): StoredConfig["config"] {
  const read = readStoredConfig(run);
  if (patch.sweep !== undefined && read.kind !== "sweep") {
    throw new StoredConfigError(`run ${run.id}: a ${read.kind} run has no sweep record`);
  }
  return parse(run.id, read.kind, { ...read.config, ...patch }).config;
}

// Accessors: what several readers need from any kind.

/** The run's resolved conditions (imports name theirs only, and give none). */
export function conditionsOf(sc: StoredConfig): Condition[] {
  if (sc.kind !== "live" && sc.kind !== "sweep") return [];
  return (sc.config.conditions ?? []).filter((c) => typeof c !== "string");
}

/** The sweep record of a sweep run. */
export function sweepOf(sc: StoredConfig): SweepRecord | undefined {
  return sc.kind === "sweep" ? sc.config.sweep : undefined;
}

/** The model entries of a live or sweep run (imports name their models only). */
export function modelsOf(sc: StoredConfig): StoredModel[] {
  return sc.kind === "live" || sc.kind === "sweep" ? (sc.config.models ?? []) : [];
}
