// A study run as two shards into two stores against a loopback server, merged with `steerbench merge`:
// the merged run has the id, items, responses and Table 1 of the same study run unsharded. And the
// refusals: an item in two inputs, shards of different studies, a store that is already merged.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerMerge } from "../src/cli/commands/merge.js";
import { parseRunConfig, type RunConfigInput } from "../src/config/run-config.js";
import { buildTable1 } from "../src/metrics/index.js";
import { runEvaluation } from "../src/runner/run.js";
import { MergeError, mergeStores, runIdOf, storedRunIdentity } from "../src/store/merge.js";
import { Store } from "../src/store/store.js";
import type { FakeOpenAIServer } from "./helpers/fake-openai-server.js";
import { JUDGE, SUBJECT, startScriptedEvalServer } from "./helpers/scripted-eval-server.js";
import { packDir } from "./paths.js";

let dir: string;
let server: FakeOpenAIServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-merge-"));
  // Some fenced and prose judge replies, and one scenario that always fails: the merge must carry
  // errors and the judge's raw text over as they are.
  server = await startScriptedEvalServer({
    judgeFormats: [
      { match: "PLAN:", format: "fenced", times: 5 },
      { match: "NEUTRAL:", format: "prose", times: 5 },
    ],
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const study = (extra: Partial<RunConfigInput> = {}) =>
  parseRunConfig({
    selection: "paper",
    limit: 20,
    epochs: 2,
    models: [{ name: "subject", model: SUBJECT, baseUrl: server.baseUrl }],
    judges: [{ name: "judge", model: JUDGE, baseUrl: server.baseUrl }],
    retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 5 },
    concurrency: 8,
    ...extra,
  });

/** Runs a config into a new store file and returns its path and run id. */
async function runInto(
  name: string,
  extra: Partial<RunConfigInput> = {},
): Promise<{ path: string; runId: string }> {
  const path = join(dir, name);
  const store = Store.open(path);
  try {
    const s = await runEvaluation({ config: study(extra), store, packDir });
    return { path, runId: s.run.id };
  } finally {
    store.close();
  }
}

async function mergeCli(out: string, inputs: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerMerge(program);
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    lines.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "steerbench", "merge", out, ...inputs]);
  } finally {
    process.stdout.write = write;
  }
  return lines.join("");
}

function merge(out: string, inputs: string[]): ReturnType<typeof mergeStores> {
  const o = Store.open(out);
  const ins = inputs.map((p) => ({ label: p.slice(dir.length + 1), store: Store.open(p) }));
  try {
    return mergeStores(o, ins);
  } finally {
    o.close();
    for (const i of ins) i.store.close();
  }
}

interface Snapshot {
  keys: string[];
  responses: Array<string | null>;
  labels: Array<string | null>;
}

/** Every item with its response and label, in (model, condition, epoch, scenario) order. */
function snapshot(store: Store, runId: string): Snapshot {
  const key = (i: { model: string; condition: string; scenarioId: string; epoch: number }) =>
    `${i.model}/${i.condition}/${i.epoch}/${i.scenarioId}`;
  const items = store.items(runId).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return {
    keys: items.map((i) => `${key(i)}/${i.seed}/${i.category}/${i.systemPrompt}/${i.userPrompt}`),
    responses: items.map((i) => store.response(i.id)?.response ?? null),
    labels: items.map((i) => store.judgements(runId).find((j) => j.itemId === i.id)?.label ?? null),
  };
}

describe("steerbench merge of shards", () => {
  let shard0: { path: string; runId: string };
  let shard1: { path: string; runId: string };
  let whole: { path: string; runId: string };

  beforeAll(async () => {
    shard0 = await runInto("shard0.sqlite", { shard: { index: 0, count: 2 } });
    shard1 = await runInto("shard1.sqlite", { shard: { index: 1, count: 2 } });
    whole = await runInto("whole.sqlite");
  });

  it("gives one run with the unsharded run's id, items, responses, verdicts and Table 1", async () => {
    expect(new Set([shard0.runId, shard1.runId, whole.runId]).size).toBe(3);
    const a = Store.open(shard0.path);
    const b = Store.open(shard1.path);
    const sizes = [a.countItems(shard0.runId), b.countItems(shard1.runId)];
    a.close();
    b.close();
    expect(sizes[0]! + sizes[1]!).toBe(120);
    expect(Math.min(...sizes)).toBeGreaterThan(30); // both shards really hold a part

    const outPath = join(dir, "merged.sqlite");
    const printed = await mergeCli(outPath, [shard0.path, shard1.path]);
    expect(printed).toContain(`run ${whole.runId}`);
    expect(printed).toMatch(/from 2 of 2 shards: 120 items, 120 responses, 120 judgements, done/);

    const out = Store.open(outPath);
    const ref = Store.open(whole.path);
    try {
      expect(out.listRuns().map((r) => r.id)).toEqual([whole.runId]);
      const merged = out.getRun(whole.runId)!;
      expect(merged.status).toBe("done");
      expect((merged.config as { shard: unknown }).shard).toBeNull();
      expect(out.progress(whole.runId)).toEqual(ref.progress(whole.runId));
      expect(snapshot(out, whole.runId)).toEqual(snapshot(ref, whole.runId));
      // Blocks (model, condition, epoch) come in plan order; within a block each shard's order is kept.
      const block = (i: { model: string; condition: string; epoch: number }) =>
        `${i.model}/${i.condition}/${i.epoch}`;
      const blocks = (s: Store) => [...new Set(s.items(whole.runId).map(block))];
      expect(blocks(out)).toEqual(blocks(ref));
      const shardOrder = (path: string, runId: string) => {
        const s = Store.open(path);
        const ids = s.items(runId).map((i) => `${block(i)}/${i.scenarioId}`);
        s.close();
        return ids;
      };
      const order = out.items(whole.runId).map((i) => `${block(i)}/${i.scenarioId}`);
      for (const part of [shardOrder(shard0.path, shard0.runId), shardOrder(shard1.path, shard1.runId)]) {
        expect(order.filter((k) => part.includes(k))).toEqual(part);
      }
      const table = buildTable1(out.outcomes(whole.runId, "judge"));
      expect(table).toEqual(buildTable1(ref.outcomes(whole.runId, "judge")));
      expect(table.rows).toHaveLength(3);
      // the judge's raw replies came along unchanged (fenced and prose ones included)
      const raws = out.judgements(whole.runId).map((j) => j.raw ?? "");
      expect(raws.some((r) => r.startsWith("```json"))).toBe(true);
      // cached judge replies came along too: re-judging the merged run would make no call
      const db = new Database(outPath, { readonly: true });
      const cached = (db.prepare("SELECT COUNT(*) AS n FROM judge_cache").get() as { n: number }).n;
      db.close();
      expect(cached).toBeGreaterThan(0);
    } finally {
      out.close();
      ref.close();
    }
  });

  it("resuming the merged study against the merged store makes no call", async () => {
    const outPath = join(dir, "merged-resume.sqlite");
    merge(outPath, [shard0.path, shard1.path]);
    const before = server.count();
    const store = Store.open(outPath);
    const s = await runEvaluation({ config: study(), store, packDir });
    store.close();
    expect(s.resumed).toBe(true);
    expect(s.run.id).toBe(whole.runId);
    expect(s.generated + s.judged).toBe(0);
    expect(server.count()).toBe(before);
  });

  it("marks a merge with a missing shard incomplete", () => {
    const result = merge(join(dir, "half.sqlite"), [shard0.path]);
    expect(result.runs[0]).toMatchObject({
      id: whole.runId,
      status: "interrupted",
      shards: { count: 2, missing: [1] },
    });
  });

  it("refuses an item that is in two inputs, naming it and both stores", () => {
    const copy = join(dir, "shard0-copy.sqlite");
    copyFileSync(shard0.path, copy);
    const out = join(dir, "dup.sqlite");
    expect(() => merge(out, [shard0.path, copy])).toThrow(
      /item subject\/\w+\/[\w-]+\/epoch \d is in both shard0\.sqlite \(run run-\w+\) and shard0-copy\.sqlite/,
    );
    // nothing was written
    const o = Store.open(out);
    expect(o.listRuns()).toHaveLength(0);
    o.close();
  });

  it("refuses shards of different studies, naming the differing key", async () => {
    const otherModel = await runInto("other-model.sqlite", {
      shard: { index: 1, count: 2 },
      models: [{ name: "subject", model: "another-model", baseUrl: server.baseUrl }],
    });
    expect(() => merge(join(dir, "x1.sqlite"), [shard0.path, otherModel.path])).toThrow(
      /not shards of the same study: models\[0\]\.model differs \("another-model" vs "subject-model"\)/,
    );
    const otherJudge = await runInto("other-judge.sqlite", {
      shard: { index: 1, count: 2 },
      judges: [{ name: "judge", model: JUDGE, baseUrl: server.baseUrl, prompt: "instrumentaleval" }],
    });
    expect(() => merge(join(dir, "x2.sqlite"), [shard0.path, otherJudge.path])).toThrow(
      /judges\[0\]\.prompt differs/,
    );
    const otherConditions = await runInto("other-cond.sqlite", {
      shard: { index: 1, count: 2 },
      conditions: ["baseline", "pro_ic"],
    });
    expect(() => merge(join(dir, "x3.sqlite"), [shard0.path, otherConditions.path])).toThrow(
      /conditions differs \(2 entries vs 3 entries\)/,
    );
    const otherCount = await runInto("other-count.sqlite", { shard: { index: 1, count: 3 } });
    expect(() => merge(join(dir, "x4.sqlite"), [shard0.path, otherCount.path])).toThrow(
      /shard counts differ/,
    );
  });

  it("refuses shards made from different benchmark data, naming dataHash", () => {
    // Fault injection: the same shard as if it had been run on other data (re-keyed consistently).
    const path = join(dir, "other-data.sqlite");
    copyFileSync(shard1.path, path);
    const s = Store.open(path);
    const run = s.getRun(shard1.runId)!;
    const config = { ...(run.config as Record<string, unknown>), dataHash: "0".repeat(64) };
    const newId = runIdOf(storedRunIdentity(config, { index: 1, count: 2 }));
    s.close();
    const db = new Database(path);
    db.pragma("foreign_keys = OFF");
    db.prepare("UPDATE runs SET id = ?, config_json = ?, data_hash = ? WHERE id = ?").run(
      newId,
      JSON.stringify(config),
      "0".repeat(64),
      run.id,
    );
    db.prepare("UPDATE items SET run_id = ? WHERE run_id = ?").run(newId, run.id);
    db.close();
    expect(() => merge(join(dir, "x5.sqlite"), [shard0.path, path])).toThrow(/dataHash differs/);
  });

  it("refuses a run whose stored config does not give back its id, and a run already in the output", () => {
    const path = join(dir, "tampered.sqlite");
    copyFileSync(shard1.path, path);
    const s = Store.open(path);
    const run = s.getRun(shard1.runId)!;
    s.updateRunConfig(run.id, { ...(run.config as Record<string, unknown>), epochs: 3 });
    s.close();
    expect(() => merge(join(dir, "x6.sqlite"), [shard0.path, path])).toThrow(/does not give back its id/);

    const out = join(dir, "twice.sqlite");
    merge(out, [shard0.path, shard1.path]);
    expect(() => merge(out, [shard0.path, shard1.path])).toThrow(MergeError);
    expect(() => merge(out, [shard0.path, shard1.path])).toThrow(/already in/);
  });

  it("the CLI refuses a missing input file instead of creating it", async () => {
    await expect(mergeCli(join(dir, "y.sqlite"), [join(dir, "nope.sqlite")])).rejects.toThrow(
      /does not exist/,
    );
  });
});
