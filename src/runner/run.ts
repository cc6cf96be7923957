// Runs a plan: models × conditions × items × epochs, each generation and verdict committed to the
// store as it completes. Re-running the same config resumes: only items without a stored result
// are done, so nothing is lost or done twice, also after kill -9.
import { setMaxListeners } from "node:events";
import type { JudgeConfig, ModelConfig, RunConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import {
  readStoredConfig,
  type StoredConfig,
  type StoredConfigPatch,
  storedConfig,
} from "../config/stored-config.js";
import { loadPack } from "../data/pack.js";
import { isProviderError } from "../providers/index.js";
import type { ItemRecord, ResponseFlags, RunLease, RunRecord, Store } from "../store/store.js";
import { LEASE_RENEW_MS } from "../store/store.js";
import { WriteBehind } from "../store/write-behind.js";
import type { Condition } from "../types.js";
import { forEachConcurrent } from "../util/limiter.js";
import { versions } from "../version.js";
import { type ResolvedLayers, resolveAutoLayers } from "./auto-layers.js";
import {
  type ConnectContext,
  type Connected,
  type ConnectedJudge,
  connectJudge,
  connectModel,
  storeJudgeCache,
} from "./connect.js";
import { generateItem } from "./generate-item.js";
import { judgeItem } from "./judge-item.js";
import { itemMajor } from "./order.js";
import { planRun, type RunPlan } from "./plan.js";
import type { ProgressReporter } from "./progress.js";
import {
  type ItemState,
  loadItemStates,
  needsGeneration as needsGen,
  needsJudge as needsJudgeOf,
  workLeft,
} from "./work-left.js";

export interface RunEvaluationOptions {
  config: RunConfig;
  store: Store;
  /** The benchmark pack directory (already resolved). */
  packDir: string;
  /** `prepareRun(config, packDir)`, when the caller has already made it (a sweep does, for its run id). */
  prepared?: PreparedRun;
  /** The run's kind when it is created (default live; sweeps pass sweep). */
  kind?: "live" | "sweep";
  /** Extra fields stored with the run's config when it is created (e.g. a sweep's record). */
  extraConfig?: StoredConfigPatch;
  /** Also redo items whose generation or judgement failed before. */
  retryErrors?: boolean;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  log?: (line: string) => void;
  /** Warnings (e.g. about the data) go here even when `log` is off; default `log`. */
  warn?: (line: string) => void;
  /**
   * Stop the run after this many items in a row whose generation failed to connect (after retries):
   * an endpoint that went away should not burn through every remaining item. Default 5.
   */
  stopAfterConnectionFailures?: number;
  /** Override how providers are made (fault-injection tests, in-process engines). */
  connect?: {
    model?: (m: ModelConfig, ctx: ConnectContext) => Promise<Connected>;
    judge?: (j: JudgeConfig, ctx: ConnectContext) => Promise<ConnectedJudge>;
  };
}

export interface RunSummary {
  run: RunRecord;
  resumed: boolean;
  items: number;
  generated: number;
  judged: number;
  generationErrors: number;
  judgeErrors: number;
  judgeFailures: number;
  interrupted: boolean;
  /** Set when the run stopped on its own (endpoint gone, lease lost): the reason. */
  stoppedBecause?: string;
  /** Over the whole run (not just this session): answers flagged on their way into the store. */
  flags: Record<keyof ResponseFlags, number>;
  /** Over the whole run: items whose generation is in error, and verdicts failed or in error. */
  outstanding: { generationErrors: number; judgeFailures: number; judgeErrors: number };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** What changed on resume among the fields that are not part of the run's identity. */
export function operationalChanges(stored: StoredConfig, plan: RunPlan): string[] {
  if (stored.kind !== "live" && stored.kind !== "sweep") return [];
  const before = stored.config;
  const now = plan.storedConfig;
  const changes: string[] = [];
  if (before.name !== undefined && before.name !== now.name)
    changes.push(`name "${String(now.name)}" given, run keeps "${String(before.name)}"`);
  const endpoints = (list: { baseUrl?: string | undefined; baseUrls?: string[] | undefined }[] | undefined) =>
    JSON.stringify((list ?? []).map((e) => [e.baseUrl ?? null, e.baseUrls ?? null]));
  if (endpoints(before.models) !== endpoints(now.models)) changes.push("model endpoint changed");
  if (endpoints(before.judges) !== endpoints(now.judges)) changes.push("judge endpoint changed");
  if (before.concurrency !== undefined && before.concurrency !== now.concurrency)
    changes.push("concurrency changed");
  return changes;
}

/** What a run is before anything is stored: `layers: auto` resolved, the pack loaded, the items planned. */
export interface PreparedRun extends ResolvedLayers {
  pack: Awaited<ReturnType<typeof loadPack>>;
  plan: RunPlan;
}

export async function prepareRun(config: RunConfig, packDir: string): Promise<PreparedRun> {
  // `layers: auto` becomes a range before planning: the range is part of the run's identity.
  const resolved = resolveAutoLayers(config);
  const pack = await loadPack(packDir);
  return { ...resolved, pack, plan: planRun(resolved.config, pack) };
}

export async function runEvaluation(given: RunEvaluationOptions): Promise<RunSummary> {
  const {
    config: resolved,
    choices,
    pack,
    plan,
  } = given.prepared ?? (await prepareRun(given.config, given.packDir));
  const opts = { ...given, config: resolved };
  const { config, store } = opts;
  const log = opts.log ?? (() => {});
  for (const [name, c] of Object.entries(choices)) log(`layers auto for ${name}: ${c.reason}`);
  for (const w of pack.warnings) (opts.warn ?? log)(`warning: ${w}`);

  let run = store.getRun(plan.runId);
  const resumed = run !== undefined;
  const kind = opts.kind ?? "live";
  if (!run) {
    run = store.createRun({
      id: plan.runId,
      name: plan.name,
      kind,
      config: storedConfig(kind, {
        ...plan.storedConfig,
        // Which categories the data had: a pack missing one is visible in the run, not just in a log.
        pack: {
          categories: pack.categories.map((c) => ({ slug: c.slug, scenarios: c.scenarios.length })),
          warnings: pack.warnings,
        },
        ...(Object.keys(choices).length > 0 ? { layerSelection: choices } : {}),
        ...opts.extraConfig,
      }),
      versions: versions(),
      dataHash: pack.hash,
      primaryJudge: modelLabel(config.judges[0]!),
    });
  }
  // One writer per run: a second process on the same run refuses here, before touching anything.
  const lease = store.acquireLease(run.id);
  const pageCache = store.setPageCacheKiB(2048);
  // Released whatever fails from here on (a stored config the reader refuses included), so that a retry in
  // this process is not told the run is busy.
  try {
    if (resumed) {
      const changes = operationalChanges(readStoredConfig(run), plan);
      log(
        `resuming run ${run.id} (${run.name}): same models, conditions, decoding and data${
          changes.length > 0 ? `; ${changes.join("; ")}` : ""
        }`,
      );
    } else {
      log(`starting run ${run.id} (${plan.name})`);
    }
    store.setRunStatus(run.id, "running");
    return await execute(opts, plan, run, resumed, lease, pack.strings);
  } finally {
    lease.release();
    store.restorePageCache(pageCache);
  }
}

async function execute(
  opts: RunEvaluationOptions,
  plan: RunPlan,
  run: RunRecord,
  resumed: boolean,
  lease: RunLease,
  strings: ConnectContext["strings"],
): Promise<RunSummary> {
  const { config, store } = opts;
  const log = opts.log ?? (() => {});
  const items = store.planItems(run.id, plan.items);
  // The stored records replace the planned items: holding both kept two objects per item all run.
  plan.items = [];
  const states = loadItemStates(store, run.id);
  const judgeNames = config.judges.map(modelLabel);
  const retry = opts.retryErrors ?? false;

  const needsGeneration = (s: ItemState | undefined): boolean => needsGen(s, retry);
  const needsJudge = (s: ItemState | undefined, judge: string): boolean => needsJudgeOf(s, judge, retry);
  const settled = (s: ItemState | undefined): boolean =>
    s?.response?.status === "error" ||
    (s?.response?.status === "ok" && judgeNames.every((j) => s.judged.has(j)));

  const todo: ItemRecord[] = [];
  let done = 0;
  for (const it of items) {
    const s = states.get(it.id);
    const left = workLeft(s, judgeNames, retry);
    if (left.generate || left.judges.length > 0) todo.push(it);
    else {
      if (settled(s)) done++;
      // Only the items to do read their state again (a resumed run's answers need not stay in memory).
      states.delete(it.id);
    }
  }
  let errors = 0;
  const summary: RunSummary = {
    run,
    resumed,
    items: items.length,
    generated: 0,
    judged: 0,
    generationErrors: 0,
    judgeErrors: 0,
    judgeFailures: 0,
    interrupted: false,
    flags: { maxTokensCapped: 0, promptTruncated: 0, responseTruncated: 0, empty: 0 },
    outstanding: { generationErrors: 0, judgeFailures: 0, judgeErrors: 0 },
  };
  const finish = (status: "done" | "interrupted" | "failed", error?: string): RunSummary => {
    store.setRunStatus(run.id, status, error);
    summary.run = store.getRun(run.id)!;
    summary.flags = store.responseFlagCounts(run.id);
    const p = store.progress(run.id);
    summary.outstanding.generationErrors = p.responseErrors;
    for (const name of judgeNames) {
      summary.outstanding.judgeFailures += p.judged[name]?.failed ?? 0;
      summary.outstanding.judgeErrors += p.judged[name]?.error ?? 0;
    }
    return summary;
  };
  if (todo.length === 0) {
    log(`run ${run.id}: all ${items.length} items already done`);
    return finish("done");
  }
  log(`run ${run.id}: ${todo.length} of ${items.length} items to do`);

  // Providers are made only for what is left to do, so a finished run never connects anywhere.
  const modelByName = new Map(config.models.map((m) => [modelLabel(m), m]));
  const connections = new Map<string, Connected>();
  const judges = new Map<string, ConnectedJudge>();
  const conditionByName = new Map<string, Condition>(plan.conditions.map((c) => [c.name, c]));
  const retryOpts = {
    retries: config.retry.retries,
    baseDelayMs: config.retry.baseDelayMs,
    maxDelayMs: config.retry.maxDelayMs,
    signal: opts.signal,
  };

  // Results completing in one event-loop turn share one commit; each item waits for its own.
  const writer = new WriteBehind(store);
  const ctx: ConnectContext = {
    strings,
    cache: { ...storeJudgeCache(store), set: (key, reply) => writer.setCachedReply(key, reply) },
    concurrency: config.concurrency,
  };
  // The run's own stop: an endpoint that keeps refusing connections, or a lost write lease.
  const stopper = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal;
  // One listener per request in flight (providers, retries): far above Node's warning threshold of 10,
  // whose MaxListenersExceededWarning would otherwise break the progress bar on every HTTP run.
  setMaxListeners(0, signal);
  setMaxListeners(0, stopper.signal);
  const stop = (why: string) => {
    if (summary.stoppedBecause === undefined) summary.stoppedBecause = why;
    stopper.abort(new Error(why));
  };
  const heartbeat = setInterval(() => {
    try {
      lease.renew();
    } catch (err) {
      stop(errorText(err));
    }
  }, LEASE_RENEW_MS);
  heartbeat.unref();
  const stopAfter = opts.stopAfterConnectionFailures ?? 5;
  let connectionFailuresInARow = 0;
  retryOpts.signal = signal;
  try {
    // Connecting and preflight: a run that cannot start is marked failed with the reason, not left running.
    try {
      for (const name of new Set(todo.map((i) => i.model))) {
        const m = modelByName.get(name)!;
        const conn = await (opts.connect?.model ?? connectModel)(m, ctx);
        connections.set(name, conn);
        await conn.provider.preflight?.(signal);
      }
      for (const j of config.judges) {
        const judge = await (opts.connect?.judge ?? connectJudge)(j, ctx);
        judges.set(modelLabel(j), judge);
        await judge.preflight?.(signal);
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const why = `could not start: ${errorText(err)}`;
      store.setRunStatus(run.id, "failed", why);
      throw err;
    }

    opts.progress?.start(items.length, done);
    const processItem = async (item: ItemRecord): Promise<void> => {
      const state = states.get(item.id) ?? { response: undefined, judged: new Map() };
      states.set(item.id, state);
      if (needsGeneration(state)) {
        const modelCfg = modelByName.get(item.model)!;
        const outcome = await generateItem({
          store: writer,
          item,
          model: modelCfg.model,
          connection: connections.get(item.model)!,
          condition: conditionByName.get(item.condition),
          decoding: { ...config.decoding, ...modelCfg.decoding },
          maxResponseChars: config.maxResponseChars,
          retry: retryOpts,
          signal,
          log,
        });
        if (outcome.kind === "aborted") return; // not recorded: redone on resume
        if (outcome.kind === "ok") {
          state.response = { status: "ok", text: outcome.text };
          summary.generated++;
          connectionFailuresInARow = 0;
        } else {
          state.response = { status: "error", text: null };
          summary.generationErrors++;
          errors++;
          const err = outcome.error;
          if (isProviderError(err) && err.kind === "connection") {
            connectionFailuresInARow++;
            if (connectionFailuresInARow >= stopAfter) {
              stop(
                `stopped after ${connectionFailuresInARow} items in a row failed to connect (last: ${errorText(err)})`,
              );
            }
          } else {
            connectionFailuresInARow = 0;
          }
        }
      }
      if (state.response?.status === "ok") {
        for (const judgeName of judgeNames) {
          if (!needsJudge(state, judgeName)) continue;
          const outcome = await judgeItem({
            store: writer,
            item,
            responseText: state.response.text ?? "",
            judgeName,
            judge: judges.get(judgeName)!,
            retry: retryOpts,
            signal,
            log,
          });
          if (outcome === "aborted") return;
          state.judged.set(judgeName, outcome);
          if (outcome === "error") {
            summary.judgeErrors++;
            errors++;
          } else {
            summary.judged++;
            if (outcome === "failed") summary.judgeFailures++;
          }
        }
      }
      // Nothing reads a finished item's state again: keeping it (answer text, verdict map) grew the
      // heap by ~400 B per item, and V8's committed heap by a multiple of that.
      states.delete(item.id);
      done++;
      opts.progress?.update({ done, total: items.length, errors });
    };

    // Item-major: a sweep's strengths for one item are in flight together (and batch on a local model).
    await forEachConcurrent(itemMajor(todo), config.concurrency, processItem, signal);
  } finally {
    writer.flush();
    clearInterval(heartbeat);
    opts.progress?.stop();
    for (const c of connections.values()) await c.provider.close().catch(() => {});
    for (const j of judges.values()) await j.close().catch(() => {});
  }

  summary.interrupted = opts.signal?.aborted ?? false;
  if (summary.stoppedBecause !== undefined && !summary.interrupted) {
    log(`run ${run.id}: ${summary.stoppedBecause}`);
    return finish("failed", summary.stoppedBecause);
  }
  // "done" means nothing is left to try; items that failed stay visible and --retry-errors redoes them.
  return finish(summary.interrupted ? "interrupted" : "done");
}
