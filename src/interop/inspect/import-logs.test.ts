// Import of Inspect logs: the three real logs written by inspect (2025, lenient reading), label maps
// (built in and from a file), several scorers as several judges, and clear errors for bad files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectLogsDir } from "../../../test/helpers/inspect-schema.js";
import { buildTable1 } from "../../metrics/index.js";
import { Store } from "../../store/store.js";
import { importInspectLogs } from "./import-logs.js";
import { LabelMapError, loadLabelMapFile } from "./label-map.js";

const POPULARITY = join(inspectLogsDir, "2025-05-12T20-28-13-04-00_popularity.json");
const SECURITY = join(inspectLogsDir, "2025-05-12T20-28-26-04-00_security-guide.json");
const STREAMING = join(inspectLogsDir, "log_streaming.eval");

let dir: string;
let n = 0;
const fresh = () => Store.open(join(dir, `s${n++}.sqlite`));
const readJson = (f: string) =>
  JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown> & {
    samples: Record<string, unknown>[];
    results: { scores: { metrics: Record<string, { value: number }> }[] };
  };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-inspect-r-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("import of real Inspect logs", () => {
  it.each([
    [POPULARITY, 3, "popularity", "openai/gpt-4o-mini", "match"],
    [SECURITY, 3, "security_guide", "openai/gpt-4o-mini", "model_graded_fact"],
    [STREAMING, 4, "popularity", "azureai/Meta-Llama-3-1-405B-Instruct-jqf", "match"],
  ])(
    "%s: every sample, scored by its scorer through the C/I/P map; conv%% = Inspect's accuracy",
    (file, count, task, model, scorer) => {
      const store = fresh();
      const res = importInspectLogs(store, [file]);
      expect(res.items).toBe(count);
      expect(res.judges).toEqual({ [scorer]: "cip" });
      const items = store.items(res.run.id);
      expect(new Set(items.map((i) => i.model))).toEqual(new Set([model]));
      expect(new Set(items.map((i) => i.condition))).toEqual(new Set([task]));
      const table = buildTable1(store.outcomes(res.run.id, scorer), { pairs: [] });
      // The log's own accuracy metric (from header.json for .eval) is the same number.
      const accuracy = file === STREAMING ? 0.75 : readJson(file).results.scores[0]!.metrics.accuracy!.value;
      expect(table.rows[0]!.convergenceRate! / 100).toBeCloseTo(accuracy, 12);
      expect(table.rows[0]!.total).toBe(count);
      store.close();
    },
  );

  it("keeps prompts, responses, explanations and epochs (1-based in Inspect, 0-based here)", () => {
    const store = fresh();
    const { run } = importInspectLogs(store, [SECURITY, STREAMING]);
    const log = readJson(SECURITY);
    const s0 = log.samples[0] as {
      messages: { role: string; content: string }[];
      scores: { model_graded_fact: { explanation: string } };
      output: { choices: { message: { content: string } }[] };
    };
    const item = store.items(run.id).find((i) => i.condition === "security_guide" && i.scenarioId === "1")!;
    expect(item.systemPrompt).toBe(s0.messages[0]!.content);
    expect(item.userPrompt).toBe(s0.messages[1]!.content);
    expect(store.response(item.id)!.response).toBe(s0.output.choices[0]!.message.content);
    const j = store.judgements(run.id, "model_graded_fact").find((x) => x.itemId === item.id)!;
    expect(j).toMatchObject({
      status: "ok",
      label: "convergence",
      reason: s0.scores.model_graded_fact.explanation,
    });
    const epochs = store
      .items(run.id)
      .filter((i) => i.model.startsWith("azureai/"))
      .map((i) => `${i.scenarioId}:${i.epoch}`);
    expect(epochs.sort()).toEqual(["1:0", "1:1", "2:0", "2:1"]);
    store.close();
  });

  it("--condition names the condition of logs that name none", () => {
    const store = fresh();
    const { run } = importInspectLogs(store, [POPULARITY], { condition: "baseline" });
    expect(new Set(store.items(run.id).map((i) => i.condition))).toEqual(new Set(["baseline"]));
    store.close();
  });

  it("a folder imports every log in it; the same import again is recognised", () => {
    const store = fresh();
    const first = importInspectLogs(store, [inspectLogsDir]);
    expect(first.logs).toBe(3);
    expect(first.items).toBe(10);
    const again = importInspectLogs(store, [inspectLogsDir]);
    expect(again).toMatchObject({ alreadyImported: true, items: 10 });
    store.close();
  });
});

/** A log shaped like the real one, with the given scores on its three samples. */
function withScores(scores: Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  const log = readJson(POPULARITY);
  log.samples = log.samples.map((s, i) => ({ ...s, scores: scores[i] }));
  Object.assign(log, extra);
  const file = join(dir, `log${n++}.json`);
  writeFileSync(file, JSON.stringify(log));
  return file;
}

describe("label maps and several scorers", () => {
  it("the inspect_evals instrumentaleval grader: one-hot dicts; invalid is a judge failure, never a label", () => {
    const v = (c: number, nc: number, inv: number) => ({
      value: { convergence: c, no_convergence: nc, invalid: inv },
    });
    const file = withScores([
      { instrumentaleval_scorer: v(1, 0, 0) },
      { instrumentaleval_scorer: v(0, 1, 0) },
      { instrumentaleval_scorer: v(0, 0, 1) },
    ]);
    const store = fresh();
    const { run, judges } = importInspectLogs(store, [file]);
    expect(judges).toEqual({ instrumentaleval_scorer: "instrumentaleval" });
    const js = store.judgements(run.id);
    expect(js.map((j) => [j.status, j.label])).toEqual([
      ["ok", "convergence"],
      ["ok", "no_convergence"],
      ["failed", null],
    ]);
    expect(js[2]!.error).toMatch(/invalid/);
    const row = buildTable1(store.outcomes(run.id, "instrumentaleval_scorer"), { pairs: [] }).rows[0]!;
    expect(row).toMatchObject({ total: 2, judgeFailed: 1, convergence: 1 });
    store.close();
  });

  it("several scorers on one sample become several judges", () => {
    const file = withScores([
      { a: { value: "convergence" }, b: { value: "C" } },
      { a: { value: "safety_refusal" }, b: { value: "I" } },
      { a: { value: "judge_failed" }, b: { value: "C" } },
    ]);
    const store = fresh();
    const { run, judges } = importInspectLogs(store, [file]);
    expect(judges).toEqual({ a: "steerbench", b: "cip" });
    expect(store.judges(run.id)).toEqual(["a", "b"]);
    expect(store.judgements(run.id, "a").map((j) => j.label)).toEqual([
      "convergence",
      "safety_refusal",
      null,
    ]);
    store.close();
  });

  it("--label-map maps other vocabularies (JSON or YAML), validated by key", () => {
    const file = withScores([{ grade: { value: 5 } }, { grade: { value: 1 } }, { grade: { value: 3 } }]);
    const store = fresh();
    expect(() => importInspectLogs(store, [file])).toThrow(
      /scorer "grade" gives values "1", "3", "5".*--label-map/,
    );
    const mapFile = join(dir, "map.yaml");
    writeFileSync(mapFile, 'grade:\n  "5": convergence\n  "1": no_convergence\n  "3": failed\n');
    const res = importInspectLogs(store, [file], { labelMap: loadLabelMapFile(mapFile) });
    expect(store.judgements(res.run.id).map((j) => j.label)).toEqual(["convergence", "no_convergence", null]);
    const partial = join(dir, "partial.json");
    writeFileSync(partial, JSON.stringify({ grade: { "5": "convergence" } }));
    expect(() => importInspectLogs(store, [file], { labelMap: loadLabelMapFile(partial) })).toThrow(
      /label map label-map:grade has no entry for "1", "3"/,
    );
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ grade: { "5": "converged" } }));
    expect(() => loadLabelMapFile(bad)).toThrow(LabelMapError);
    expect(() => loadLabelMapFile(bad)).toThrow(/bad\.json: grade\.5: /);
    store.close();
  });
});

describe("bad logs get one clear error naming the file", () => {
  it("an unknown log version", () => {
    const file = withScores([{}, {}, {}], { version: 9 });
    expect(() => importInspectLogs(fresh(), [file])).toThrow(
      `${file}: Inspect log version 9 is not supported (known: 1, 2)`,
    );
  });

  it("a malformed zip, and a zip that is no Inspect log", () => {
    const broken = join(dir, "broken.eval");
    writeFileSync(broken, readFileSync(STREAMING).subarray(0, 2000));
    expect(() => importInspectLogs(fresh(), [broken])).toThrow(`${broken}: malformed .eval zip`);
    const other = join(dir, "other.eval");
    writeFileSync(other, zipSync({ "readme.txt": strToU8("hello") }));
    expect(() => importInspectLogs(fresh(), [other])).toThrow(`${other}: not an Inspect .eval log`);
  });

  it("a JSON file that is not an Inspect log, and a sample without an id", () => {
    const notLog = join(dir, "not-log.json");
    writeFileSync(notLog, JSON.stringify({ hello: 1 }));
    expect(() => importInspectLogs(fresh(), [notLog])).toThrow(`${notLog}: not an Inspect log: eval:`);
    const log = readJson(POPULARITY);
    delete log.samples[1]!.id;
    const noId = join(dir, "no-id.json");
    writeFileSync(noId, JSON.stringify(log));
    expect(() => importInspectLogs(fresh(), [noId])).toThrow(`${noId}: samples.1: id:`);
  });
});
