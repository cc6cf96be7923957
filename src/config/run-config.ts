// The run configuration: one YAML or JSON file, validated here at the boundary. Everything after
// this point works with the parsed, defaulted `RunConfig` type.
import { readFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, resolve } from "node:path";
import YAML from "yaml";
import { z } from "zod";
import { conditionSchema } from "../protocol/conditions.js";
import { judgePromptVariantSchema } from "../protocol/judge-prompts.js";
import { didYouMean } from "../util/did-you-mean.js";
import {
  JUDGE_PROVIDER_KINDS,
  MODEL_PROVIDER_KINDS,
  PROVIDER_KINDS,
  type ProviderKind,
  providerKind,
} from "./provider-kinds.js";

/** "kind: what it is; ..." for the schema's provider descriptions, from the one list of kinds. */
function kindHelp(which: (k: ProviderKind) => boolean): string {
  return PROVIDER_KINDS.filter(which)
    .map((k) => `${k.kind}: ${k.description}`)
    .join("; ");
}

const positiveInt = z.number().int().positive();

export const decodingSchema = z
  .object({
    temperature: z.number().min(0).max(2).default(0).describe("0 = greedy, as in the paper"),
    topP: z.number().gt(0).max(1).optional(),
    maxTokens: positiveInt.default(1024).describe("the paper: 1024, or 8096 for thinking models"),
    seed: z.number().int().nonnegative().default(0).describe("base seed; epoch e uses seed + e"),
    stop: z.array(z.string()).default([]),
  })
  .strict();

export const retrySchema = z
  .object({
    retries: z.number().int().min(0).default(5).describe("retries per call on 429/5xx/timeouts/resets"),
    baseDelayMs: positiveInt.default(500),
    maxDelayMs: positiveInt.default(60_000),
  })
  .strict();

const endpointFields = {
  provider: z
    .enum(MODEL_PROVIDER_KINDS)
    .default("openai")
    .describe(kindHelp((k) => k.canGenerate)),
  baseUrl: z
    .string()
    .url()
    .optional()
    .describe("e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama)"),
  baseUrls: z
    .array(z.string().url())
    .min(1)
    .optional()
    .describe("several endpoints serving the same model; work is spread across them"),
  model: z
    .string()
    .min(1)
    .describe("model name sent to the server, or a GGUF path / hf: reference for llama"),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
    .optional()
    .describe("environment variable holding the API key (default OPENAI_API_KEY if set)"),
  apiKeyFile: z
    .string()
    .optional()
    .describe("file holding the API key (e.g. ~/.config/steerbench/openai.key)"),
  concurrency: positiveInt.optional().describe("requests in flight per endpoint"),
  timeoutMs: positiveInt.default(300_000).describe("per-request timeout"),
  headers: z.record(z.string(), z.string()).optional().describe("extra request headers (never stored)"),
  contextSize: positiveInt.optional().describe("llama: context size in tokens"),
  chatTemplate: z
    .string()
    .min(1)
    .optional()
    .describe(
      "llama: the chat template: default the GGUF's own (Jinja, rendered exactly); builtin:NAME (e.g. builtin:chatml) for one of llama.cpp's built-ins; none to join messages as plain text; or Jinja template text",
    ),
  threads: positiveInt.optional().describe("llama: CPU threads"),
  gpu: z
    .union([z.enum(["auto", "cuda", "vulkan", "metal"]), z.literal(false)])
    .optional()
    .describe(
      "llama: backend (default auto: CUDA > Vulkan/Metal > CPU, whichever is installed and has a device); false = CPU only",
    ),
  gpuLayers: z.number().int().min(0).optional().describe("llama: layers offloaded to the GPU (default: all)"),
};

export const modelSchema = z
  .object({
    name: z.string().min(1).optional().describe("label in tables (default: model)"),
    ...endpointFields,
    thinking: z
      .boolean()
      .default(false)
      .describe("thinking model: judge only the text after the last </think>; keep the thinking separately"),
    decoding: decodingSchema.partial().optional().describe("overrides the run's decoding for this model"),
  })
  .strict();

export const judgeSchema = z
  .object({
    name: z.string().min(1).optional().describe("label in tables (default: model)"),
    ...endpointFields,
    provider: z
      .enum(JUDGE_PROVIDER_KINDS)
      .default("openai")
      .describe(kindHelp((k) => k.canJudge)),
    mode: z
      .enum(["generate", "score"])
      .default("generate")
      .describe(
        `generate: the judge writes a verdict; score (${PROVIDER_KINDS.filter((k) => k.canScore)
          .map((k) => k.kind)
          .join(", ")} only): pick the label with the highest log-likelihood`,
      ),
    prompt: z
      .union([z.enum(["paper", "instrumentaleval"]), judgePromptVariantSchema])
      .default("paper")
      .describe("paper: the 4-label JSON judge of 2601.01584; instrumentaleval: the original 2-label judge"),
    retries: z.number().int().min(0).default(2).describe("re-asks when a reply cannot be parsed"),
    maxTokens: positiveInt.default(200),
    temperature: z.number().min(0).max(2).default(0),
  })
  .strict();

export const selectionSchema = z.union([
  z.enum(["paper", "full"]),
  z.object({ maxPerCategory: positiveInt, seed: z.number().int() }).strict(),
]);

export const runConfigSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).optional().describe("run name (default: derived from models and conditions)"),
    data: z
      .string()
      .optional()
      .describe("benchmark data directory (default: --data, STEERBENCH_DATA, or the cache)"),
    selection: selectionSchema.default("paper").describe("paper: 71 items; full: 76"),
    limit: positiveInt.optional().describe("take only the first N items of the selection"),
    categories: z.array(z.string()).optional().describe("only these category slugs"),
    system: z
      .union([
        z.enum(["category", "instrumentaleval-agent", "none"]),
        z.object({ text: z.string() }).strict(),
      ])
      .default("category")
      .describe("system message: the category context (paper), the original agent prompt, none, or a text"),
    conditions: z
      .array(z.union([z.string(), conditionSchema]))
      .min(1)
      .default(["baseline", "pro_ic", "anti_ic"])
      .describe("preset names (baseline, pro_ic, anti_ic, conflict) or custom conditions"),
    models: z.array(modelSchema).min(1),
    judges: z.array(judgeSchema).min(1),
    decoding: decodingSchema.default({ temperature: 0, maxTokens: 1024, seed: 0, stop: [] }),
    epochs: positiveInt.default(1).describe("repeat each item N times with seeds seed+0..N-1"),
    concurrency: positiveInt.default(16).describe("items in flight at once (and default per endpoint)"),
    retry: retrySchema.default({ retries: 5, baseDelayMs: 500, maxDelayMs: 60_000 }),
    maxResponseChars: positiveInt
      .default(65_536)
      .describe(
        "longer answers are stored and judged cut to this many characters, flagged per item (a runaway 10 MB answer must not reach the judge whole)",
      ),
    shard: z
      .object({ index: z.number().int().min(0), count: positiveInt })
      .strict()
      .refine((s) => s.index < s.count, "index must be below count")
      .optional()
      .describe("run only shard index of count (items split by a stable hash)"),
  })
  .strict();

export type RunConfigInput = z.input<typeof runConfigSchema>;
export type RunConfig = z.output<typeof runConfigSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type JudgeConfig = z.output<typeof judgeSchema>;
export type DecodingConfig = z.output<typeof decodingSchema>;

export class ConfigError extends Error {}

/** The known keys of the strict object at a config path, for "did you mean" on unknown keys. */
function knownKeys(path: readonly PropertyKey[]): string[] | undefined {
  const p = path.map(String);
  const shape =
    p.length === 0
      ? runConfigSchema.shape
      : p.length === 2 && p[0] === "models"
        ? modelSchema.shape
        : p.length === 2 && p[0] === "judges"
          ? judgeSchema.shape
          : (p.length === 1 && p[0] === "decoding") || (p.length === 3 && p[2] === "decoding")
            ? decodingSchema.shape
            : p.length === 1 && p[0] === "retry"
              ? retrySchema.shape
              : undefined;
  return shape ? Object.keys(shape) : undefined;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** zod's message, made specific: valid values for enums and unions, and a "did you mean" for typos. */
function issueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  const given = valueAt(input, issue.path);
  if (issue.code === "invalid_value") {
    const values = issue.values.map(String);
    const hint = typeof given === "string" ? didYouMean(given, values) : "";
    return `must be one of ${values.map((v) => `"${v}"`).join(", ")}, got ${JSON.stringify(given)}${hint}`;
  }
  if (issue.code === "invalid_union") {
    // A union of an enum and other shapes (selection, conditions): name the enum's values.
    const values = issue.errors
      .flat()
      .flatMap((e) => (e.code === "invalid_value" ? e.values.map(String) : []));
    if (values.length > 0) {
      const hint = typeof given === "string" ? didYouMean(given, values) : "";
      return `${issue.message}: got ${JSON.stringify(given)}; expected one of ${values.map((v) => `"${v}"`).join(", ")} or an object${hint}`;
    }
  }
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(issue.path);
    const hints = known ? issue.keys.map((k) => didYouMean(k, known)).join("") : "";
    return `${issue.message}${hints}`;
  }
  return issue.message;
}

/** Formats zod issues as `key.path: problem` lines, so a bad config names its key. */
export function formatIssues(error: z.ZodError, source: string, input?: unknown): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.length === 0 ? "(top level)" : issue.path.map(String).join(".");
    return `  ${path}: ${issueMessage(issue, input)}`;
  });
  return `invalid config ${source}:\n${lines.join("\n")}`;
}

export function parseRunConfig(value: unknown, source = "(inline)"): RunConfig {
  const parsed = runConfigSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error, source, value));
  const config = parsed.data;
  for (const [i, m] of [...config.models.entries()].map(([i, m]) => [`models.${i}`, m] as const)) {
    checkEndpoint(m, i, source);
  }
  for (const [i, j] of config.judges.entries()) {
    checkEndpoint(j, `judges.${i}`, source);
    if (j.mode === "score" && providerKind(j.provider)?.canScore !== true) {
      const scorers = PROVIDER_KINDS.filter((k) => k.canScore).map((k) => `"${k.kind}"`);
      throw new ConfigError(
        `invalid config ${source}:\n  judges.${i}.mode: "score" needs provider ${scorers.join(" or ")}`,
      );
    }
  }
  const names = config.models.map(modelLabel);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup)
    throw new ConfigError(`invalid config ${source}:\n  models: two models are named "${dup}"; set name`);
  const jnames = config.judges.map(modelLabel);
  const jdup = jnames.find((n, i) => jnames.indexOf(n) !== i);
  if (jdup)
    throw new ConfigError(`invalid config ${source}:\n  judges: two judges are named "${jdup}"; set name`);
  return config;
}

function checkEndpoint(
  e: { provider: string; baseUrl?: string | undefined; baseUrls?: string[] | undefined },
  key: string,
  source: string,
): void {
  if (providerKind(e.provider)?.needsBaseUrl === true && !e.baseUrl && !e.baseUrls) {
    throw new ConfigError(
      `invalid config ${source}:\n  ${key}.baseUrl: required for provider "${e.provider}"`,
    );
  }
  if (e.baseUrl && e.baseUrls) {
    throw new ConfigError(`invalid config ${source}:\n  ${key}: give baseUrl or baseUrls, not both`);
  }
}

/**
 * A model's label in tables and item keys: its name, else for a local file (a GGUF, a classifier's
 * JSON) the file's base name without extension, else the model name sent to the server. A GGUF named
 * by its 200-character relative path made tables unreadable.
 */
export function modelLabel(m: { name?: string | undefined; model: string; provider?: string }): string {
  if (m.name !== undefined) return m.name;
  const local = m.provider === "llama" || m.provider === "classifier" || /\.(gguf|json)$/i.test(m.model);
  if (local && !m.model.startsWith("hf:")) {
    const base = basename(m.model).replace(/\.(gguf|json)$/i, "");
    if (base !== "") return base;
  }
  return m.model;
}

/**
 * Makes the file paths of a config file relative to the file itself, as users expect: the benchmark
 * data, local model and judge files, key files, and steering-vector files of conditions. Absolute paths,
 * `~/` paths, `hf:` references and server model names are left alone. Works on the raw object, before
 * validation, so that command-line flags laid over it still resolve against the working directory.
 */
export function resolveConfigPaths(raw: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  const fix = (value: unknown): unknown =>
    typeof value === "string" &&
    value !== "" &&
    !isAbsolute(value) &&
    !value.startsWith("~/") &&
    !value.startsWith("hf:")
      ? resolve(baseDir, value)
      : value;
  const out: Record<string, unknown> = { ...raw };
  if ("data" in out) out.data = fix(out.data);
  const endpoints = (list: unknown, localKinds: readonly string[]) =>
    Array.isArray(list)
      ? list.map((e) => {
          if (typeof e !== "object" || e === null) return e;
          const entry = { ...(e as Record<string, unknown>) };
          const provider = typeof entry.provider === "string" ? entry.provider : undefined;
          const model = entry.model;
          const local =
            (provider !== undefined && localKinds.includes(provider)) ||
            (provider === undefined && typeof model === "string" && /\.gguf$/i.test(model));
          if (local) entry.model = fix(model);
          if ("apiKeyFile" in entry) entry.apiKeyFile = fix(entry.apiKeyFile);
          return entry;
        })
      : list;
  if ("models" in out) out.models = endpoints(out.models, ["llama"]);
  if ("judges" in out) out.judges = endpoints(out.judges, ["llama", "classifier"]);
  if (Array.isArray(out.conditions)) {
    out.conditions = out.conditions.map((c) => {
      if (typeof c !== "object" || c === null) return c;
      const cond = { ...(c as Record<string, unknown>) };
      if (typeof cond.activation === "object" && cond.activation !== null) {
        const act = { ...(cond.activation as Record<string, unknown>) };
        act.vector = fix(act.vector);
        cond.activation = act;
      }
      return cond;
    });
  }
  return out;
}

/** Reads a config file (YAML, or JSON by extension) into a plain object, before validation. */
export function readConfigObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = extname(path).toLowerCase() === ".json" ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError(
      `config ${path} is not valid ${extname(path) === ".json" ? "JSON" : "YAML"}: ${(err as Error).message}`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`config ${path}: the top level must be a mapping of keys`);
  }
  return value as Record<string, unknown>;
}

export function loadRunConfigFile(path: string): RunConfig {
  return parseRunConfig(resolveConfigPaths(readConfigObject(path), dirname(resolve(path))), path);
}

/** The published JSON Schema of the config file (schema/run-config.schema.json). */
export function runConfigJsonSchema(): unknown {
  return z.toJSONSchema(runConfigSchema, { io: "input", unrepresentable: "any" });
}
