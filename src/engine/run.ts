// Runs a plan: models × conditions × items × epochs, each generation and verdict committed to the
// store as it completes. Re-running the same config resumes: only items without a stored result
// are done, so nothing is lost or done twice, also after kill -9.
import type { JudgeConfig, ModelConfig, RunConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import { loadPack } from "../data/pack.js";
import { type ProviderError, withRetry } from "../providers/index.js";
import type { ItemRecord, RunRecord, Store } from "../store/store.js";
import type { Condition } from "../types.js";
import { versions } from "../version.js";
import {
  type ConnectContext,
  type Connected,
  type ConnectedJudge,
  connectJudge,
  connectModel,
  storeJudgeCache,
} from "./connect.js";
import { judgeItem } from "./judge-item.js";
import { forEachConcurrent } from "./limiter.js";
import { itemMajor } from "./order.js";
import { planRun } from "./plan.js";
import type { ProgressReporter } from "./progress.js";

export interface RunEvaluationOptions {
  config: RunConfig;
  store: Store;
  /** The benchmark pack directory (already resolved). */
  packDir: string;
  /** Also redo items whose generation or judgement failed before. */
  retryErrors?: boolean;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  log?: (line: string) => void;
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
}

interface ItemState {
  response: { status: "ok" | "error"; text: string | null } | undefined;
  judged: Map<string, "ok" | "failed" | "error">;
}

function loadStates(store: Store, runId: string): Map<number, ItemState> {
  const states = new Map<number, ItemState>();
  const get = (id: number): ItemState => {
    let s = states.get(id);
    if (!s) {
      s = { response: undefined, judged: new Map() };
      states.set(id, s);
    }
    return s;
  };
  for (const [id, r] of store.responseStates(runId)) get(id).response = r;
  for (const j of store.judgements(runId)) get(j.itemId).judged.set(j.judge, j.status);
  return states;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export async function runEvaluation(opts: RunEvaluationOptions): Promise<RunSummary> {
  const { config, store } = opts;
  const log = opts.log ?? (() => {});
  const pack = await loadPack(opts.packDir);
  const plan = planRun(config, pack);

  let run = store.getRun(plan.runId);
  const resumed = run !== undefined;
  if (!run) {
    run = store.createRun({
      id: plan.runId,
      name: plan.name,
      kind: "live",
      config: plan.storedConfig,
      versions: versions(),
      dataHash: pack.hash,
    });
  } else {
    store.setRunStatus(run.id, "running");
  }
  log(`${resumed ? "resuming" : "starting"} run ${run.id} (${plan.name})`);

  const items = store.addItems(run.id, plan.items);
  const states = loadStates(store, run.id);
  const judgeNames = config.judges.map(modelLabel);
  const retry = opts.retryErrors ?? false;

  const needsGeneration = (s: ItemState | undefined): boolean =>
    s?.response === undefined || (retry && s.response.status === "error");
  const needsJudge = (s: ItemState | undefined, judge: string): boolean => {
    const st = s?.judged.get(judge);
    return st === undefined || (retry && st !== "ok");
  };
  const settled = (s: ItemState | undefined): boolean =>
    s?.response?.status === "error" ||
    (s?.response?.status === "ok" && judgeNames.every((j) => s.judged.has(j)));

  const todo = items.filter((it) => {
    const s = states.get(it.id);
    return needsGeneration(s) || (s?.response?.status === "ok" && judgeNames.some((j) => needsJudge(s, j)));
  });
  const todoIds = new Set(todo.map((it) => it.id));
  let done = items.filter((it) => settled(states.get(it.id)) && !todoIds.has(it.id)).length;
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
  };
  if (todo.length === 0) {
    log(`run ${run.id}: all ${items.length} items already done`);
    store.setRunStatus(run.id, "done");
    summary.run = store.getRun(run.id)!;
    return summary;
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

  const ctx: ConnectContext = {
    strings: pack.strings,
    cache: storeJudgeCache(store),
    concurrency: config.concurrency,
  };
  try {
    for (const name of new Set(todo.map((i) => i.model))) {
      const m = modelByName.get(name)!;
      connections.set(name, await (opts.connect?.model ?? connectModel)(m, ctx));
    }
    for (const j of config.judges) {
      judges.set(modelLabel(j), await (opts.connect?.judge ?? connectJudge)(j, ctx));
    }

    opts.progress?.start(items.length, done);
    const processItem = async (item: ItemRecord): Promise<void> => {
      const state = states.get(item.id) ?? { response: undefined, judged: new Map() };
      states.set(item.id, state);
      if (needsGeneration(state)) {
        const conn = connections.get(item.model)!;
        const modelCfg = modelByName.get(item.model)!;
        const decoding = { ...config.decoding, ...modelCfg.decoding };
        const condition = conditionByName.get(item.condition);
        const messages = [
          ...(item.systemPrompt === undefined
            ? []
            : [{ role: "system" as const, content: item.systemPrompt }]),
          { role: "user" as const, content: item.userPrompt },
        ];
        const request = {
          messages,
          maxTokens: decoding.maxTokens,
          temperature: decoding.temperature,
          topP: decoding.topP,
          seed: item.seed ?? undefined,
          stop: decoding.stop.length > 0 ? decoding.stop : undefined,
          extraBody: condition?.requestBody,
          steering: condition?.activation,
        };
        let attempts = 0;
        try {
          const gen = await withRetry(
            () => {
              attempts++;
              return conn.limiter.run(() => conn.provider.generate({ ...request, signal: opts.signal }));
            },
            { ...retryOpts, onRetry: (err: ProviderError) => log(`retry ${item.model}: ${err.message}`) },
          );
          store.saveResponse({
            itemId: item.id,
            status: "ok",
            response: gen.response,
            thinking: gen.thinking ?? null,
            promptTokens: gen.promptTokens ?? null,
            completionTokens: gen.completionTokens ?? null,
            latencyMs: gen.latencyMs,
            finishReason: gen.finishReason ?? null,
            requestJson: JSON.stringify({ model: modelCfg.model, ...request, signal: undefined }),
            error: null,
            attempts,
          });
          state.response = { status: "ok", text: gen.response };
          summary.generated++;
        } catch (err) {
          if (opts.signal?.aborted) return; // not recorded: redone on resume
          store.saveResponse({
            itemId: item.id,
            status: "error",
            response: null,
            thinking: null,
            promptTokens: null,
            completionTokens: null,
            latencyMs: null,
            finishReason: null,
            requestJson: null,
            error: errorText(err),
            attempts,
          });
          state.response = { status: "error", text: null };
          summary.generationErrors++;
          errors++;
          log(`generation failed for ${item.model}/${item.condition}/${item.scenarioId}: ${errorText(err)}`);
        }
      }
      if (state.response?.status === "ok") {
        for (const judgeName of judgeNames) {
          if (!needsJudge(state, judgeName)) continue;
          const outcome = await judgeItem({
            store,
            item,
            responseText: state.response.text ?? "",
            judgeName,
            judge: judges.get(judgeName)!,
            retry: retryOpts,
            signal: opts.signal,
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
      done++;
      opts.progress?.update({ done, total: items.length, errors });
    };

    // Item-major: a sweep's strengths for one item are in flight together (and batch on a local model).
    await forEachConcurrent(itemMajor(todo), config.concurrency, processItem, opts.signal);
  } finally {
    opts.progress?.stop();
    for (const c of connections.values()) await c.provider.close().catch(() => {});
    for (const j of judges.values()) await j.close().catch(() => {});
  }

  summary.interrupted = opts.signal?.aborted ?? false;
  // "done" means nothing is left to try; items that failed stay visible and --retry-errors redoes them.
  store.setRunStatus(run.id, summary.interrupted ? "interrupted" : "done");
  summary.run = store.getRun(run.id)!;
  return summary;
}
