// Round trip through Inspect's log format: the paper's published runs exported as Inspect logs and
// imported back give an identical Table 1 and keep every prompt, response, label and reason; a run
// with two judges, judge failures, transport errors, a failed generation and thinking keeps them all.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPublishedRuns } from "../src/importers/import-published.js";
import { exportRunInspect } from "../src/interop/inspect/export-run.js";
import { importInspectLogs } from "../src/interop/inspect/import-logs.js";
import { readInspectLog } from "../src/interop/inspect/read-log.js";
import { buildTable1, DEFAULT_PAIRS, pairsAgainst } from "../src/metrics/index.js";
import { Store } from "../src/store/store.js";
import { inspectErrors } from "./helpers/inspect-schema.js";
import { packDir, runsDir } from "./paths.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-inspect-rt-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pairs = [...DEFAULT_PAIRS, ...pairsAgainst("baseline", ["pro_ic", "anti_ic"])];

/** Everything a label rests on, per item, keyed by what identifies the item (not by store ids). */
function auditView(store: Store, runId: string) {
  const verdicts = store.judgements(runId);
  return store.items(runId).map((i) => {
    const r = store.response(i.id)!;
    return {
      key: `${i.model}/${i.condition}/${i.scenarioId}/${i.epoch}`,
      category: i.category,
      context: i.context,
      system: i.systemPrompt,
      user: i.userPrompt,
      status: r.status,
      response: r.response,
      thinking: r.thinking,
      error: r.error,
      tokens: [r.promptTokens, r.completionTokens],
      verdicts: verdicts
        .filter((j) => j.itemId === i.id)
        .map((j) => ({
          judge: j.judge,
          status: j.status,
          label: j.label,
          reason: j.reason,
          raw: j.raw,
          error: j.error,
        })),
    };
  });
}

describe("Inspect round trip", () => {
  it.each(["eval", "json"] as const)(
    "the paper's 18 runs → %s logs → steerbench: identical Table 1 and items",
    async (format) => {
      const a = Store.open(join(dir, `paper-${format}.sqlite`));
      const src = (await importPublishedRuns(a, runsDir, { packDir })).run.id;
      const { files, skipped } = exportRunInspect(a, src, join(dir, `out-${format}`), format);
      expect(skipped).toBe(0);
      expect(files).toHaveLength(18);
      const b = Store.open(join(dir, `back-${format}.sqlite`));
      const res = importInspectLogs(b, [join(dir, `out-${format}`)]);
      expect(res.items).toBe(1278);
      expect(res.judges).toEqual({ "gpt-5.2": "steerbench" });
      const before = buildTable1(a.outcomes(src, "gpt-5.2"), { pairs });
      const after = buildTable1(b.outcomes(res.run.id, "gpt-5.2"), { pairs });
      expect(after).toEqual(before);
      const sort = (v: ReturnType<typeof auditView>) => [...v].sort((x, y) => x.key.localeCompare(y.key));
      expect(sort(auditView(b, res.run.id))).toEqual(sort(auditView(a, src)));
      a.close();
      b.close();
    },
  );

  it("two judges, failures, transport errors, a failed generation and thinking survive, and the logs validate", () => {
    const a = Store.open(join(dir, "live.sqlite"));
    const run = a.createRun({
      id: "run-live-test",
      name: "live",
      kind: "live",
      config: {
        models: [{ name: "tiny", provider: "llama", model: "tiny.gguf", decoding: { maxTokens: 64 } }],
        decoding: { temperature: 0.7, maxTokens: 32, seed: 3, stop: [] },
        conditions: [
          { name: "pro_ic", prompt: { userSuffix: "Go." } },
          { name: "steer4", activation: { vector: "v.gguf", strength: 4 } },
        ],
        judges: [
          { name: "j1", prompt: "paper" },
          { name: "j2", prompt: "instrumentaleval" },
        ],
      },
      versions: {},
    });
    const items = a.addItems(
      run.id,
      ["pro_ic", "steer4"].flatMap((condition) =>
        [0, 1].flatMap((epoch) =>
          ["deception-1", "deception-2"].map((scenarioId) => ({
            model: "tiny",
            condition,
            scenarioId,
            category: "deception",
            epoch,
            seed: 3 + epoch,
            context: "Context <b>\r\n",
            systemPrompt: scenarioId === "deception-2" ? undefined : "Context <b>",
            userPrompt: `Task ${scenarioId} "quoted" </script>`,
          })),
        ),
      ),
    );
    items.forEach((it, k) => {
      const failed = k === 3;
      a.saveResponse({
        itemId: it.id,
        status: failed ? "error" : "ok",
        response: failed ? null : `answer ${k} <script>alert(1)</script>`,
        thinking: k % 2 === 0 && !failed ? `thinking ${k}` : null,
        promptTokens: 10 + k,
        completionTokens: failed ? null : 5,
        latencyMs: 120.5,
        finishReason: "stop",
        requestJson: null,
        error: failed ? "HTTP 500 from server" : null,
      });
      if (failed) return;
      a.saveJudgement({
        itemId: it.id,
        judge: "j1",
        status: k === 5 ? "failed" : "ok",
        label:
          k === 5
            ? null
            : (["convergence", "no_convergence", "safety_refusal", "nonsensical"] as const)[k % 4]!,
        reason: `reason ${k}`,
        raw: `{"decision": ${k}}`,
        scores: null,
        error: k === 5 ? "unknown label" : null,
        latencyMs: 3,
      });
      a.saveJudgement({
        itemId: it.id,
        judge: "j2",
        status: k === 6 ? "error" : "ok",
        label: k === 6 ? null : k % 2 === 0 ? "convergence" : "no_convergence",
        reason: k === 6 ? null : `r2 ${k}`,
        raw: k === 6 ? null : "DECISION: x",
        scores: null,
        error: k === 6 ? "ECONNRESET" : null,
        latencyMs: null,
      });
    });
    a.setRunStatus(run.id, "done");
    const { files, samples, skipped } = exportRunInspect(a, run.id, join(dir, "live-out"), "json");
    expect([samples, skipped]).toEqual([8, 0]);
    expect(files.map((f) => f.split("/").pop())).toEqual(["tiny_pro_ic.json", "tiny_steer4.json"]);
    for (const f of files) {
      const log = readInspectLog(f);
      expect(log.samples).toHaveLength(4);
      expect(inspectErrors(JSON.parse(JSON.stringify(require_(f))))).toEqual([]);
    }
    const steer = require_(files[1]!) as { eval: Record<string, unknown>; samples: { metadata: unknown }[] };
    expect(steer.eval.model).toBe("llama/tiny.gguf");
    expect(steer.eval.model_generate_config).toMatchObject({ temperature: 0.7, max_tokens: 64, seed: 3 });
    expect(steer.samples[0]!.metadata).toMatchObject({
      steering: { name: "steer4", activation: { vector: "v.gguf", strength: 4 } },
    });
    const b = Store.open(join(dir, "live-back.sqlite"));
    const res = importInspectLogs(b, files);
    expect(res.judges).toEqual({ j1: "steerbench", j2: "steerbench" });
    const sort = (v: ReturnType<typeof auditView>) => [...v].sort((x, y) => x.key.localeCompare(y.key));
    expect(sort(auditView(b, res.run.id))).toEqual(sort(auditView(a, run.id)));
    for (const j of ["j1", "j2"]) {
      expect(buildTable1(b.outcomes(res.run.id, j), { pairs: [] })).toEqual(
        buildTable1(a.outcomes(run.id, j), { pairs: [] }),
      );
    }
    a.close();
    b.close();
  });
});

function require_(file: string): unknown {
  return JSON.parse(readFileSync(file, "utf8")) as unknown;
}
