// judge-check as a library: plan candidate judges (one per judge-prompt variant), estimate the work,
// run them over an existing run with the judge-only pass (resumable: same run + judge name → only the
// missing verdicts), and compare each with the reference labels; with several variants, also how far
// Table 1 and Δ move across them.
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import YAML from "yaml";
import { PROVIDER_KINDS } from "../config/provider-kinds.js";
import { type JudgeConfig, judgeSchema } from "../config/run-config.js";
import type { ConditionPair } from "../metrics/index.js";
import { JUDGE_PRESET_NAMES, type JudgePrompt, judgePromptVariantSchema } from "../protocol/judge-prompts.js";
import type { ConnectContext, ConnectedJudge } from "../runner/connect.js";
import type { RetrySettings } from "../runner/judge-item.js";
import { type JudgeRunSummary, judgeRun } from "../runner/judge-run.js";
import type { ProgressReporter } from "../runner/progress.js";
import type { Store } from "../store/store.js";
import type { ProtocolStrings } from "../types.js";
import { compareJudges, type JudgeComparison } from "./compare.js";
import type { PlannedJudge } from "./estimate.js";
import { CONSENSUS } from "./multi-judge.js";
import { promptSensitivity, type SensitivityReport } from "./sensitivity.js";

/** Judge kinds that send nothing anywhere (no prompt, no tokens, no latency): from the one list of kinds. */
export const LOCAL_JUDGE_PROVIDERS = PROVIDER_KINDS.filter(
  (k) => k.canJudge && !k.needsBaseUrl && !k.canGenerate,
).map((k) => k.kind);

/** Reads a judge prompt: a preset name, or a JSON/YAML file holding a custom variant. */
export function readJudgePrompt(spec: string): JudgePrompt {
  if ((JUDGE_PRESET_NAMES as readonly string[]).includes(spec)) return spec as JudgePrompt;
  let text: string;
  try {
    text = readFileSync(spec, "utf8");
  } catch (err) {
    throw new Error(
      `--judge-prompt "${spec}" is neither a preset (${JUDGE_PRESET_NAMES.join(", ")}) nor a readable file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = extname(spec).toLowerCase() === ".json" ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new Error(
      `judge prompt file ${spec} is not valid ${extname(spec) === ".json" ? "JSON" : "YAML"}: ${(err as Error).message}`,
    );
  }
  const parsed = judgePromptVariantSchema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.length === 0 ? "(top level)" : i.path.join(".")}: ${i.message}`,
    );
    throw new Error(`invalid judge prompt file ${spec}:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export interface CandidateSpec {
  provider: JudgeConfig["provider"];
  model: string;
  baseUrl?: string;
  apiKeyEnv?: string;
  /** Prompt presets or files; default ["paper"]. Each becomes its own judge. */
  prompts?: readonly string[];
  /** Overrides the judge name (one prompt only). */
  name?: string;
  maxTokens?: number;
  temperature?: number;
  retries?: number;
  concurrency?: number;
}

export interface CandidateJudge {
  config: JudgeConfig;
  planned: PlannedJudge;
}

/** The judge configs to run: `<model>/<variant>` per prompt, or `classifier:<file>` for the offline judge. */
export function planCandidates(spec: CandidateSpec): CandidateJudge[] {
  const local = (LOCAL_JUDGE_PROVIDERS as readonly string[]).includes(spec.provider);
  const prompts = spec.prompts && spec.prompts.length > 0 ? [...spec.prompts] : ["paper"];
  if (new Set(prompts).size !== prompts.length)
    throw new Error(`--judge-prompt repeats a variant: ${prompts.join(", ")}`);
  if (local && prompts.length > 1) {
    throw new Error(`the ${spec.provider} judge reads no prompt; give at most one --judge-prompt`);
  }
  if (!local && spec.provider !== "llama" && !spec.baseUrl) {
    throw new Error(`--judge-base-url is required for provider "${spec.provider}"`);
  }
  if (spec.name !== undefined && prompts.length > 1) {
    throw new Error(
      "--judge-name names one judge; with several --judge-prompt variants each is named <model>/<variant>",
    );
  }
  const out = prompts.map((p): CandidateJudge => {
    const prompt = readJudgePrompt(p);
    const variant = typeof prompt === "string" ? prompt : prompt.name;
    const name =
      spec.name ??
      (spec.provider === "classifier"
        ? `classifier:${basename(spec.model).replace(/\.json$/i, "")}`
        : `${spec.model}/${variant}`);
    if (name === CONSENSUS)
      throw new Error(`"${CONSENSUS}" is reserved for the majority vote; pick another judge name`);
    const parsed = judgeSchema.safeParse({
      name,
      provider: spec.provider,
      model: spec.model,
      ...(spec.baseUrl !== undefined ? { baseUrl: spec.baseUrl } : {}),
      ...(spec.apiKeyEnv !== undefined ? { apiKeyEnv: spec.apiKeyEnv } : {}),
      ...(spec.maxTokens !== undefined ? { maxTokens: spec.maxTokens } : {}),
      ...(spec.temperature !== undefined ? { temperature: spec.temperature } : {}),
      ...(spec.retries !== undefined ? { retries: spec.retries } : {}),
      ...(spec.concurrency !== undefined ? { concurrency: spec.concurrency } : {}),
      prompt,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(
        `judge ${name}: ${issue ? `${issue.path.join(".")}: ${issue.message}` : parsed.error.message}`,
      );
    }
    return { config: parsed.data, planned: { name, prompt, local } };
  });
  return out;
}

export interface JudgeCheckOptions {
  store: Store;
  runId: string;
  /** The judge whose labels are the reference (e.g. gpt-5.2 of an imported published run). */
  reference: string;
  candidates: readonly CandidateJudge[];
  strings: ProtocolStrings;
  limit?: number;
  concurrency?: number;
  retry?: RetrySettings;
  retryErrors?: boolean;
  pairs?: readonly ConditionPair[];
  signal?: AbortSignal;
  progress?: ProgressReporter;
  log?: (line: string) => void;
  connect?: (j: JudgeConfig, ctx: ConnectContext) => Promise<ConnectedJudge>;
}

export interface JudgeCheckResult {
  summary: JudgeRunSummary;
  comparisons: JudgeComparison[];
  /** Only with two or more candidates (prompt variants). */
  sensitivity: SensitivityReport | undefined;
}

export async function judgeCheck(opts: JudgeCheckOptions): Promise<JudgeCheckResult> {
  const { store, runId, reference } = opts;
  const judges = store.judges(runId);
  if (reference !== CONSENSUS && !judges.includes(reference)) {
    throw new Error(
      `run ${runId} has no reference judge "${reference}"; judges: ${judges.join(", ") || "(none)"}`,
    );
  }
  for (const c of opts.candidates) {
    if (c.planned.name === reference)
      throw new Error(`the candidate "${reference}" is the reference judge itself`);
  }
  const candidateNames = new Set(opts.candidates.map((c) => c.planned.name));
  // A consensus reference is the vote of the run's other judges, never of the candidates.
  const voters = judges.filter((j) => !candidateNames.has(j));
  if (reference === CONSENSUS && voters.length === 0) {
    throw new Error(`run ${runId} has no judges besides the candidates to form a consensus reference`);
  }
  const summary = await judgeRun({
    store,
    runId,
    judges: opts.candidates.map((c) => c.config),
    strings: opts.strings,
    concurrency: opts.concurrency,
    retry: opts.retry,
    retryErrors: opts.retryErrors,
    limit: opts.limit,
    signal: opts.signal,
    progress: opts.progress,
    log: opts.log,
    connect: opts.connect,
  });
  const comparisons = opts.candidates.map((c) =>
    compareJudges(store, runId, reference, c.planned.name, {
      pairs: opts.pairs,
      consensus: { judges: voters },
    }),
  );
  return {
    summary,
    comparisons,
    sensitivity: comparisons.length > 1 ? promptSensitivity(comparisons) : undefined,
  };
}
