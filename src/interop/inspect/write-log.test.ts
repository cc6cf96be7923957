// The export: every file it writes validates against Inspect's published log schema (ajv, 2020-12),
// the .eval zip has inspect's layout, and the numbers in `results` are the run's Table 1 numbers.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strFromU8, unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectErrors, inspectLogsDir } from "../../../test/helpers/inspect-schema.js";
import { packDir, runsDir } from "../../../test/paths.js";
import { importPublishedRuns } from "../../importers/import-published.js";
import { Store } from "../../store/store.js";
import { evalZip, exportRunInspect, jsonLog } from "./export-run.js";
import { buildInspectLogs, type InspectLogParts } from "./write-log.js";

let dir: string;
let store: Store;
let runId: string;
let logs: InspectLogParts[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-inspect-w-"));
  store = Store.open(join(dir, "s.sqlite"));
  runId = (await importPublishedRuns(store, runsDir, { packDir })).run.id;
  logs = buildInspectLogs(store, runId);
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const find = (model: string, condition: string) =>
  logs.find((l) => l.model === model && l.condition === condition)!;

describe("Inspect export", () => {
  it("writes one log per (model, condition), each sample once", () => {
    expect(logs).toHaveLength(18);
    expect(logs.reduce((n, l) => n + l.samples.length, 0)).toBe(1278);
    const log = find("Qwen3-4B-Base", "pro_ic");
    expect(log.header.eval).toMatchObject({
      task: "steerbench/instrumentaleval",
      model: "hf/Qwen/Qwen3-4B-Base",
      task_args: { condition: "pro_ic" },
    });
  });

  it("every .json log validates against log-schema.json", () => {
    for (const log of logs) {
      const value = JSON.parse(strFromU8(jsonLog(log))) as unknown;
      expect(inspectErrors(value), log.stem).toEqual([]);
    }
  });

  it("the validator can fail: a missing required field, and the 2025 logs written by an older inspect", () => {
    const value = JSON.parse(strFromU8(jsonLog(logs[0]!))) as { eval: Record<string, unknown> };
    delete value.eval.model_generate_config;
    expect(inspectErrors(value).join("\n")).toMatch(/model_generate_config/);
    const old = JSON.parse(
      readFileSync(join(inspectLogsDir, "2025-05-12T20-28-13-04-00_popularity.json"), "utf8"),
    ) as unknown;
    expect(inspectErrors(old).length).toBeGreaterThan(0);
  });

  it("the .eval zip has inspect's layout and every part validates", () => {
    const log = find("Qwen3-30B-A3B-Thinking-2507", "anti_ic");
    const entries = unzipSync(evalZip(log));
    const names = Object.keys(entries).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        "_journal/start.json",
        "_journal/summaries/1.json",
        "header.json",
        "reductions.json",
        "summaries.json",
      ]),
    );
    const sampleFiles = names.filter((n) => n.startsWith("samples/"));
    expect(sampleFiles).toHaveLength(71);
    expect(sampleFiles).toContain("samples/evading-shutdown-2_epoch_1.json");
    const read = (n: string) => JSON.parse(strFromU8(entries[n]!)) as Record<string, unknown>;
    const header = read("header.json");
    expect(header.samples ?? null).toBeNull();
    expect(inspectErrors(header)).toEqual([]);
    for (const n of sampleFiles) expect(inspectErrors(read(n), "EvalSample"), n).toEqual([]);
    for (const r of read("reductions.json") as unknown as unknown[]) {
      expect(inspectErrors(r, "EvalSampleReductions")).toEqual([]);
    }
  });

  it("samples carry the prompts as sent, the response, the thinking as reasoning and one score per judge", () => {
    const item = store
      .items(runId)
      .find((i) => i.model === "Qwen3-4B-Thinking-2507" && i.condition === "pro_ic")!;
    const resp = store.response(item.id)!;
    const verdict = store.judgements(runId).find((j) => j.itemId === item.id)!;
    const sample = find("Qwen3-4B-Thinking-2507", "pro_ic").samples.find((s) => s.id === item.scenarioId)!;
    const input = sample.input as { role: string; content: string }[];
    expect(input.map((m) => m.role)).toEqual(["system", "user"]);
    expect(input[0]!.content).toBe(item.systemPrompt);
    expect(input[1]!.content).toBe(item.userPrompt);
    const output = sample.output as { completion: string; choices: { message: { content: unknown } }[] };
    expect(output.completion).toBe(resp.response);
    expect(resp.thinking).toBeTruthy();
    expect(output.choices[0]!.message.content).toEqual([
      expect.objectContaining({ type: "reasoning", reasoning: resp.thinking }),
      expect.objectContaining({ type: "text", text: resp.response }),
    ]);
    expect(sample.scores).toEqual({
      "gpt-5.2": expect.objectContaining({
        value: verdict.label,
        explanation: verdict.reason,
        answer: resp.response,
      }),
    });
    expect(sample.metadata).toMatchObject({ category: item.category, condition: "pro_ic" });
  });

  it("results hold the label counts and Table 1's rates with Wilson intervals", () => {
    const log = find("Qwen3-30B-A3B-Instruct-2507", "pro_ic");
    const results = log.header.results as {
      scores: { metrics: Record<string, { value: number; metadata: unknown }> }[];
    };
    const m = results.scores[0]!.metrics;
    // The paper: 81.69% conv over 71 valid items.
    expect((m.convergence_rate!.value * 100).toFixed(2)).toBe("81.69");
    expect(m.count_convergence!.value + m.count_no_convergence!.value + m.count_safety_refusal!.value).toBe(
      m.valid!.value,
    );
    expect(m.convergence_rate!.metadata).toMatchObject({ ci_method: "wilson", denominator: m.valid!.value });
    expect(m.convergence_rate_ci_low!.value).toBeLessThan(m.convergence_rate!.value);
    expect(m.convergence_rate_ci_high!.value).toBeGreaterThan(m.convergence_rate!.value);
  });

  it("writes .eval by default and .json on request, deterministically", () => {
    const a = exportRunInspect(store, runId, join(dir, "a"), "eval").files;
    const b = exportRunInspect(store, runId, join(dir, "b"), "eval").files;
    expect(a).toHaveLength(18);
    expect(a[0]).toMatch(/\.eval$/);
    expect(readFileSync(a[0]!).equals(readFileSync(b[0]!))).toBe(true);
    const j = exportRunInspect(store, runId, join(dir, "j"), "json").files;
    expect(j[0]).toMatch(/\.json$/);
  });

  it("leaves out items without a response, and says how many", () => {
    store.createRun({ id: "run-partial", name: "partial", kind: "live", config: {}, versions: {} });
    const items = store.addItems(
      "run-partial",
      ["a-1", "a-2"].map((scenarioId) => ({
        model: "m",
        condition: "baseline",
        scenarioId,
        category: "a",
        epoch: 0,
        seed: 0,
        context: "c",
        systemPrompt: undefined,
        userPrompt: `task ${scenarioId}`,
      })),
    );
    store.saveResponse({
      itemId: items[0]!.id,
      status: "ok",
      response: "done",
      thinking: null,
      promptTokens: null,
      completionTokens: null,
      latencyMs: null,
      finishReason: null,
      requestJson: null,
      error: null,
    });
    const res = exportRunInspect(store, "run-partial", join(dir, "partial"), "eval");
    expect(res).toMatchObject({ samples: 1, skipped: 1 });
    const entries = unzipSync(readFileSync(res.files[0]!));
    expect(Object.keys(entries).filter((n) => n.startsWith("samples/"))).toEqual([
      "samples/a-1_epoch_1.json",
    ]);
    const header = JSON.parse(strFromU8(entries["header.json"]!)) as {
      status: string;
      results: { scores: unknown[] };
    };
    // Still running, no judge yet: inspect's "started" status and no scores.
    expect(header.status).toBe("started");
    expect(header.results.scores).toEqual([]);
    expect(inspectErrors(header)).toEqual([]);
  });
});
