// Running a strength sweep: the sweep's config goes through the ordinary run engine (so it is stored,
// resumable and judged like any run), stored as kind "sweep" with its `sweep` record (vector, strengths,
// perplexities). Perplexities are measured first, on a separate engine that is freed before the run starts:
// that also checks the vector against the model before any generation is spent.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RunConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import { loadPack } from "../data/pack.js";
import { planRun } from "../engine/plan.js";
import type { ProgressReporter } from "../engine/progress.js";
import { type RunSummary, runEvaluation } from "../engine/run.js";
import type { Store } from "../store/store.js";
import type { Condition, ProtocolStrings } from "../types.js";
import { sha256 } from "../util/hash.js";
import { versions } from "../version.js";
import {
  conditionPerplexity,
  NEUTRAL_PASSAGE,
  type PerplexityEngine,
  type PerplexityResult,
  passagePerplexity,
} from "./perplexity.js";
import { analyzeSweep, type SweepAnalysis } from "./sweep-analysis.js";
import { type SweepRecord, sweepRecordSchema } from "./sweep-config.js";

export interface RunSweepOptions {
  config: RunConfig;
  store: Store;
  packDir: string;
  /** The sweep record (from `sweepRecord(spec)`); perplexities are added here. */
  sweep: SweepRecord;
  /** Measure the neutral passage's perplexity per condition (default: when the model is a local GGUF). */
  perplexity?: boolean;
  retryErrors?: boolean;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  log?: (line: string) => void;
}

export interface SweepResult {
  summary: RunSummary;
  /** One analysis per model, with the run's first judge. */
  analyses: SweepAnalysis[];
}

export const PASSAGE_SHA256 = sha256(NEUTRAL_PASSAGE);

/** sha256 of a file's bytes. */
export function fileSha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** The sweep record stored with a run, if it has a valid one. */
export function storedSweep(config: unknown): SweepRecord | undefined {
  if (config === null || typeof config !== "object") return undefined;
  const parsed = sweepRecordSchema.safeParse((config as { sweep?: unknown }).sweep);
  return parsed.success ? parsed.data : undefined;
}

/** Perplexity of the neutral passage under each condition, plus the unsteered reference. */
export async function measurePerplexities(
  engine: PerplexityEngine,
  conditions: readonly Condition[],
  strings: ProtocolStrings,
  log?: (line: string) => void,
): Promise<NonNullable<SweepRecord["perplexity"]>> {
  // One at a time, not batched: in a batch each scoring's KV cells sit elsewhere, which changes the order of
  // attention sums in the last bits, and a zero-strength vector must give exactly the reference.
  const reference = await passagePerplexity(engine);
  const byCondition: Record<string, PerplexityResult> = {};
  for (const c of conditions) {
    byCondition[c.name] = await conditionPerplexity(engine, c, strings);
    log?.(`perplexity ${c.name}: ${byCondition[c.name]!.perplexity.toFixed(3)}`);
  }
  return { passageSha256: PASSAGE_SHA256, reference, byCondition };
}

export async function runSweep(opts: RunSweepOptions): Promise<SweepResult> {
  const { config, store } = opts;
  const log = opts.log ?? (() => {});
  const pack = await loadPack(opts.packDir);
  const plan = planRun(config, pack);
  let record: SweepRecord = opts.sweep;

  // Create the run ourselves as kind "sweep"; runEvaluation then resumes it like any run.
  let run = store.getRun(plan.runId);
  if (!run) {
    run = store.createRun({
      id: plan.runId,
      name: plan.name,
      kind: "sweep",
      config: { ...(plan.storedConfig as Record<string, unknown>), sweep: record },
      versions: versions(),
      dataHash: pack.hash,
    });
  } else {
    record = { ...record, ...storedSweep(run.config), strengths: record.strengths };
  }

  const local = config.models.every((m) => m.provider === "llama");
  const wantPerplexity = opts.perplexity ?? local;
  if (wantPerplexity && record.perplexity?.passageSha256 !== PASSAGE_SHA256) {
    if (!local) throw new Error("perplexity needs a local GGUF model (provider llama)");
    const { LlamaEngine } = await import("../llama/engine.js");
    const { resolveModelFile } = await import("../llama/model-source.js");
    const m = config.models[0]!;
    const engine = await LlamaEngine.load(await resolveModelFile(m.model), {
      threads: m.threads,
      contextSize: m.contextSize,
    });
    try {
      record = {
        ...record,
        perplexity: await measurePerplexities(engine, plan.conditions, pack.strings, log),
      };
    } finally {
      await engine.dispose();
    }
    store.updateRunConfig(run.id, { ...(run.config as Record<string, unknown>), sweep: record });
  }

  const summary = await runEvaluation({
    config,
    store,
    packDir: opts.packDir,
    retryErrors: opts.retryErrors,
    signal: opts.signal,
    progress: opts.progress,
    log,
  });
  const judge = store.judges(summary.run.id)[0] ?? modelLabel(config.judges[0]!);
  const outcomes = store.outcomes(summary.run.id, judge);
  const strengths = new Map(Object.entries(record.strengths));
  const analyses = config.models.map((m) =>
    analyzeSweep(outcomes, strengths, { judge, model: modelLabel(m), perplexity: record.perplexity }),
  );
  return { summary, analyses };
}
