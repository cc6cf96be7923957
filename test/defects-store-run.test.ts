// Regressions for defects found by trying steerbench as a new user would (issue 11): silent wrong
// numbers and silent failures in the store and in `run`. Each test is a real CLI process over a real
// SQLite file and, where a model is needed, a real loopback HTTP server in this process (so those
// tests spawn asynchronously: a blocking spawnSync would stop the server from answering).
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { importPublishedRuns } from "../src/importers/import-published.js";
import { Store } from "../src/store/store.js";
import type { FakeOpenAIServer } from "./helpers/fake-openai-server.js";
import { startFakeOpenAIServer } from "./helpers/fake-openai-server.js";
import { expectedLabel, JUDGE, SUBJECT, startScriptedEvalServer } from "./helpers/scripted-eval-server.js";
import { packDir, repoRoot, runsDir } from "./paths.js";

let dir: string;
let servers: FakeOpenAIServer[] = [];
const bin = join(repoRoot, "bin", "steerbench.js");
const env = { ...process.env, STEERBENCH_STORE: "", STEERBENCH_DATA: "", OPENAI_API_KEY: "" };

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const res = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

function cliAsync(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

const runArgs = (baseUrl: string, store: string, extra: string[] = []) => [
  "run",
  "--data",
  packDir,
  "--model",
  SUBJECT,
  "--base-url",
  baseUrl,
  "--judge-model",
  JUDGE,
  "--judge-base-url",
  baseUrl,
  "--store",
  store,
  "--quiet",
  ...extra,
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-defects-"));
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function scripted(opts: Parameters<typeof startScriptedEvalServer>[0] = {}): Promise<FakeOpenAIServer> {
  const s = await startScriptedEvalServer(opts);
  servers.push(s);
  return s;
}

describe("primary judge (a second judge never changes the numbers)", () => {
  it("keeps the paper's judge for table/report after a judge that sorts first is added", async () => {
    const store = join(dir, "primary.sqlite");
    const s = Store.open(store);
    const { run } = await importPublishedRuns(s, runsDir, { packDir });
    expect(s.primaryJudge(run.id)).toBe("gpt-5.2");
    s.close();
    const before = cli("table", "--store", store, "--format", "json");
    expect(before.code, before.err).toBe(0);

    // A judge named to sort first, labelling every item `nonsensical`, judging the first item first.
    const w = Store.open(store);
    w.transaction(() => {
      for (const item of w.items(run.id)) {
        w.saveJudgement({
          itemId: item.id,
          judge: "aaa-judge",
          status: "ok",
          label: "nonsensical",
          reason: null,
          raw: "{}",
          scores: null,
          error: null,
          latencyMs: 1,
        });
      }
    });
    w.close();

    const after = cli("table", "--store", store, "--format", "json");
    expect(after.out).toBe(before.out);
    const terminal = cli("table", "--store", store);
    expect(terminal.out).toMatch(/judge gpt-5\.2\)/);
    const report = cli("report", "--store", store, "--html", join(dir, "r.html"));
    expect(report.code, report.err).toBe(0);
    expect(report.out).toMatch(/judge gpt-5\.2\)/);
    expect(cli("runs", "--store", store).out).toMatch(/gpt-5\.2 \(primary\)/);

    // Changing it is explicit, and then every output follows.
    const set = cli("runs", "--store", store, "--set-primary-judge", "aaa-judge");
    expect(set.code, set.err).toBe(0);
    expect(set.out).toMatch(/primary judge gpt-5\.2 → aaa-judge/);
    expect(cli("table", "--store", store, "--format", "json").out).not.toBe(before.out);
    expect(cli("report", "--store", store, "--html", join(dir, "r2.html"), "--judge", "nosuch").err).toMatch(
      /no judge "nosuch"/,
    );
    const bad = cli("runs", "--store", store, "--set-primary-judge", "nosuch");
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/no judge "nosuch"; judges: aaa-judge, gpt-5\.2/);
  });
});

describe("store integrity", () => {
  it("refuses a damaged store, naming the file and how to recover, instead of printing a different Table 1", async () => {
    const store = join(dir, "damaged.sqlite");
    const s = Store.open(store);
    await importPublishedRuns(s, runsDir, { packDir });
    s.close();
    expect(cli("table", "--store", store).code).toBe(0);
    // Overwrite pages in the middle of the file (not the header) with garbage.
    const size = statSync(store).size;
    const fd = openSync(store, "r+");
    const garbage = Buffer.alloc(4096 * 4, 0xa7);
    writeSync(fd, garbage, 0, garbage.length, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    const res = cli("table", "--store", store);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/store .*damaged\.sqlite is damaged/);
    expect(res.err).toMatch(/\.recover/);
    expect(res.out).toBe("");
  });

  it("read-only verbs on a mistyped --store fail with 'no such store' and create nothing", () => {
    const missing = join(dir, "typo.sqlite");
    for (const args of [
      ["table"],
      ["export"],
      ["agreement"],
      ["report", "--html", join(dir, "x.html")],
      ["compare"],
      ["runs"],
      ["train-judge", "--run", "x", "--judge", "y", "--out", join(dir, "m.json")],
    ]) {
      const res = cli(...args, "--store", missing);
      expect(res.code, args.join(" ")).toBe(1);
      expect(res.err, args.join(" ")).toMatch(/no such store: .*typo\.sqlite/);
      expect(existsSync(missing), args.join(" ")).toBe(false);
    }
  });
});

describe("two writers on one store", () => {
  it("never mixes responses and labels, never doubles calls, and never crashes on locks or migrations", async () => {
    const server = await scripted({ latencyMs: 20 });
    const store = join(dir, "two.sqlite"); // fresh: both processes race to create and migrate it
    const args = runArgs(server.baseUrl, store, ["--limit", "8", "--concurrency", "2"]);
    const [a, b] = await Promise.all([cliAsync(args), cliAsync(args)]);
    for (const r of [a, b]) {
      expect(r.err).not.toMatch(/database is locked|already exists/);
    }
    // Either one refused (the other held the lease) or one found everything done.
    const codes = [a.code, b.code].sort();
    expect(codes[0]).toBe(0);
    if (codes[1] !== 0) {
      expect(codes[1]).toBe(1);
      expect(`${a.err}${b.err}`).toMatch(/is being written by pid \d+/);
    }
    const s = Store.open(store);
    const run = s.listRuns()[0]!;
    const judgements = s.judgements(run.id, JUDGE);
    expect(judgements).toHaveLength(24);
    for (const j of judgements) expect(j.label).toBe(expectedLabel(s.response(j.itemId)!.response!));
    s.close();
    const subjectCalls = server.requests.filter((r) => (r.body as { model?: string }).model === SUBJECT);
    expect(subjectCalls.length).toBe(24);
  });
});

describe("runs that fail say so", () => {
  it("exits 1 at once, naming the endpoint, when nothing listens (preflight)", async () => {
    const dead = await startFakeOpenAIServer({});
    const url = dead.baseUrl;
    await dead.close();
    const store = join(dir, "refused.sqlite");
    const started = Date.now();
    const res = cli(...runArgs(url, store, ["--limit", "3"]));
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+\/v1.*ECONNREFUSED/);
    expect(res.err).not.toMatch(/retry/);
    expect(Date.now() - started).toBeLessThan(20_000);
    const s = Store.open(store);
    const run = s.listRuns()[0]!;
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/could not start: cannot reach/);
    s.close();
  });

  it("stops after repeated connection failures mid-run instead of burning through every item", async () => {
    const server = await scripted({ subjectFaults: [{ match: "", reply: { fault: "reset" } }] });
    const store = join(dir, "resets.sqlite");
    const config = join(dir, "resets.json");
    writeFileSync(config, JSON.stringify({ retry: { retries: 1, baseDelayMs: 5, maxDelayMs: 20 } }));
    const res = await cliAsync([
      ...runArgs(server.baseUrl, store, ["--limit", "10", "--concurrency", "1"]),
      config,
    ]);
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/run stopped: stopped after 5 items in a row failed to connect/);
    const s = Store.open(store);
    const run = s.listRuns()[0]!;
    expect(run.status).toBe("failed");
    expect(s.progress(run.id).responseErrors).toBe(5);
    s.close();
  });

  it("exits 1 when every verdict failed, and 3 when the run completed with some failures", async () => {
    const all = await scripted({ judgeFormats: [{ match: "", format: "garbage" }] });
    const res = await cliAsync(runArgs(all.baseUrl, join(dir, "judge-fail.sqlite"), ["--limit", "2"]));
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/6 judge failures/);

    const some = await scripted({ judgeFormats: [{ match: "PLAN:", format: "garbage" }] });
    const partial = await cliAsync(runArgs(some.baseUrl, join(dir, "judge-some.sqlite"), ["--limit", "2"]));
    expect(partial.code).toBe(3);
    expect(partial.out).toMatch(/the run has 0 items in error, 2 judge failures/);
  });

  it("marks a run that could not start (missing API key) as failed, with the reason", async () => {
    const server = await scripted();
    const store = join(dir, "nokey.sqlite");
    const res = await cliAsync(
      runArgs(server.baseUrl, store, ["--limit", "2", "--api-key-env", "SB_NOT_SET_ANYWHERE"]),
    );
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/environment variable SB_NOT_SET_ANYWHERE is not set/);
    const runs = cli("runs", "--store", store);
    expect(runs.out).toMatch(/failed\s/);
    expect(runs.out).toMatch(/failed: could not start: .*SB_NOT_SET_ANYWHERE/);
  });
});

describe("a model file that is not a GGUF", () => {
  it("fails the run with the reason instead of leaving it running", async () => {
    const fake = join(dir, "not-a-model.gguf");
    writeFileSync(fake, "this is not a GGUF file\n");
    const store = join(dir, "notgguf.sqlite");
    const res = await cliAsync([
      "run",
      "--data",
      packDir,
      "--model",
      fake,
      "--judge-model",
      fake,
      "--judge-mode",
      "score",
      "--limit",
      "1",
      "--store",
      store,
      "--quiet",
    ]);
    expect(res.code).toBe(1);
    const s = Store.open(store);
    const run = s.listRuns()[0]!;
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/could not start: .*not-a-model/);
    s.close();
  });
});

describe("a local model's chat template can be chosen", () => {
  it("run --chat-template builtin:NAME is used, is part of the run's identity, and a bad name is refused by name", async () => {
    const model = join(repoRoot, "..", "shared", "models", "aidreams260K", "aidreams260K-f32.gguf");
    const store = join(dir, "template.sqlite");
    const base = [
      "run",
      "--data",
      packDir,
      "--model",
      model,
      "--judge-model",
      model,
      "--judge-mode",
      "score",
      "--limit",
      "1",
      "--conditions",
      "baseline",
      "--max-tokens",
      "8",
      "--store",
      store,
      "--quiet",
    ];
    const plain = await cliAsync(base);
    expect(plain.code, plain.err).toBe(0);
    const chatml = await cliAsync([...base, "--chat-template", "builtin:chatml"]);
    expect(chatml.code, chatml.err).toBe(0);
    const s = Store.open(store);
    const runs = s.listRuns();
    expect(runs).toHaveLength(2);
    expect(
      runs.map((r) => (r.config as { models: { chatTemplate?: string }[] }).models[0]!.chatTemplate).sort(),
    ).toEqual(["builtin:chatml", undefined]);
    s.close();
    const bad = await cliAsync([...base, "--chat-template", "builtin:nosuch"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/llama\.cpp has no built-in template "nosuch" \(it has .*chatml/);
  });
});

describe("a sweep's first start", () => {
  it("says starting, not resuming: the run is created by runEvaluation with its kind and record", async () => {
    const { parseRunConfig } = await import("../src/config/run-config.js");
    const { runEvaluation } = await import("../src/runner/run.js");
    const server = await scripted();
    const store = Store.open(join(dir, "sweep-kind.sqlite"));
    const config = parseRunConfig({
      limit: 1,
      conditions: ["baseline"],
      models: [{ model: SUBJECT, baseUrl: server.baseUrl }],
      judges: [{ model: JUDGE, baseUrl: server.baseUrl }],
    });
    const lines: string[] = [];
    const opts = {
      config,
      store,
      packDir,
      kind: "sweep" as const,
      extraConfig: { sweep: { strengths: { baseline: 0 } } },
    };
    const first = await runEvaluation({ ...opts, log: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^starting run /);
    expect(first.run.kind).toBe("sweep");
    expect((first.run.config as { sweep?: unknown }).sweep).toEqual({ strengths: { baseline: 0 } });
    lines.length = 0;
    await runEvaluation({ ...opts, log: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^resuming run /);
    store.close();
  });
});

describe("resume says what changed", () => {
  it("names an endpoint change when a config resumes the same run", async () => {
    const one = await scripted();
    const two = await scripted();
    const store = join(dir, "moved.sqlite");
    const first = cliAsync([...runArgs(one.baseUrl, store, ["--limit", "2"])].filter((a) => a !== "--quiet"));
    expect((await first).code).toBe(0);
    const again = await cliAsync(
      runArgs(two.baseUrl, store, ["--limit", "2", "--name", "renamed"]).filter((a) => a !== "--quiet"),
    );
    expect(again.code).toBe(0);
    expect(again.err).toMatch(
      /resuming run run-\w+ .*same models, conditions, decoding and data; name "renamed" given, run keeps ".*"; model endpoint changed; judge endpoint changed/,
    );
  });
});

describe("stored answers are capped", () => {
  it("stores and judges at most maxResponseChars of a runaway answer, flagged per item", async () => {
    const huge = `PLAN: ${"x".repeat(200_000)}`;
    const server = await startFakeOpenAIServer({
      respond: (req) => {
        const body = req.body as { model: string; messages: { content: string }[] };
        if (body.model === JUDGE) {
          const judged = body.messages.at(-1)!.content;
          return {
            content: JSON.stringify({ decision: "convergence", reason: `saw ${judged.length} chars` }),
          };
        }
        return { content: huge };
      },
    });
    servers.push(server);
    const config = join(dir, "cap.json");
    writeFileSync(
      config,
      JSON.stringify({
        limit: 1,
        conditions: ["baseline"],
        maxResponseChars: 1000,
        models: [{ model: SUBJECT, baseUrl: server.baseUrl }],
        judges: [{ model: JUDGE, baseUrl: server.baseUrl }],
      }),
    );
    const store = join(dir, "cap.sqlite");
    const res = await cliAsync(["run", config, "--data", packDir, "--store", store, "--quiet"]);
    expect(res.code, res.err).toBe(0);
    expect(res.out).toMatch(/flagged items: 1 answers cut to the stored size limit/);
    const s = Store.open(store);
    const run = s.listRuns()[0]!;
    const item = s.items(run.id)[0]!;
    const r = s.response(item.id)!;
    expect(r.response).toHaveLength(1000);
    expect(r.flags).toEqual({ responseTruncated: { chars: huge.length, keptChars: 1000 } });
    const judged = Number(/saw (\d+) chars/.exec(s.judgements(run.id)[0]!.reason!)![1]);
    expect(judged).toBeLessThan(20_000);
    s.close();
  });
});
