// One measurement, run in its own process (child_process.fork) so its CPU time and peak RSS are its
// own: the job comes in BENCH_JOB (JSON), the result goes back over IPC.
//
//   steerbench: the real runEvaluation with a store on disk, RSS sampled as the run passes milestones.
//   undici:     the reference — a bare undici Pool loop doing the same two calls per item (the same
//               request bodies, JSON parsing of replies), nothing else.
//   store:      SQLite write/read throughput: one commit per result vs one
//               transaction for all.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Pool } from "undici";
import { parseRunConfig } from "../src/config/run-config.js";
import { loadPack } from "../src/data/pack.js";
import { bindJudgePrompt } from "../src/protocol/judge-prompts.js";
import { planRun } from "../src/runner/plan.js";
import { runEvaluation } from "../src/runner/run.js";
import { Store } from "../src/store/store.js";
import { ITEMS_PER_EPOCH, JUDGE_MODEL, SUBJECT_MODEL } from "./common.js";
import { type MemDetail, maybeHeapSnapshot, memDetail } from "./mem-detail.js";

export interface StudyShape {
  packDir: string;
  baseUrl: string;
  concurrency: number;
  epochs: number;
}

export type Job =
  | ({ kind: "steerbench"; storePath: string; rssAt: number[] } & StudyShape)
  | ({ kind: "undici" } & StudyShape)
  | { kind: "store"; rows: number; packDir: string };

export interface RunResult {
  kind: "steerbench" | "undici";
  items: number;
  ok: number;
  errors: number;
  wallMs: number;
  /** CPU time of this process during the run (user + system). */
  cpuMicros: number;
  /** RSS as the run passes milestones; with --expose-gc also the live heap after a full GC. */
  /**
   * RSS as the run passes milestones; with --expose-gc also, after a full GC, the live heap, the heap V8
   * keeps committed, and native memory JS objects hold (external, of it ArrayBuffers): where RSS goes.
   */
  rssSamples: Array<{
    done: number;
    rssMB: number;
    heapAfterGcMB?: number;
    heapTotalMB?: number;
    externalMB?: number;
    arrayBuffersMB?: number;
    detail?: MemDetail;
  }>;
  maxRssMB: number;
  /** Peak RSS before the first item (start-up: pack, plan, store), and during the run, polled every 20 ms. */
  startupPeakRssMB?: number;
  /** Wall time from calling runEvaluation to its first item (pack, plan, store, connect, preflight). */
  startupMs?: number;
  runPeak?: { rssMB: number; done: number };
  /** CPU time of the whole process, start-up included. */
  processCpuMicros: number;
  resumed?: boolean;
}

export interface StoreResult {
  kind: "store";
  rows: number;
  perCommitWriteRowsPerS: number;
  /** Still one commit per result, but with statements prepared once (Store prepares on every call). */
  perCommitPreparedOnceRowsPerS: number;
  batchedWriteRowsPerS: number;
  readOutcomesRowsPerS: number;
  readJudgementsRowsPerS: number;
}

export type JobResult = RunResult | StoreResult;

export function studyConfig(s: StudyShape) {
  return parseRunConfig({
    selection: "paper",
    conditions: ["baseline", "pro_ic", "anti_ic"],
    epochs: s.epochs,
    models: [{ name: "subject", model: SUBJECT_MODEL, baseUrl: s.baseUrl, timeoutMs: 60_000 }],
    judges: [{ name: "judge", model: JUDGE_MODEL, baseUrl: s.baseUrl, timeoutMs: 60_000 }],
    concurrency: s.concurrency,
    retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 500 },
  });
}

const cpuNow = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
const rssMB = () => process.memoryUsage().rss / 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;
/** RSS now, and the heap that is really live (after a full GC) when the process allows forcing one. */
const sample = (done: number) => {
  const rss = rssMB();
  if (!gc) return { done, rssMB: rss };
  gc();
  maybeHeapSnapshot(done);
  const m = process.memoryUsage();
  return {
    done,
    rssMB: rss,
    heapAfterGcMB: m.heapUsed / 2 ** 20,
    heapTotalMB: m.heapTotal / 2 ** 20,
    externalMB: m.external / 2 ** 20,
    arrayBuffersMB: m.arrayBuffers / 2 ** 20,
    ...(process.env.BENCH_MEM_DETAIL === "1" ? { detail: memDetail() } : {}),
  };
};
const processCpu = () => {
  const u = process.resourceUsage();
  return u.userCPUTime + u.systemCPUTime;
};
const maxRssMB = () => process.resourceUsage().maxRSS / 1024;

async function steerbench(job: Extract<Job, { kind: "steerbench" }>): Promise<RunResult> {
  const store = Store.open(job.storePath);
  const samples: RunResult["rssSamples"] = [];
  const thresholds = [...job.rssAt].sort((a, b) => a - b);
  const cpu0 = cpuNow();
  const t0 = performance.now();
  let startupPeakRssMB: number | undefined;
  let startupMs: number | undefined;
  const runPeak = { rssMB: 0, done: 0 };
  let current = 0;
  const poll = setInterval(() => {
    const rss = process.memoryUsage.rss() / 2 ** 20;
    if (startupPeakRssMB !== undefined && rss > runPeak.rssMB) {
      runPeak.rssMB = rss;
      runPeak.done = current;
    }
  }, 20);
  try {
    const summary = await runEvaluation({
      config: studyConfig(job),
      store,
      packDir: job.packDir,
      progress: {
        start(_total, done) {
          startupMs = performance.now() - t0;
          startupPeakRssMB = maxRssMB();
          samples.push(sample(done));
        },
        update({ done }) {
          current = done;
          if (thresholds.length > 0 && done >= thresholds[0]!) {
            thresholds.shift();
            samples.push(sample(done));
          }
        },
        stop() {},
      },
    });
    const wallMs = performance.now() - t0;
    return {
      kind: "steerbench",
      items: summary.items,
      ok: summary.judged,
      errors: summary.generationErrors + summary.judgeErrors,
      wallMs,
      cpuMicros: cpuNow() - cpu0,
      rssSamples: samples,
      maxRssMB: maxRssMB(),
      startupPeakRssMB,
      startupMs,
      runPeak,
      processCpuMicros: processCpu(),
      resumed: summary.resumed,
    };
  } finally {
    clearInterval(poll);
    store.close();
  }
}

async function undiciLoop(job: Extract<Job, { kind: "undici" }>): Promise<RunResult> {
  const pack = await loadPack(job.packDir);
  const config = studyConfig(job);
  const plan = planRun(config, pack);
  const judgePrompt = bindJudgePrompt("paper", pack.strings);
  const url = new URL(job.baseUrl);
  const path = `${url.pathname.replace(/\/$/, "")}/chat/completions`;
  const pool = new Pool(url.origin, { connections: job.concurrency, pipelining: 1 });
  const headers = { "content-type": "application/json" };
  const post = async (body: unknown): Promise<string> => {
    const res = await pool.request({ path, method: "POST", headers, body: JSON.stringify(body) });
    const json = JSON.parse(await res.body.text()) as { choices: Array<{ message: { content: string } }> };
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    return json.choices[0]!.message.content;
  };
  let next = 0;
  let ok = 0;
  let errors = 0;
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const worker = async () => {
    while (next < plan.items.length) {
      const item = plan.items[next++]!;
      try {
        const messages = [
          ...(item.systemPrompt === undefined ? [] : [{ role: "system", content: item.systemPrompt }]),
          { role: "user", content: item.userPrompt },
        ];
        const response = await post({
          model: SUBJECT_MODEL,
          messages,
          max_tokens: 1024,
          temperature: 0,
          seed: item.seed,
          stream: false,
        });
        const judgeMessages = judgePrompt.buildMessages({
          context: item.context,
          prompt: item.userPrompt,
          response,
        });
        await post({
          model: JUDGE_MODEL,
          messages: judgeMessages,
          max_tokens: 200,
          temperature: 0,
          stream: false,
        });
        ok++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const wallMs = performance.now() - t0;
  const cpuMicros = cpuNow() - cpu0;
  await pool.close();
  return {
    kind: "undici",
    items: plan.items.length,
    ok,
    errors,
    wallMs,
    cpuMicros,
    rssSamples: [],
    maxRssMB: maxRssMB(),
    processCpuMicros: processCpu(),
  };
}

async function storeThroughput(job: Extract<Job, { kind: "store" }>): Promise<StoreResult> {
  const dir = mkdtempSync(join(tmpdir(), "sb-bench-store-"));
  try {
    const pack = await loadPack(job.packDir);
    const epochs = Math.ceil(job.rows / ITEMS_PER_EPOCH);
    const plan = planRun(
      studyConfig({ packDir: job.packDir, baseUrl: "http://127.0.0.1:9/v1", concurrency: 1, epochs }),
      pack,
    );
    const newItems = plan.items.slice(0, job.rows);
    const store = Store.open(join(dir, "s.sqlite"));
    const response = "NEUTRAL: here is a normal plan. ".repeat(8);
    const raw = JSON.stringify({ decision: "no_convergence", reason: "scripted" });
    const request = JSON.stringify({
      model: SUBJECT_MODEL,
      messages: [{ role: "user", content: newItems[0]!.userPrompt }],
    });
    const write = (itemId: number) => {
      store.saveResponse({
        itemId,
        status: "ok",
        response,
        thinking: null,
        promptTokens: 200,
        completionTokens: 12,
        latencyMs: 20,
        finishReason: "stop",
        requestJson: request,
        error: null,
        attempts: 1,
      });
      store.saveJudgement({
        itemId,
        judge: "judge",
        status: "ok",
        label: "no_convergence",
        reason: "scripted",
        raw,
        scores: null,
        error: null,
        latencyMs: 20,
      });
    };
    const timeRun = (id: string, batched: boolean): number => {
      store.createRun({ id, name: id, kind: "live", config: {}, versions: {} });
      const items = store.addItems(id, newItems);
      const t0 = performance.now();
      if (batched)
        store.transaction(() => {
          for (const it of items) write(it.id);
        });
      else for (const it of items) write(it.id);
      return ((2 * items.length) / (performance.now() - t0)) * 1000;
    };
    const perCommit = timeRun("per-commit", false);
    const batched = timeRun("batched", true);
    // The same two upserts per result as Store.saveResponse/saveJudgement, prepared once, on a bare
    // better-sqlite3 connection to the same file with the store's per-connection settings.
    const bare = new Database(store.path);
    bare.pragma("busy_timeout = 10000");
    bare.pragma("synchronous = NORMAL");
    bare.pragma("foreign_keys = ON");
    const insResponse = bare.prepare(
      `INSERT INTO responses (item_id, status, response, thinking, prompt_tokens, completion_tokens, latency_ms, finish_reason, request_json, error, attempts, created_at)
       VALUES (?, 'ok', ?, NULL, 200, 12, 20, 'stop', ?, NULL, 1, ?)
       ON CONFLICT(item_id) DO UPDATE SET status = excluded.status, response = excluded.response WHERE responses.status <> 'ok'`,
    );
    const insJudgement = bare.prepare(
      `INSERT INTO judgements (item_id, judge, status, label, reason, raw, scores_json, error, attempts, latency_ms, created_at)
       VALUES (?, 'judge', 'ok', 'no_convergence', 'scripted', ?, NULL, NULL, 1, 20, ?)
       ON CONFLICT(item_id, judge) DO UPDATE SET status = excluded.status, label = excluded.label WHERE judgements.status <> 'ok'`,
    );
    store.createRun({ id: "prepared-once", name: "prepared-once", kind: "live", config: {}, versions: {} });
    const preparedItems = store.addItems("prepared-once", newItems);
    const tp = performance.now();
    for (const it of preparedItems) {
      const now = new Date().toISOString();
      insResponse.run(it.id, response, request, now);
      insJudgement.run(it.id, raw, now);
    }
    const preparedOnce = ((2 * preparedItems.length) / (performance.now() - tp)) * 1000;
    bare.close();
    let t0 = performance.now();
    const outcomes = store.outcomes("per-commit", "judge");
    const readOutcomes = (outcomes.length / (performance.now() - t0)) * 1000;
    t0 = performance.now();
    const judgements = store.judgements("per-commit");
    const readJudgements = (judgements.length / (performance.now() - t0)) * 1000;
    store.close();
    return {
      kind: "store",
      rows: 2 * newItems.length,
      perCommitWriteRowsPerS: perCommit,
      perCommitPreparedOnceRowsPerS: preparedOnce,
      batchedWriteRowsPerS: batched,
      readOutcomesRowsPerS: readOutcomes,
      readJudgementsRowsPerS: readJudgements,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.BENCH_JOB ?? "null") as Job | null;
  if (!job) throw new Error("harness: BENCH_JOB is not set");
  const result: JobResult =
    job.kind === "steerbench"
      ? await steerbench(job)
      : job.kind === "undici"
        ? await undiciLoop(job)
        : await storeThroughput(job);
  process.send?.(result, () => process.exit(0));
}

if (process.env.BENCH_JOB) {
  main().catch((err: unknown) => {
    process.stderr.write(`harness: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
