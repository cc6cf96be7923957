// Running a strength sweep: the sweep's config goes through the ordinary run engine (so it is stored,
// resumable and judged like any run), stored as kind "sweep" with its `sweep` record (vector, strengths,
// perplexities). Perplexities are measured first, on a separate engine that is freed before the run starts:
// that also checks the vector against the model before any generation is spent.
import type { RunConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import { readStoredConfig, sweepOf, withStored } from "../config/stored-config.js";
import { controlVectorSpec, loadControlVector, resolveVectorPath } from "../llama/apply-steering.js";
import type { LlamaEngine } from "../llama/engine.js";
import type { Outcome } from "../metrics/table1.js";
import type { ProgressReporter } from "../runner/progress.js";
import { prepareRun, type RunSummary, runEvaluation } from "../runner/run.js";
import type { Store } from "../store/store.js";
import type { Condition, ProtocolStrings } from "../types.js";
import { sha256 } from "../util/hash.js";
import { controlSpread, type SignCheck, signCheck, signCheckLayer, specificity } from "./controls.js";
import { fileSha256 } from "./file-hash.js";
import type { ContrastPair } from "./pairs.js";
import {
  conditionPerplexity,
  NEUTRAL_PASSAGE,
  type PerplexityEngine,
  type PerplexityResult,
  passagePerplexity,
} from "./perplexity.js";
import { measureSideEffects, NEUTRAL_PROMPTS, readOutputHead, SideEffectError } from "./side-effects.js";
import { analyzeSweep, type SweepAnalysis } from "./sweep-analysis.js";
import { controlsOf, type SweepRecord } from "./sweep-config.js";

export interface RunSweepOptions {
  config: RunConfig;
  store: Store;
  packDir: string;
  /** The sweep record (from `sweepRecord(spec)`); perplexities are added here. */
  sweep: SweepRecord;
  /** Measure the neutral passage's perplexity per condition (default: when the model is a local GGUF). */
  perplexity?: boolean;
  /** Measure next-token KL and changed answers on neutral prompts (default: when the model is a local GGUF). */
  sideEffects?: boolean;
  /** Held-out pairs for the sign check (local models only; none: no sign check). */
  signCheckPairs?: readonly ContrastPair[];
  /** Where those pairs came from, for the report. */
  signCheckSource?: string;
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
export const PROMPTS_SHA256 = sha256(JSON.stringify(NEUTRAL_PROMPTS));

export { fileSha256 };

/** The sweep record stored with a run (a sweep run's; none for other kinds). */
export function storedSweep(run: { id: string; kind: string; config: unknown }): SweepRecord | undefined {
  return sweepOf(readStoredConfig(run));
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
  // Made once: the run id and conditions here, and the run itself in runEvaluation.
  const prepared = await prepareRun(config, opts.packDir);
  const { pack, plan } = prepared;
  let record: SweepRecord = opts.sweep;

  const run = store.getRun(plan.runId);
  // A first start creates the run inside runEvaluation (kind sweep, the record stored with it), so it
  // says "starting", not "resuming"; a resume keeps what the stored record already measured.
  if (run) record = { ...record, ...storedSweep(run), strengths: record.strengths };

  const local = config.models.every((m) => m.provider === "llama");
  const wantPerplexity = opts.perplexity ?? local;
  const wantSideEffects = (opts.sideEffects ?? local) && record.sideEffects?.promptsSha256 !== PROMPTS_SHA256;
  const wantSign = (opts.signCheckPairs?.length ?? 0) > 0 && record.signCheck === undefined;
  const needPerplexity = wantPerplexity && record.perplexity?.passageSha256 !== PASSAGE_SHA256;
  if ((needPerplexity || wantSideEffects || wantSign) && !local) {
    throw new Error("perplexity, side effects and the sign check need a local GGUF model (provider llama)");
  }
  if (needPerplexity || wantSideEffects || wantSign) {
    const { LlamaEngine } = await import("../llama/engine.js");
    const { resolveModelFile } = await import("../llama/model-source.js");
    const m = config.models[0]!;
    const modelPath = await resolveModelFile(m.model);
    const engine = await LlamaEngine.load(modelPath, {
      threads: m.threads,
      contextSize: m.contextSize,
      gpu: m.gpu,
      gpuLayers: m.gpuLayers,
    });
    try {
      if (needPerplexity) {
        record = {
          ...record,
          perplexity: await measurePerplexities(engine, plan.conditions, pack.strings, log),
        };
      }
      if (wantSideEffects) {
        try {
          const head = readOutputHead(modelPath);
          const steered = plan.conditions.filter((c) => c.activation !== undefined || c.prompt !== undefined);
          record = {
            ...record,
            sideEffects: {
              promptsSha256: PROMPTS_SHA256,
              byCondition: await measureSideEffects(engine, head, steered, pack.strings, {}, log),
            },
          };
          delete record.sideEffectsSkipped;
        } catch (err) {
          if (!(err instanceof SideEffectError)) throw err;
          record = { ...record, sideEffectsSkipped: err.message };
          log(`side effects skipped: ${err.message}`);
        }
      }
      if (wantSign) {
        const sc = await runSignCheck(engine, record, opts.signCheckPairs!);
        if (opts.signCheckSource) sc.source = opts.signCheckSource;
        record = { ...record, signCheck: sc };
      }
    } finally {
      await engine.dispose();
    }
    if (run) store.updateRunConfig(run.id, withStored(run, { sweep: record }));
  }

  const summary = await runEvaluation({
    config,
    store,
    kind: "sweep",
    extraConfig: { sweep: record },
    packDir: opts.packDir,
    prepared,
    retryErrors: opts.retryErrors,
    signal: opts.signal,
    progress: opts.progress,
    log,
  });
  const judge = store.judges(summary.run.id)[0] ?? modelLabel(config.judges[0]!);
  const outcomes = store.outcomes(summary.run.id, judge);
  const analyses = config.models.map((m) => analyzeWithControls(outcomes, record, judge, modelLabel(m)));
  return { summary, analyses };
}

/** The sweep's analysis with its control curve, specificity and sign check. */
export function analyzeWithControls(
  outcomes: readonly Outcome[],
  record: SweepRecord,
  judge: string,
  model: string,
): SweepAnalysis {
  const strengths = new Map(Object.entries(record.strengths));
  const common = {
    judge,
    model,
    perplexity: record.perplexity,
    sideEffects: record.sideEffects?.byCondition,
  };
  const analysis = analyzeSweep(outcomes, strengths, common);
  if (record.layersReason) analysis.layersReason = record.layersReason;
  if (record.signCheck) analysis.signCheck = record.signCheck;
  if (record.sideEffectsSkipped) analysis.sideEffectsSkipped = record.sideEffectsSkipped;
  const zero = [...strengths.entries()].find(([, v]) => v === 0)?.[0];
  if (!record.control || zero === undefined) return analysis;
  const ctl = new Map<string, number>([[zero, 0], ...Object.entries(record.control.strengths)]);
  analysis.control = analyzeSweep(outcomes, ctl, common);
  const nameAt = (map: Map<string, number>, s: number) => [...map.entries()].find(([, v]) => v === s)?.[0];
  const high = analysis.usable.positive ?? 0;
  const low = analysis.usable.negative ?? 0;
  const names = {
    vectorHigh: nameAt(strengths, high),
    vectorLow: nameAt(strengths, low),
    controlHigh: nameAt(ctl, high),
    controlLow: nameAt(ctl, low),
  };
  const mine = outcomes.filter((o) => o.model === model);
  if (high !== low && Object.values(names).every((n) => n !== undefined)) {
    analysis.specificity = specificity(mine, names as Record<keyof typeof names, string>, { high, low });
  }
  const all = controlsOf(record);
  if (high !== low && all.length > 1 && names.vectorHigh !== undefined && names.vectorLow !== undefined) {
    const seeds = all.map((c) => {
      const map = new Map<string, number>([[zero, 0], ...Object.entries(c.strengths)]);
      return { seed: c.seed, high: nameAt(map, high), low: nameAt(map, low) };
    });
    if (seeds.every((c) => c.high !== undefined && c.low !== undefined)) {
      analysis.controlSpread = controlSpread(
        mine,
        {
          zero,
          vectorHigh: names.vectorHigh,
          vectorLow: names.vectorLow,
          controls: seeds as { seed: number; high: string; low: string }[],
        },
        { high, low },
      );
    }
  }
  return analysis;
}

/** The sign check at the sweep's smallest positive and negative strengths. */
async function runSignCheck(
  engine: LlamaEngine,
  record: SweepRecord,
  pairs: readonly ContrastPair[],
): Promise<SignCheck> {
  const values = Object.values(record.strengths);
  const pos = values.filter((v) => v > 0).sort((a, b) => a - b)[0];
  const neg = values.filter((v) => v < 0).sort((a, b) => b - a)[0];
  const strengths = [pos, neg].filter((v): v is number => v !== undefined);
  const vector = record.vector;
  if (vector === undefined) throw new Error("the sign check needs the sweep record's vector");
  const vec = loadControlVector(resolveVectorPath(vector));
  const layers = [...vec.directions.keys()].sort((a, b) => a - b);
  const range: [number, number] = record.layers ?? [layers[0]!, layers[layers.length - 1]!];
  const layer = signCheckLayer(range, engine.info.nLayer);
  return signCheck(
    engine,
    pairs,
    strengths,
    (strength) =>
      controlVectorSpec(
        {
          vector,
          strength,
          ...(record.layers ? { layers: record.layers } : {}),
          ...(record.normPreserving ? { normPreserving: true } : {}),
          ...(record.mode ? { mode: record.mode } : {}),
        },
        engine.info,
      ),
    layer,
  );
}
