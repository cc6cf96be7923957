// Several judges end to end: the published runs imported into a real SQLite store, two judges served
// over HTTP by the loopback fake server with scripted replies that differ on known items, the
// judge-only pass, then per-judge Table 1, the majority-vote consensus, κ, and judge-check with two
// judge-prompt variants (prompt sensitivity).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { judgeSchema } from "../src/config/run-config.js";
import { readProtocolStrings } from "../src/data/protocol-strings.js";
import { importPublishedRuns } from "../src/importers/import-published.js";
import { buildTable1, type Table1 } from "../src/metrics/index.js";
import { buildJudgeMessages } from "../src/protocol/judge-prompts.js";
import { estimateJudgeWork } from "../src/reliability/estimate.js";
import { judgeCheck, planCandidates } from "../src/reliability/judge-check.js";
import { agreementReport, CONSENSUS, outcomesFor } from "../src/reliability/multi-judge.js";
import { judgeRun } from "../src/runner/judge-run.js";
import { Store, type StoredOutcome } from "../src/store/store.js";
import type { Label, ProtocolStrings } from "../src/types.js";
import {
  type FakeOpenAIServer,
  judgeReplyText,
  startFakeOpenAIServer,
} from "./helpers/fake-openai-server.js";
import { packDir, runsDir } from "./paths.js";

const REF = "gpt-5.2";
/** The first three imported folders: one model (Qwen3-30B-A3B-Base) under all three conditions. */
const LIMIT = 213;

let dir: string;
let store: Store;
let runId: string;
let strings: ProtocolStrings;
let server: FakeOpenAIServer;
let reference: StoredOutcome[];
/** Items judge-two labels differently (flips convergence → no_convergence) and answers garbage for. */
let flipped: Set<number>;
let garbage: Set<number>;
/** Expected user message (either prompt) → item id. */
const byMessage = new Map<string, number>();

const refLabel = (itemId: number): Label => reference.find((o) => o.itemId === itemId)!.label!;

function judgeTwoLabel(itemId: number): Label | "garbage" {
  if (garbage.has(itemId)) return "garbage";
  if (flipped.has(itemId)) return "no_convergence";
  return refLabel(itemId);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "steerbench-judges-"));
  store = Store.open(join(dir, "store.sqlite"));
  runId = (await importPublishedRuns(store, runsDir)).run.id;
  strings = await readProtocolStrings(join(packDir, "protocol_strings.json"));
  const items = store.items(runId).slice(0, LIMIT);
  const ids = new Set(items.map((i) => i.id));
  reference = store.outcomes(runId, REF).filter((o) => ids.has(o.itemId));
  expect(new Set(reference.map((o) => o.model)).size).toBe(1);
  expect(reference.every((o) => o.label !== undefined)).toBe(true);

  const proConverging = reference.filter((o) => o.condition === "pro_ic" && o.label === "convergence");
  flipped = new Set(proConverging.slice(0, 5).map((o) => o.itemId));
  garbage = new Set(
    reference
      .filter((o) => o.condition === "baseline")
      .slice(0, 3)
      .map((o) => o.itemId),
  );

  for (const item of items) {
    const response = store.response(item.id)!.response ?? "";
    for (const prompt of ["paper", "instrumentaleval"] as const) {
      const user = buildJudgeMessages(
        prompt,
        { context: item.context, prompt: item.userPrompt, response },
        strings,
      )[1]!.content;
      expect(byMessage.has(user)).toBe(false); // every request names its item unambiguously
      byMessage.set(user, item.id);
    }
  }

  server = await startFakeOpenAIServer({
    respond: (req) => {
      const body = req.body as { model: string; messages: { role: string; content: string }[] };
      const itemId = byMessage.get(body.messages[1]!.content);
      if (itemId === undefined) return { status: 400, body: { error: { message: "unknown item" } } };
      if (body.model === "judge-one") return { content: judgeReplyText("json", refLabel(itemId)) };
      if (body.model === "judge-two") {
        const label = judgeTwoLabel(itemId);
        return { content: judgeReplyText(label === "garbage" ? "garbage" : "json", label) };
      }
      // judge-var: the paper prompt gets the reference label; the 2-label prompt folds the others into no_convergence
      const original = body.messages[1]!.content.startsWith("Analyze this case");
      const label = refLabel(itemId);
      if (!original) return { content: judgeReplyText("json", label) };
      return { content: judgeReplyText("lines", label === "convergence" ? "convergence" : "no_convergence") };
    },
  });

  const judges = ["judge-one", "judge-two"].map((model) =>
    judgeSchema.parse({ model, baseUrl: server.baseUrl, retries: 1 }),
  );
  const summary = await judgeRun({ store, runId, judges, strings, limit: LIMIT, concurrency: 8 });
  expect(summary).toMatchObject({ items: LIMIT, judged: 2 * LIMIT, failures: garbage.size, errors: 0 });
}, 60_000);

afterAll(async () => {
  await server?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Table 1 of the one model in the judged range. */
function rowsOf(table: Table1, model: string) {
  return {
    rows: table.rows.filter((r) => r.model === model),
    gaps: table.gaps.filter((g) => g.model === model),
  };
}

describe("two scripted judges over the published responses", () => {
  it("stores each judge's verdicts, with judge-two's garbage replies as failures", () => {
    const one = store.outcomes(runId, "judge-one");
    const two = store.outcomes(runId, "judge-two");
    expect(one.map((o) => o.label)).toEqual(reference.map((o) => o.label));
    expect(
      two
        .filter((o) => o.judgeFailed)
        .map((o) => o.itemId)
        .sort(),
    ).toEqual([...garbage].sort());
    expect(two.filter((o) => flipped.has(o.itemId)).every((o) => o.label === "no_convergence")).toBe(true);
  });

  it("is resumable: a second pass makes no request", async () => {
    const before = server.count();
    const judges = ["judge-one", "judge-two"].map((model) =>
      judgeSchema.parse({ model, baseUrl: server.baseUrl }),
    );
    const again = await judgeRun({ store, runId, judges, strings, limit: LIMIT });
    expect(again.judged).toBe(0);
    expect(server.count()).toBe(before);
  });

  it("reports per-judge Table 1, agreement, κ and the consensus", () => {
    const report = agreementReport(store, runId, {
      judges: ["judge-one", "judge-two"],
      tie: "fail",
      replicates: 200,
    });
    const model = reference[0]!.model;
    expect(report.items).toBe(LIMIT);
    const refTable = buildTable1(reference);
    expect(rowsOf(report.perJudge[0]!.table, model)).toEqual(rowsOf(refTable, model));
    const expectedTwo = reference.map((o) => {
      const l = judgeTwoLabel(o.itemId);
      return { ...o, label: l === "garbage" ? undefined : l, judgeFailed: l === "garbage" };
    });
    expect(rowsOf(report.perJudge[1]!.table, model)).toEqual(rowsOf(buildTable1(expectedTwo), model));
    // judge-two's pro_ic Conv% is lower by exactly the 5 flipped items
    const pro = (t: Table1) => t.rows.find((r) => r.condition === "pro_ic")!;
    expect(pro(report.perJudge[0]!.table).convergence - pro(report.perJudge[1]!.table).convergence).toBe(5);

    // agreement over the items both labelled: all but the garbage ones; they differ on the flipped ones
    const pair = report.pairs[0]!;
    const n = LIMIT - garbage.size;
    expect(pair.agreement).toMatchObject({ n, excluded: garbage.size, agree: n - flipped.size });
    // Cohen's κ from the confusion matrix, computed here from scratch
    const counts = pair.confusion.counts;
    const po = counts.reduce((s, row, i) => s + row[i]!, 0) / n;
    const pe = counts.reduce(
      (s, row, i) => s + (row.reduce((a, b) => a + b, 0) / n) * (counts.reduce((a, r) => a + r[i]!, 0) / n),
      0,
    );
    expect(pair.kappa.kappa).toBeCloseTo((po - pe) / (1 - pe), 12);
    expect(pair.kappa.kappa!).toBeLessThan(1);
    expect(counts[0]![1]).toBe(flipped.size); // convergence (judge-one) → no_convergence (judge-two)

    // two judges: the flipped items tie and fail; judge-two's failures leave judge-one's vote alone
    expect(report.consensus).toMatchObject({ ties: flipped.size, failed: flipped.size });
  });

  it("gives the reference labels as consensus of the reference and the two judges", () => {
    const consensus = outcomesFor(store, runId, CONSENSUS, { judges: [REF, "judge-one", "judge-two"] });
    const inRange = consensus.filter((o) => reference.some((r) => r.itemId === o.itemId));
    expect(inRange.map((o) => o.label)).toEqual(reference.map((o) => o.label));
    const report = agreementReport(store, runId, {
      judges: [REF, "judge-one", "judge-two"],
      replicates: 200,
    });
    expect(report.all).toMatchObject({ n: LIMIT - garbage.size, agree: LIMIT - garbage.size - flipped.size });
    expect(report.fleiss.kappa!).toBeGreaterThan(0.9);
    expect(report.fleiss.kappa!).toBeLessThan(1);
  });
});

describe("judge-check with two judge-prompt variants", () => {
  it("estimates, judges each variant under its own name and reports the spread", async () => {
    const candidates = planCandidates({
      provider: "openai",
      model: "judge-var",
      baseUrl: server.baseUrl,
      prompts: ["paper", "instrumentaleval"],
    });
    expect(candidates.map((c) => c.planned.name)).toEqual(["judge-var/paper", "judge-var/instrumentaleval"]);
    const estimate = estimateJudgeWork({
      store,
      runId,
      judges: candidates.map((c) => c.planned),
      strings,
      limit: LIMIT,
      concurrency: 4,
      latencyMs: 1000,
    });
    expect(estimate.calls).toBe(2 * LIMIT);
    expect(estimate.seconds).toBe(Math.ceil((2 * LIMIT) / 4));

    const result = await judgeCheck({
      store,
      runId,
      reference: REF,
      candidates,
      strings,
      limit: LIMIT,
      concurrency: 8,
    });
    const [paper, original] = result.comparisons;
    expect(paper!).toMatchObject({ items: LIMIT, candidateFailed: 0 });
    expect(paper!.agreement.rate).toBe(1);
    expect(paper!.error.maxAbsConvergence).toBe(0);
    // the 2-label variant can only miss safety_refusal and nonsensical items
    const missable = reference.filter(
      (o) => o.label === "safety_refusal" || o.label === "nonsensical",
    ).length;
    expect(original!.agreement.agree).toBe(LIMIT - missable);
    expect(original!.perLabel.find((l) => l.label === "convergence")!.recall).toBe(1);

    const s = result.sensitivity!;
    expect(s.variants).toEqual(["judge-var/paper", "judge-var/instrumentaleval"]);
    for (const row of s.rows) {
      const [a, b] = row.convergence.values;
      expect(row.convergence.range).toBeCloseTo(Math.abs(a! - b!), 10);
      expect(a).toBeCloseTo(row.reference.convergence!, 10);
    }
    expect(s.maxConvergenceRange).toBeGreaterThanOrEqual(0);

    // resumable: the same check again makes no request
    const before = server.count();
    const again = await judgeCheck({ store, runId, reference: REF, candidates, strings, limit: LIMIT });
    expect(again.summary.judged).toBe(0);
    expect(server.count()).toBe(before);
  });
});
