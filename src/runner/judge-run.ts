// A judge-only pass over an existing run: every item with a stored response gets a verdict from
// each given judge. This is how a judge is added to a run, or checked against the labels already
// there (judge-check), without generating anything again. Resumable like a live run.
import type { JudgeConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import { readStoredConfig, withStored } from "../config/stored-config.js";
import type { ItemRecord, Store } from "../store/store.js";
import type { ProtocolStrings } from "../types.js";
import { forEachConcurrent } from "../util/limiter.js";
import { type ConnectContext, type ConnectedJudge, connectJudge, storeJudgeCache } from "./connect.js";
import { judgeItem, type RetrySettings } from "./judge-item.js";
import type { ProgressReporter } from "./progress.js";
import { loadItemStates, needsJudge } from "./work-left.js";

export interface JudgeRunOptions {
  store: Store;
  runId: string;
  judges: JudgeConfig[];
  /** The pack's protocol strings (judge prompt templates). */
  strings: ProtocolStrings;
  concurrency?: number;
  retry?: RetrySettings;
  retryErrors?: boolean;
  /** Only the first N items of the run (in run order). */
  limit?: number;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  log?: (line: string) => void;
  connect?: (j: JudgeConfig, ctx: ConnectContext) => Promise<ConnectedJudge>;
}

export interface JudgeRunSummary {
  items: number;
  judged: number;
  failures: number;
  errors: number;
  skipped: number;
  interrupted: boolean;
}

export async function judgeRun(opts: JudgeRunOptions): Promise<JudgeRunSummary> {
  const { store, runId } = opts;
  const log = opts.log ?? (() => {});
  const run = store.getRun(runId);
  if (!run) throw new Error(`no run ${runId}`);
  const retry = opts.retry ?? { retries: 5, baseDelayMs: 500, maxDelayMs: 60_000 };
  const names = opts.judges.map(modelLabel);

  let items = store.items(runId);
  if (opts.limit !== undefined) items = items.slice(0, opts.limit);
  const states = loadItemStates(store, runId);
  const responses = new Map<number, string>();
  for (const [id, st] of states) if (st.response?.status === "ok") responses.set(id, st.response.text ?? "");
  const needs = (item: ItemRecord, judge: string): boolean =>
    needsJudge(states.get(item.id), judge, opts.retryErrors === true);

  const withResponse = items.filter((i) => responses.has(i.id));
  const todo = withResponse.filter((i) => names.some((n) => needs(i, n)));
  const summary: JudgeRunSummary = {
    items: withResponse.length,
    judged: 0,
    failures: 0,
    errors: 0,
    skipped: items.length - withResponse.length,
    interrupted: false,
  };
  if (todo.length === 0) return summary;

  // Record which judges were applied, so reports can show their settings.
  const added = readStoredConfig(run).config.addedJudges ?? [];
  const known = new Set(added.map((j) => j.name));
  const fresh = opts.judges.filter((j) => !known.has(modelLabel(j)));
  if (fresh.length > 0) {
    store.updateRunConfig(
      runId,
      withStored(run, {
        addedJudges: [...added, ...fresh.map((j) => ({ ...j, name: modelLabel(j), headers: undefined }))],
      }),
    );
  }

  const judges = new Map<string, ConnectedJudge>();
  let done = withResponse.length - todo.length;
  try {
    const ctx: ConnectContext = {
      strings: opts.strings,
      cache: storeJudgeCache(store),
      concurrency: opts.concurrency ?? 16,
    };
    for (const j of opts.judges) judges.set(modelLabel(j), await (opts.connect ?? connectJudge)(j, ctx));
    opts.progress?.start(withResponse.length, done);
    await forEachConcurrent(
      todo,
      opts.concurrency ?? 16,
      async (item) => {
        for (const name of names) {
          if (!needs(item, name)) continue;
          const outcome = await judgeItem({
            store,
            item,
            responseText: responses.get(item.id)!,
            judgeName: name,
            judge: judges.get(name)!,
            retry,
            signal: opts.signal,
            log,
          });
          if (outcome === "aborted") return;
          if (outcome === "error") summary.errors++;
          else summary.judged++;
          if (outcome === "failed") summary.failures++;
        }
        done++;
        opts.progress?.update({ done, total: withResponse.length, errors: summary.errors });
      },
      opts.signal,
    );
  } finally {
    opts.progress?.stop();
    for (const j of judges.values()) await j.close().catch(() => {});
  }
  summary.interrupted = opts.signal?.aborted ?? false;
  return summary;
}
