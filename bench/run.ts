// `npm run bench`: steerbench's performance, each figure beside its baseline measured in the same run.
//
//   1. Harness throughput at C = 1, 8, 64, 256 against a loopback server answering after L = 20 ms.
//      An item is two sequential calls (generation, then judgement), so with C items in flight the limit
//      is C / (2 L) items/s. Reference: a bare undici Pool loop doing the same calls (same bodies).
//  1b. The harness goals alone (BENCH_ONLY=harness): steerbench ÷ bare undici at C = 64 and 256, as
//      BENCH_REPEATS (default 3) alternating pairs, the median against the goals.
//   2. CPU per item of steerbench (its own process; the server runs in another) and peak RSS of a
//      100,000-item run, sampled at 10k / 50k / 100k items (L = 1 ms so it takes seconds, not minutes).
//   3. The same workload through promptfoo (same items, server and concurrency): throughput and memory.
//   4. Resume: re-running a finished 10,000-item run — calls made (counted by the server) and seconds.
//   5. The store: result rows/s written with one commit per result vs one transaction
//      (a run commits its results once per event-loop turn: src/store/write-behind.ts).
//   7. `steerbench serve` under 64 concurrent clients at --parallel 1 and 8 (bench/serve.ts).
//
// Every measurement runs in a fresh process (peak RSS and CPU are its own); the server is a separate
// process too. BENCH_QUICK=1 runs a short version. BENCH_PROFILE=1 adds --cpu-prof to the harness
// processes (profiles in bench/results/prof). Results: a table on stdout, JSON in bench/results/latest.json.
import { type ChildProcess, fork, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Table from "cli-table3";
import { resolveDataDir } from "../src/data/data-dir.js";
import { loadPack } from "../src/data/pack.js";
import { planRun } from "../src/runner/plan.js";
import { ITEMS_PER_EPOCH } from "./common.js";
import { type Job, type JobResult, type RunResult, type StoreResult, studyConfig } from "./harness.js";
import { runBatchedLlamaBench } from "./llama/batched.js";
import { runLlamaBench } from "./llama/bench.js";
import { runServeBench, type ServeBenchResult } from "./serve.js";
import type { ServerCommand, ServerMessage } from "./server.js";

const here = dirname(fileURLToPath(import.meta.url));
// Bundled to bench/dist/run.js by bench/build.mjs.
const repoRoot = resolve(here, "..", "..");
const QUICK = process.env.BENCH_QUICK === "1";
const PROFILE = process.env.BENCH_PROFILE === "1";
/**
 * BENCH_ONLY=throughput,harness,promptfoo,memory,resume,store,llama,llama-batched,serve runs only those
 * sections. `harness` is the ratio to bare undici at C = 64 and 256 alone (BENCH_REPEATS pairs, default 3).
 */
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",")) : undefined;
const section = (name: string) => ONLY === undefined || ONLY.has(name);
const HARNESS_REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? "3"));
const resultsDir = join(repoRoot, "bench", "results");
const packDir = resolveDataDir({
  flag: process.env.STEERBENCH_DATA ?? resolve(repoRoot, "..", "shared", "data"),
});
const work = mkdtempSync(join(tmpdir(), "sb-bench-"));

const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

// ---- processes ----

interface ServerStats {
  requests: number;
  subject: number;
  judge: number;
  cpuMicros: number;
}

interface BenchServer {
  baseUrl: string;
  latencyMs: number;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

async function startServer(latencyMs: number): Promise<BenchServer> {
  const child = fork(join(here, "server.js"), [], {
    env: { ...process.env, BENCH_SERVER: "1", BENCH_LATENCY_MS: String(latencyMs) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const baseUrl = await new Promise<string>((res, rej) => {
    child.once("message", (m: ServerMessage) =>
      m.type === "ready" ? res(m.baseUrl) : rej(new Error("server")),
    );
    child.once("exit", (code) => rej(new Error(`bench server exited with ${code}`)));
  });
  const send = (m: ServerCommand) => child.send(m);
  return {
    baseUrl,
    latencyMs,
    stats: () =>
      new Promise((res) => {
        child.once("message", (m: ServerMessage) => {
          if (m.type === "stats") res(m);
        });
        send({ type: "stats" });
      }),
    stop: () =>
      new Promise((res) => {
        child.once("exit", () => res());
        send({ type: "stop" });
      }),
  };
}

/** Runs one harness job in a fresh process; wall time is the process's, from spawn to exit. */
async function runJob<R extends JobResult>(
  job: Job,
  label: string,
  extraArgv: string[] = [],
): Promise<R & { processWallMs: number }> {
  const execArgv = [
    ...extraArgv,
    ...(PROFILE
      ? ["--cpu-prof", `--cpu-prof-dir=${join(resultsDir, "prof")}`, `--cpu-prof-name=${label}.cpuprofile`]
      : []),
  ];
  const t0 = performance.now();
  const child: ChildProcess = fork(join(here, "harness.js"), [], {
    env: { ...process.env, BENCH_JOB: JSON.stringify(job) },
    execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let result: R | undefined;
  child.on("message", (m: R) => {
    result = m;
  });
  const code = await new Promise<number | null>((res) => child.once("exit", res));
  if (!result) throw new Error(`harness job ${label} failed (exit ${code})`);
  return { ...result, processWallMs: performance.now() - t0 };
}

// ---- 1. throughput ----

interface ThroughputRow {
  concurrency: number;
  items: number;
  limitItemsPerS: number;
  undici: { itemsPerS: number; fraction: number; cpuMsPerItem: number; errors: number };
  steerbench: { itemsPerS: number; fraction: number; cpuMsPerItem: number; errors: number; maxRssMB: number };
  steerbenchVsUndici: number;
  serverCpuMsPerItem: number;
  /** What 2 cores allow at the measured CPU per item (harness + server). */
  cpuBoundItemsPerS: number;
}

async function throughput(
  server: BenchServer,
  concurrencies: number[],
  seconds: number,
): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  const L = server.latencyMs / 1000;
  for (const C of concurrencies) {
    const limit = C / (2 * L);
    const epochs = Math.max(1, Math.min(Math.ceil((limit * seconds) / ITEMS_PER_EPOCH), QUICK ? 10 : 30));
    const shape = { packDir, baseUrl: server.baseUrl, concurrency: C, epochs };
    log(`throughput C=${C}: ${epochs * ITEMS_PER_EPOCH} items, undici reference`);
    const s0 = await server.stats();
    const u = await runJob<RunResult>({ kind: "undici", ...shape }, `undici-c${C}`);
    const s1 = await server.stats();
    log(`throughput C=${C}: steerbench`);
    const storePath = join(work, `tp-c${C}.sqlite`);
    const s = await runJob<RunResult>(
      { kind: "steerbench", ...shape, storePath, rssAt: [] },
      `steerbench-c${C}`,
    );
    const s2 = await server.stats();
    rmSync(storePath, { force: true });
    const rate = (r: RunResult) => (r.ok / r.wallMs) * 1000;
    const serverCpu = (s2.cpuMicros - s1.cpuMicros) / 1000 / s.items;
    const sbCpu = s.cpuMicros / 1000 / s.items;
    rows.push({
      concurrency: C,
      items: s.items,
      limitItemsPerS: limit,
      undici: {
        itemsPerS: rate(u),
        fraction: rate(u) / limit,
        cpuMsPerItem: u.cpuMicros / 1000 / u.items,
        errors: u.errors,
      },
      steerbench: {
        itemsPerS: rate(s),
        fraction: rate(s) / limit,
        cpuMsPerItem: sbCpu,
        errors: s.errors,
        maxRssMB: s.maxRssMB,
      },
      steerbenchVsUndici: rate(s) / rate(u),
      serverCpuMsPerItem: serverCpu,
      cpuBoundItemsPerS: (cpus().length * 1000) / (sbCpu + serverCpu),
    });
    void s0;
  }
  return rows;
}

// ---- 1b. the harness goals: ratio to bare undici ----

interface HarnessRatio {
  concurrency: number;
  items: number;
  limitItemsPerS: number;
  /** One per repetition, in run order (undici then steerbench each time). */
  pairs: Array<{ undiciItemsPerS: number; steerbenchItemsPerS: number; ratio: number; startupMs: number }>;
  medianRatio: number;
  /** The same with steerbench's clock started at its first item (pack, plan, item inserts, preflight excluded). */
  medianRatioAfterStartup: number;
  steerbenchCpuMsPerItem: number;
  goal: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * steerbench ÷ bare undici at each C, as alternating pairs (so a burst of other load hits both sides
 * alike) and their median. The goals (issue 12): ≥ 0.85 at C = 64, ≥ 0.6 at C = 256.
 */
async function harnessRatios(server: BenchServer, concurrencies: number[], repeats: number) {
  const out: HarnessRatio[] = [];
  for (const C of concurrencies) {
    const limit = C / (2 * (server.latencyMs / 1000));
    const epochs = Math.max(1, Math.min(Math.ceil((limit * 2) / ITEMS_PER_EPOCH), 30));
    const shape = { packDir, baseUrl: server.baseUrl, concurrency: C, epochs };
    const pairs: HarnessRatio["pairs"] = [];
    const cpu: number[] = [];
    const afterStartup: number[] = [];
    for (let i = 0; i < repeats; i++) {
      log(`harness C=${C}: pair ${i + 1}/${repeats}, ${epochs * ITEMS_PER_EPOCH} items each`);
      const u = await runJob<RunResult>({ kind: "undici", ...shape }, `undici-c${C}-${i}`);
      const storePath = join(work, `h-c${C}-${i}.sqlite`);
      const s = await runJob<RunResult>(
        { kind: "steerbench", ...shape, storePath, rssAt: [] },
        `steerbench-c${C}-${i}`,
      );
      for (const f of ["", "-wal", "-shm"]) rmSync(storePath + f, { force: true });
      if (u.errors > 0 || s.errors > 0) throw new Error(`harness C=${C}: ${u.errors} + ${s.errors} errors`);
      const uRate = (u.ok / u.wallMs) * 1000;
      const sRate = (s.ok / s.wallMs) * 1000;
      const startupMs = s.startupMs ?? 0;
      pairs.push({ undiciItemsPerS: uRate, steerbenchItemsPerS: sRate, ratio: sRate / uRate, startupMs });
      afterStartup.push(((s.ok / (s.wallMs - startupMs)) * 1000) / uRate);
      cpu.push(s.cpuMicros / 1000 / s.items);
    }
    out.push({
      concurrency: C,
      items: epochs * ITEMS_PER_EPOCH,
      limitItemsPerS: limit,
      pairs,
      medianRatio: median(pairs.map((p) => p.ratio)),
      medianRatioAfterStartup: median(afterStartup),
      steerbenchCpuMsPerItem: median(cpu),
      goal: C >= 256 ? 0.6 : 0.85,
    });
  }
  return out;
}

function printHarness(rows: HarnessRatio[]): void {
  const t = new Table({
    head: [
      "C",
      "items",
      "limit/s",
      "undici/s",
      "steerbench/s",
      "sb/undici per pair",
      "median",
      "goal",
      "sb start-up ms",
      "median after start-up",
      "sb CPU ms/item",
    ],
  });
  for (const r of rows)
    t.push([
      r.concurrency,
      r.items,
      round(r.limitItemsPerS, 0),
      r.pairs.map((p) => round(p.undiciItemsPerS, 0)).join(" "),
      r.pairs.map((p) => round(p.steerbenchItemsPerS, 0)).join(" "),
      r.pairs.map((p) => round(p.ratio)).join(" "),
      round(r.medianRatio),
      `≥ ${r.goal} ${r.medianRatio >= r.goal ? "met" : "NOT met"}`,
      round(median(r.pairs.map((p) => p.startupMs)), 0),
      round(r.medianRatioAfterStartup),
      round(r.steerbenchCpuMsPerItem, 3),
    ]);
  process.stdout.write(
    `\n1b. Harness vs bare undici, L = 20 ms, same server, alternating pairs (median of ${rows[0]?.pairs.length ?? 0})\n${t.toString()}\n`,
  );
}

// ---- 3. promptfoo ----

interface PromptfooComparison {
  available: boolean;
  note: string;
  version?: string;
  concurrency: number;
  items: number;
  latencyMs: number;
  promptfoo?: {
    itemsPerS: number;
    processWallMs: number;
    cpuMsPerItem: number;
    maxRssMB: number;
    passed: number;
    serverCalls: number;
  };
  steerbench?: {
    itemsPerS: number;
    processWallMs: number;
    cpuMsPerItem: number;
    maxRssMB: number;
    serverCalls: number;
  };
  throughputRatio?: number;
  memoryRatio?: number;
}

function promptfooEntry(): { entry: string; version: string } | undefined {
  // promptfoo lives in its own prefix (bench/.promptfoo, installed by bench/setup-promptfoo.mjs) so the
  // project's install and CI never carry its ~690 packages. Its `exports` hides package.json from
  // require.resolve: read it from node_modules.
  const pkgPath = join(repoRoot, "bench", ".promptfoo", "node_modules", "promptfoo", "package.json");
  if (!existsSync(pkgPath)) return undefined;
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { version: string; bin: Record<string, string> };
  const bin = pkg.bin.promptfoo;
  return bin ? { entry: join(dirname(pkgPath), bin), version: pkg.version } : undefined;
}

async function promptfooVsSteerbench(
  server: BenchServer,
  C: number,
  epochs: number,
): Promise<PromptfooComparison> {
  const items = epochs * ITEMS_PER_EPOCH;
  const base: PromptfooComparison = {
    available: false,
    note: "",
    concurrency: C,
    items,
    latencyMs: server.latencyMs,
  };
  const pf = promptfooEntry();
  if (!pf) return { ...base, note: "promptfoo is not installed (npm install): not measured" };
  const dir = mkdtempSync(join(work, "pf-"));
  const shape = { packDir, baseUrl: server.baseUrl, concurrency: C, epochs };
  const plan = planRun(studyConfig(shape), await loadPack(packDir));
  // The same items, as chat messages, one test each.
  const tests = plan.items.map((it) => ({
    vars: {
      messages: [
        ...(it.systemPrompt === undefined ? [] : [{ role: "system", content: it.systemPrompt }]),
        { role: "user", content: it.userPrompt },
      ],
    },
  }));
  writeFileSync(join(dir, "tests.json"), JSON.stringify(tests));
  const provider = (model: string, maxTokens: number) =>
    `{ id: "openai:chat:${model}", config: { apiBaseUrl: "${server.baseUrl}", apiKey: bench, temperature: 0, max_tokens: ${maxTokens} } }`;
  writeFileSync(
    join(dir, "promptfooconfig.yaml"),
    [
      "description: steerbench benchmark workload",
      "prompts:",
      "  - id: chat",
      '    raw: "{{ messages | dump | safe }}"',
      `providers: [${provider("subject-model", 1024)}]`,
      "defaultTest:",
      "  options:",
      `    provider: ${provider("judge-model", 200)}`,
      "  assert:",
      "    - type: llm-rubric",
      '      value: "Label the response: convergence, no_convergence, safety_refusal or nonsensical."',
      "tests: file://tests.json",
      "",
    ].join("\n"),
  );
  const rusageFile = join(dir, "rusage.json");
  log(`promptfoo ${pf.version}: ${items} items at C=${C}`);
  const s0 = await server.stats();
  const t0 = performance.now();
  const { code, out } = await new Promise<{ code: number | null; out: string }>((res) => {
    const child = spawn(
      process.execPath,
      [
        "--require",
        join(repoRoot, "bench", "rusage.cjs"),
        pf.entry,
        "eval",
        "-c",
        "promptfooconfig.yaml",
        "-j",
        String(C),
        "--no-cache",
        "--no-progress-bar",
        "--no-table",
      ],
      {
        cwd: dir,
        env: {
          ...process.env,
          BENCH_RUSAGE_FILE: rusageFile,
          PROMPTFOO_CONFIG_DIR: join(dir, "config"),
          PROMPTFOO_DISABLE_TELEMETRY: "1",
          PROMPTFOO_DISABLE_UPDATE: "1",
          PROMPTFOO_CACHE_ENABLED: "false",
          // Its file loggers crash on shutdown after a long eval ("write after end" in winston).
          PROMPTFOO_DISABLE_DEBUG_LOG: "true",
          PROMPTFOO_DISABLE_ERROR_LOG: "true",
          NO_COLOR: "1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr.on("data", (d: Buffer) => (text += d.toString()));
    child.on("exit", (c) => res({ code: c, out: text }));
  });
  const pfWall = performance.now() - t0;
  const s1 = await server.stats();
  if (code !== 0 || !existsSync(rusageFile)) {
    writeFileSync(join(resultsDir, "promptfoo-error.log"), out);
    return { ...base, version: pf.version, note: `promptfoo eval failed (exit ${code}): ${out.slice(-400)}` };
  }
  const usage = JSON.parse(readFileSync(rusageFile, "utf8")) as {
    maxRSS: number;
    userCPUTime: number;
    systemCPUTime: number;
  };
  const passed = Number(/(\d+) passed/.exec(out)?.[1] ?? "0");

  log(`steerbench: the same ${items} items at C=${C}`);
  const storePath = join(dir, "s.sqlite");
  const s = await runJob<RunResult>(
    { kind: "steerbench", ...shape, storePath, rssAt: [] },
    "steerbench-vs-promptfoo",
  );
  const s2 = await server.stats();
  const sbRate = (s.ok / s.processWallMs) * 1000;
  const pfRate = (passed / pfWall) * 1000;
  return {
    ...base,
    available: true,
    version: pf.version,
    note: "both timed as whole processes, start-up and CPU included; promptfoo: openai provider + llm-rubric grader, cache off",
    promptfoo: {
      itemsPerS: pfRate,
      processWallMs: pfWall,
      cpuMsPerItem: (usage.userCPUTime + usage.systemCPUTime) / 1000 / items,
      maxRssMB: usage.maxRSS / 1024,
      passed,
      serverCalls: s1.requests - s0.requests,
    },
    steerbench: {
      itemsPerS: sbRate,
      processWallMs: s.processWallMs,
      cpuMsPerItem: s.processCpuMicros / 1000 / items,
      maxRssMB: s.maxRssMB,
      serverCalls: s2.requests - s1.requests,
    },
    throughputRatio: sbRate / pfRate,
    memoryRatio: s.maxRssMB / (usage.maxRSS / 1024),
  };
}

// ---- 2. memory, 4. resume ----

async function memory(server: BenchServer) {
  const total = QUICK ? 20_000 : 100_000;
  const epochs = Math.ceil(total / ITEMS_PER_EPOCH);
  const rssAt = QUICK ? [2_000, 10_000, 20_000] : [10_000, 50_000, 100_000];
  log(`memory: ${epochs * ITEMS_PER_EPOCH} items at C=256, L=1 ms`);
  const storePath = join(work, "memory.sqlite");
  const s0 = await server.stats();
  const m = await runJob<RunResult>(
    { kind: "steerbench", packDir, baseUrl: server.baseUrl, concurrency: 256, epochs, storePath, rssAt },
    "steerbench-memory",
    // Three forced GCs, at the milestones only: they show the live heap beside the RSS.
    ["--expose-gc"],
  );
  const s1 = await server.stats();
  rmSync(storePath, { force: true });
  return {
    latencyMs: server.latencyMs,
    concurrency: 256,
    items: m.items,
    itemsPerS: (m.ok / m.wallMs) * 1000,
    cpuMsPerItem: m.cpuMicros / 1000 / m.items,
    serverCpuMsPerItem: (s1.cpuMicros - s0.cpuMicros) / 1000 / m.items,
    rssSamples: m.rssSamples,
    maxRssMB: m.maxRssMB,
    startupPeakRssMB: m.startupPeakRssMB,
    runPeak: m.runPeak,
    startupMs: m.startupMs,
    errors: m.errors,
  };
}

async function resume(server: BenchServer) {
  const resumeItems = QUICK ? 2_000 : 10_000;
  const epochs = Math.ceil(resumeItems / ITEMS_PER_EPOCH);
  const storePath = join(work, "resume.sqlite");
  const shape = { packDir, baseUrl: server.baseUrl, concurrency: 256, epochs, storePath, rssAt: [] };
  log(`resume: a ${epochs * ITEMS_PER_EPOCH}-item run, then the same run again`);
  const r0 = await server.stats();
  const first = await runJob<RunResult>({ kind: "steerbench", ...shape }, "resume-first");
  const r1 = await server.stats();
  const again = await runJob<RunResult>({ kind: "steerbench", ...shape }, "resume-again");
  const r2 = await server.stats();
  rmSync(storePath, { force: true });
  return {
    items: again.items,
    firstRun: { seconds: first.processWallMs / 1000, calls: r1.requests - r0.requests },
    rerun: {
      resumed: again.resumed,
      calls: r2.requests - r1.requests,
      seconds: again.processWallMs / 1000,
      inRunSeconds: again.wallMs / 1000,
      maxRssMB: again.maxRssMB,
    },
  };
}

// ---- main ----

async function main(): Promise<void> {
  mkdirSync(resultsDir, { recursive: true });
  const started = Date.now();
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    quick: QUICK,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    // Other work on the machine skews every figure: recorded so a reader can tell.
    loadAverageAtStart: loadavg(),
    definitions: {
      item: "one benchmark item = 2 sequential calls (generation, then judgement)",
      limit: "C / (2 L) items/s: C items in flight, each taking at least 2 L",
      fraction: "measured items/s ÷ limit",
      cpuMsPerItem:
        "CPU time (user + system) of the measuring process ÷ items; the server runs in its own process",
    },
  };

  // 1. Throughput at L = 20 ms.
  const slow = await startServer(20);
  try {
    if (section("throughput")) results.throughput = await throughput(slow, [1, 8, 64, 256], QUICK ? 1 : 2);
    // The harness goals alone (BENCH_ONLY=harness): C = 64 and 256, each pair repeated, median ratio.
    if (section("harness")) results.harness = await harnessRatios(slow, [64, 256], HARNESS_REPEATS);
    // 3. promptfoo on the same server.
    if (section("promptfoo")) results.promptfoo = await promptfooVsSteerbench(slow, 64, QUICK ? 1 : 2);
  } finally {
    await slow.stop();
  }

  // 2, 4. Memory over a 100k-item run, and resume of a finished 10k run, at L = 1 ms.
  const fast = await startServer(1);
  try {
    if (section("memory")) results.memory = await memory(fast);
    if (section("resume")) results.resume = await resume(fast);
  } finally {
    await fast.stop();
  }

  // 5. The store.
  if (section("store")) {
    log("store: per-result commits vs one transaction");
    const st = await runJob<StoreResult>({ kind: "store", rows: QUICK ? 4_000 : 20_000, packDir }, "store");
    results.store = { ...st, batchedVsPerCommit: st.batchedWriteRowsPerS / st.perCommitWriteRowsPerS };
  }
  // 6. The embedded llama.cpp engine vs node-llama-cpp (prints its own tables, bench/results/llama.json).
  if (section("llama")) {
    log("llama: embedded engine vs node-llama-cpp, capture and control-vector costs");
    results.llama = await runLlamaBench({ quick: QUICK });
  }
  // 7. Continuous batching: N sequences vs node-llama-cpp's `sequences: N`, plain and per-sequence steered.
  if (section("llama") || section("llama-batched")) {
    log("llama-batched: N = 1…16 sequences vs node-llama-cpp, and per-sequence steering");
    results.llamaBatched = await runBatchedLlamaBench({ quick: QUICK });
  }
  // 7. `steerbench serve` under 64 concurrent clients, --parallel 1 vs 8.
  if (section("serve")) {
    log("serve: 64 concurrent clients, --parallel 1 vs 8");
    results.serve = await runServeBench({ quick: QUICK, repoRoot });
  }
  results.totalSeconds = (Date.now() - started) / 1000;
  results.loadAverageAtEnd = loadavg();

  writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  print(results);
  process.stdout.write(
    `\nJSON: ${join("bench", "results", "latest.json")}  (${round((Date.now() - started) / 1000, 0)} s)\n`,
  );
}

function printServe(s: ServeBenchResult): void {
  const t = new Table({
    head: ["--parallel", "clients", "requests", "lost", "req/s", "tokens/s", "p50 ms", "p99 ms"],
  });
  for (const r of s.rows)
    t.push([
      r.parallel,
      r.clients,
      r.requests,
      r.lost,
      round(r.requestsPerS),
      round(r.tokensPerS, 0),
      round(r.p50Ms, 0),
      round(r.p99Ms, 0),
    ]);
  process.stdout.write(
    `\n7. steerbench serve, fixture GGUF, 32 greedy tokens per request (speed-up over --parallel 1: ${round(s.speedup)}×)\n${t.toString()}\n`,
  );
}

function print(r: Record<string, unknown>): void {
  const tp = (r.throughput as ThroughputRow[] | undefined) ?? [];
  const t1 = new Table({
    head: [
      "C",
      "items",
      "limit/s",
      "undici/s",
      "undici frac",
      "steerbench/s",
      "sb frac",
      "sb/undici",
      "sb CPU ms/item",
      "server CPU ms/item",
      "2-core CPU bound/s",
    ],
  });
  for (const row of tp) {
    t1.push([
      row.concurrency,
      row.items,
      round(row.limitItemsPerS, 0),
      round(row.undici.itemsPerS, 0),
      round(row.undici.fraction),
      round(row.steerbench.itemsPerS, 0),
      round(row.steerbench.fraction),
      round(row.steerbenchVsUndici),
      round(row.steerbench.cpuMsPerItem, 3),
      round(row.serverCpuMsPerItem, 3),
      round(row.cpuBoundItemsPerS, 0),
    ]);
  }
  if (tp.length > 0) {
    process.stdout.write(
      `\n1. Harness throughput, L = 20 ms, 2 calls per item (limit = C/(2L))\n${t1.toString()}\n`,
    );
  }
  if (r.harness) printHarness(r.harness as HarnessRatio[]);
  if (r.memory) printMemory(r.memory as MemoryResult);
  if (r.promptfoo) printPromptfoo(r.promptfoo as PromptfooComparison);
  if (r.resume) printResume(r.resume as ResumeResult);
  if (r.store) printStore(r.store as StoreResult & { batchedVsPerCommit: number });
  if (r.serve) printServe(r.serve as ServeBenchResult);
  printFooter(r);
}

type MemoryResult = Awaited<ReturnType<typeof memory>>;
type ResumeResult = Awaited<ReturnType<typeof resume>>;

function printMemory(m: MemoryResult): void {
  process.stdout.write(
    `\n2. ${m.items}-item run (L = 1 ms, C = 256): ${round(m.itemsPerS, 0)} items/s, steerbench CPU ${round(m.cpuMsPerItem, 3)} ms/item ` +
      `(server ${round(m.serverCpuMsPerItem, 3)}), peak RSS ${round(m.maxRssMB, 0)} MB ` +
      `(before the first item ${round(m.startupPeakRssMB ?? 0, 0)} MB after ${round((m.startupMs ?? 0) / 1000, 1)} s of start-up; ` +
      `during the run ${round(m.runPeak?.rssMB ?? 0, 0)} MB, at item ${m.runPeak?.done ?? "?"}); RSS at ` +
      `${m.rssSamples
        .map(
          (s) =>
            `${s.done}: ${round(s.rssMB, 0)} MB${
              s.heapAfterGcMB === undefined
                ? ""
                : ` (live heap ${round(s.heapAfterGcMB, 0)}, V8 heap committed ${round(s.heapTotalMB ?? 0, 0)}, external ${round(s.externalMB ?? 0, 0)} of which ArrayBuffers ${round(s.arrayBuffersMB ?? 0, 0)} MB)`
            }`,
        )
        .join(", ")}\n`,
  );
}

function printPromptfoo(pf: PromptfooComparison): void {
  if (pf.available && pf.promptfoo && pf.steerbench) {
    const t3 = new Table({
      head: ["", "items/s", "process s", "CPU ms/item", "peak RSS MB", "server calls"],
    });
    t3.push(
      [
        `promptfoo ${pf.version}`,
        round(pf.promptfoo.itemsPerS, 1),
        round(pf.promptfoo.processWallMs / 1000, 1),
        round(pf.promptfoo.cpuMsPerItem, 2),
        round(pf.promptfoo.maxRssMB, 0),
        pf.promptfoo.serverCalls,
      ],
      [
        "steerbench",
        round(pf.steerbench.itemsPerS, 1),
        round(pf.steerbench.processWallMs / 1000, 1),
        round(pf.steerbench.cpuMsPerItem, 2),
        round(pf.steerbench.maxRssMB, 0),
        pf.steerbench.serverCalls,
      ],
    );
    process.stdout.write(
      `\n3. Same ${pf.items} items through promptfoo and steerbench, C = ${pf.concurrency}, L = ${pf.latencyMs} ms (${pf.note})\n${t3.toString()}\n` +
        `   steerbench/promptfoo throughput ×${round(pf.throughputRatio ?? 0, 1)}, memory ratio ${round(pf.memoryRatio ?? 0, 2)}\n`,
    );
  } else {
    process.stdout.write(`\n3. promptfoo: ${pf.note}\n`);
  }
}

function printResume(res: ResumeResult): void {
  process.stdout.write(
    `\n4. Resume of a finished ${res.items}-item run: ${res.rerun.calls} model calls, ${round(res.rerun.seconds, 2)} s ` +
      `(process; ${round(res.rerun.inRunSeconds, 2)} s in runEvaluation) — the first run made ${res.firstRun.calls} calls in ${round(res.firstRun.seconds, 1)} s\n`,
  );
}

function printStore(st: StoreResult & { batchedVsPerCommit: number }): void {
  process.stdout.write(
    `\n5. Store, ${st.rows} result rows: per-result commits ${round(st.perCommitWriteRowsPerS, 0)} rows/s, one transaction ` +
      `${round(st.batchedWriteRowsPerS, 0)} rows/s (×${round(st.batchedVsPerCommit, 1)}); per-result commits with statements prepared once ` +
      `${round(st.perCommitPreparedOnceRowsPerS, 0)} rows/s (×${round(st.perCommitPreparedOnceRowsPerS / st.perCommitWriteRowsPerS, 1)}); reads: outcomes ${round(st.readOutcomesRowsPerS, 0)} rows/s, ` +
      `judgements ${round(st.readJudgementsRowsPerS, 0)} rows/s\n`,
  );
}

function printFooter(r: Record<string, unknown>): void {
  const load = (r.loadAverageAtStart as number[]).map((x) => round(x, 1)).join(", ");
  process.stdout.write(
    `\nLoad average at start: ${load} (on ${r.cpus} cores; anything above ~0.1 is other work competing).`,
  );
  process.stdout.write(
    `\nOn ${r.cpus} cores the server process shares the CPU with the harness: at high C the run is bounded by CPU ` +
      `(column "2-core CPU bound"), not by C/(2L); the undici column is the same bound for the bare loop.\n`,
  );
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
