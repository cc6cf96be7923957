// The live evaluation end to end against a real loopback HTTP server: labels and counts, retries and
// their limits, judge failures, resume after kill -9, --retry-errors, and no API key in any file.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseRunConfig } from "../src/config/run-config.js";
import { loadPack } from "../src/data/pack.js";
import { selectScenarios } from "../src/data/selection.js";
import { buildTable1 } from "../src/metrics/index.js";
import { runEvaluation } from "../src/runner/run.js";
import { Store } from "../src/store/store.js";
import type { FakeOpenAIServer } from "./helpers/fake-openai-server.js";
import { expectedLabel, JUDGE, SUBJECT, startScriptedEvalServer } from "./helpers/scripted-eval-server.js";
import { packDir, repoRoot } from "./paths.js";

let dir: string;
let server: FakeOpenAIServer | undefined;
let prompts: string[];

beforeAll(async () => {
  const pack = await loadPack(packDir);
  prompts = selectScenarios(pack, "paper").map((s) => s.scenario.prompt);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-live-"));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const config = (baseUrl: string, extra: Record<string, unknown> = {}) =>
  parseRunConfig({
    selection: "paper",
    limit: 8,
    models: [{ name: "subject", model: SUBJECT, baseUrl }],
    judges: [{ name: "judge", model: JUDGE, baseUrl, retries: 1 }],
    retry: { retries: 3, baseDelayMs: 5, maxDelayMs: 50 },
    concurrency: 4,
    ...extra,
  });

/** A distinctive piece of the n-th selected scenario's text, to aim a fault at it. */
const scenarioKey = (n: number) => prompts[n]!.slice(0, 60);

describe("live run against a loopback server", () => {
  it("labels every item correctly and computes Table 1 from them", async () => {
    server = await startScriptedEvalServer({
      judgeFormats: [
        { match: "PLAN:", format: "fenced", times: 3 },
        { match: "NEUTRAL:", format: "prose", times: 3 },
      ],
    });
    const store = Store.open(join(dir, "s.sqlite"));
    const summary = await runEvaluation({ config: config(server.baseUrl), store, packDir });
    expect(summary.items).toBe(24);
    expect(summary.generated).toBe(24);
    expect(summary.judged).toBe(24);
    expect(summary.judgeFailures).toBe(0);
    const table = buildTable1(store.outcomes(summary.run.id, "judge"));
    const row = (c: string) => table.rows.find((r) => r.condition === c)!;
    expect(row("pro_ic")).toMatchObject({ total: 8, valid: 8, convergence: 8, convergenceRate: 100 });
    expect(row("anti_ic")).toMatchObject({ safetyRefusal: 8, refusalRate: 100, convergence: 0 });
    expect(row("baseline")).toMatchObject({ noConvergence: 8, convergenceRate: 0 });
    expect(table.gaps[0]).toMatchObject({ high: "pro_ic", low: "anti_ic", delta: 100, pairs: 8 });
    // every stored label is what the scripted judge meant for the stored response
    for (const j of store.judgements(summary.run.id)) {
      expect(j.label).toBe(expectedLabel(store.response(j.itemId)!.response!));
    }
    expect(store.getRun(summary.run.id)!.status).toBe("done");
    store.close();
  });

  it("retries 429 (honouring Retry-After), 500, resets and malformed bodies, within the limit", async () => {
    server = await startScriptedEvalServer({
      subjectFaults: [
        { match: scenarioKey(0), reply: { fault: "429", retryAfter: 0 }, times: 2 },
        { match: scenarioKey(1), reply: { fault: "500" }, times: 1 },
        { match: scenarioKey(2), reply: { fault: "reset" }, times: 1 },
        { match: scenarioKey(3), reply: { fault: "malformed" }, times: 1 },
        { match: scenarioKey(4), reply: { fault: "500" } }, // always: exhausts the retries
      ],
    });
    const store = Store.open(join(dir, "s.sqlite"));
    const cfg = config(server.baseUrl, { conditions: ["baseline"] });
    const summary = await runEvaluation({ config: cfg, store, packDir });
    expect(summary.generated).toBe(7);
    expect(summary.generationErrors).toBe(1);
    const failed = store.items(summary.run.id).find((i) => i.userPrompt.includes(scenarioKey(4)))!;
    expect(store.response(failed.id)).toMatchObject({ status: "error", attempts: 4 });
    // 8 items + 2 + 1 + 1 + 1 retries, + 4 attempts on the hopeless one instead of 1
    expect(server.requests.filter((r) => (r.body as { model: string }).model === SUBJECT)).toHaveLength(
      8 + 5 + 3,
    );
    store.close();
  });

  it("records an unparseable judge reply as a visible judge failure after its retries, never as a label", async () => {
    server = await startScriptedEvalServer({ judgeFormats: [{ match: "REFUSE:", format: "garbage" }] });
    const store = Store.open(join(dir, "s.sqlite"));
    const summary = await runEvaluation({ config: config(server.baseUrl), store, packDir });
    expect(summary.judgeFailures).toBe(8);
    const row = buildTable1(store.outcomes(summary.run.id, "judge")).rows.find(
      (r) => r.condition === "anti_ic",
    )!;
    expect(row).toMatchObject({ total: 0, judgeFailed: 8, safetyRefusal: 0 });
    const failed = store.judgements(summary.run.id).filter((j) => j.status === "failed");
    expect(failed).toHaveLength(8);
    expect(failed[0]!.raw).toContain("not json");
    expect(failed[0]!.attempts).toBe(1);
    // judge retries: 1 retry per failing item → 2 judge calls for each of the 8 anti items
    const judgeCalls = server.requests.filter((r) => (r.body as { model: string }).model === JUDGE).length;
    expect(judgeCalls).toBe(16 + 16);
    store.close();
  });

  it("resumes without redoing anything, and --retry-errors redoes only the failures", async () => {
    server = await startScriptedEvalServer({
      subjectFaults: [{ match: scenarioKey(5), reply: { status: 400, body: { error: "bad" } }, times: 1 }],
    });
    const store = Store.open(join(dir, "s.sqlite"));
    const cfg = config(server.baseUrl, { conditions: ["pro_ic"] });
    const first = await runEvaluation({ config: cfg, store, packDir });
    expect(first.generationErrors).toBe(1);
    const calls = server.count();
    const again = await runEvaluation({ config: cfg, store, packDir });
    expect(again.resumed).toBe(true);
    expect(again.run.id).toBe(first.run.id);
    expect(again.generated + again.judged).toBe(0);
    expect(server.count()).toBe(calls);
    const retried = await runEvaluation({ config: cfg, store, packDir, retryErrors: true });
    expect(retried.generated).toBe(1);
    expect(retried.judged).toBe(1);
    expect(store.progress(first.run.id)).toMatchObject({ items: 8, responsesOk: 8, responseErrors: 0 });
    store.close();
  });

  it("stops cleanly on abort and resumes to the same result as an uninterrupted run", async () => {
    server = await startScriptedEvalServer({ latencyMs: 20 });
    const store = Store.open(join(dir, "s.sqlite"));
    const cfg = config(server.baseUrl, { limit: 20, concurrency: 2 });
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 300);
    const partial = await runEvaluation({ config: cfg, store, packDir, signal: ctrl.signal });
    clearTimeout(timer);
    expect(partial.interrupted).toBe(true);
    expect(store.getRun(partial.run.id)!.status).toBe("interrupted");
    const p = store.progress(partial.run.id);
    expect(p.responsesOk).toBeGreaterThan(0);
    expect(p.responsesOk).toBeLessThan(60);
    const rest = await runEvaluation({ config: cfg, store, packDir });
    expect(rest.generated).toBe(60 - p.responsesOk);
    expect(store.progress(partial.run.id)).toMatchObject({
      items: 60,
      responsesOk: 60,
      judged: { judge: { ok: 60 } },
    });
    store.close();
  });
});

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin", "steerbench.js"), ...args], {
      env: { ...process.env, ...env },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

describe("steerbench run (CLI process)", () => {
  const SECRET = "sk-test-SECRET-4f9a1c0de";

  it("survives kill -9 mid-run: resume loses nothing, duplicates nothing, and never writes the key", async () => {
    server = await startScriptedEvalServer({ latencyMs: 30 });
    const store = join(dir, "cli.sqlite");
    const args = [
      "run",
      "--data",
      packDir,
      "--model",
      SUBJECT,
      "--base-url",
      server.baseUrl,
      "--api-key-env",
      "SB_TEST_KEY",
      "--judge",
      JUDGE,
      "--judge-base-url",
      server.baseUrl,
      "--judge-api-key-env",
      "SB_TEST_KEY",
      "--limit",
      "12",
      "--concurrency",
      "2",
      "--store",
      store,
    ];
    const env = { SB_TEST_KEY: SECRET };
    const child = spawn(process.execPath, [join(repoRoot, "bin", "steerbench.js"), ...args], {
      env: { ...process.env, ...env },
      stdio: "ignore",
    });
    // kill -9 once some judgements are committed
    const deadline = Date.now() + 20_000;
    let judgedAtKill = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      if (existsSync(store)) {
        const s = Store.open(store);
        const runs = s.listRuns();
        const judged = runs.length ? (s.progress(runs[0]!.id).judged[JUDGE]?.ok ?? 0) : 0;
        s.close();
        judgedAtKill = judged;
        if (judged >= 6) break;
      }
      if (Date.now() > deadline) throw new Error("run made no progress");
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));

    expect(judgedAtKill).toBeLessThan(36); // really killed mid-run
    const resumed = await runCli(args, env);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/resuming run/);

    const s = Store.open(store);
    const run = s.listRuns()[0]!;
    expect(s.listRuns()).toHaveLength(1);
    expect(s.progress(run.id)).toMatchObject({ items: 36, responsesOk: 36, judged: { [JUDGE]: { ok: 36 } } });
    const db = new Database(s.path, { readonly: true });
    const dupes = db
      .prepare(
        "SELECT COUNT(*) AS n FROM (SELECT model, condition, scenario_id, epoch FROM items GROUP BY 1,2,3,4 HAVING COUNT(*) > 1)",
      )
      .get() as { n: number };
    db.close();
    expect(dupes.n).toBe(0);
    // Same labels as an uninterrupted run would give (the scripted judge is deterministic).
    for (const j of s.judgements(run.id))
      expect(j.label).toBe(expectedLabel(s.response(j.itemId)!.response!));
    // Generation calls: each item once, plus at most the 2 in flight when killed.
    const gen = server.requests.filter((r) => (r.body as { model: string }).model === SUBJECT).length;
    expect(gen).toBeGreaterThanOrEqual(36);
    expect(gen).toBeLessThanOrEqual(38);
    // Every request carried the key; no file written by the run contains it.
    expect(server.requests.every((r) => r.headers.authorization === `Bearer ${SECRET}`)).toBe(true);
    s.close();
    expect(resumed.out + resumed.err).not.toContain(SECRET);
    for (const f of readdirSync(dir)) {
      expect(readFileSync(join(dir, f)).includes(Buffer.from(SECRET)), f).toBe(false);
    }
    expect(resumed.out).toMatch(/pro_ic/);
  }, 60_000);

  it("names the key and the problem for a bad config", async () => {
    const res = await runCli(
      ["run", "--data", packDir, "--model", "m", "--judge", "j", "--store", join(dir, "x.sqlite")],
      {},
    );
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/models\.0\.baseUrl: required/);
  });
});
