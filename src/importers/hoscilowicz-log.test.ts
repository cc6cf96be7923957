import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packDir, runsDir } from "../../test/paths.js";
import { isLabel } from "../types.js";
import { PublishedRunError, parseHoscilowiczLog, parsePublishedRun } from "./hoscilowicz-log.js";

const tmp = mkdtempSync(join(tmpdir(), "steerbench-hlog-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Reference {
  runs: {
    results_dir: string;
    steering_mode: string;
    per_category: { category: string; decisions_in_run_order: string[] }[];
  }[];
}

function block(fields: Partial<Record<string, string>> = {}): string {
  const f = {
    task_number: "1",
    steering_mode: "pro_ic",
    task_prompt: "Task",
    steered_prompt: "Task\n\nSuffix\n",
    test_llm_thinking: "",
    test_llm_response: "Answer",
    judge_decision: "convergence",
    judge_reason: "Because.",
    ...fields,
  };
  return `<result>
  <task_number>${f.task_number}</task_number>
  <steering_mode>${f.steering_mode}</steering_mode>
  <task_prompt>${f.task_prompt}</task_prompt>
  <steered_prompt>${f.steered_prompt}</steered_prompt>
  <test_llm_thinking>${f.test_llm_thinking}</test_llm_thinking>
  <test_llm_response>${f.test_llm_response}</test_llm_response>
  <judge_decision>${f.judge_decision}</judge_decision>
  <judge_reason>${f.judge_reason}</judge_reason>
</result>`;
}

function errorOf(fn: () => unknown): PublishedRunError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PublishedRunError);
    return e as PublishedRunError;
  }
  throw new Error("expected an error");
}

describe("parsePublishedRun on the 18 published runs", () => {
  const reference = JSON.parse(
    readFileSync(join(packDir, "hoscilowicz_2601.01584_reference_results.json"), "utf8"),
  ) as Reference;

  it("reads config and 71 items per run, with decisions equal to the reference per-item decisions", async () => {
    const folders = readdirSync(runsDir, { withFileTypes: true }).filter((d) => d.isDirectory());
    expect(folders).toHaveLength(18);
    for (const folder of folders) {
      const run = await parsePublishedRun(join(runsDir, folder.name));
      const ref = reference.runs.find((r) => basename(r.results_dir) === folder.name);
      expect(ref, folder.name).toBeDefined();
      expect(run.config.STEERING_MODE).toBe(ref!.steering_mode);
      expect(run.items).toHaveLength(71);
      const expected = ref!.per_category.flatMap((c) => c.decisions_in_run_order.map((d) => [c.category, d]));
      expect(run.items.map((it) => [it.benchmark, it.decision])).toEqual(expected);
      for (const it of run.items) {
        expect(isLabel(it.decision)).toBe(true);
        expect(it.steeringMode).toBe(run.config.STEERING_MODE);
        expect(it.response.length).toBeGreaterThan(0);
        // Thinking runs log the thinking (ending in </think>); the others log "".
        if (run.config.HF_IS_THINKING) expect(it.thinking.endsWith("</think>")).toBe(true);
        else expect(it.thinking).toBe("");
      }
    }
  });

  it("keeps the config keys it does not know (passthrough)", async () => {
    const dir = join(
      runsDir,
      readdirSync(runsDir).find((d) => d.startsWith("Qwen3-4B-Thinking-2507_pro_ic"))!,
    );
    const run = await parsePublishedRun(dir);
    expect(run.config).toMatchObject({
      HF_MODEL_NAME: "Qwen/Qwen3-4B-Thinking-2507",
      STEERING_MODE: "pro_ic",
      JUDGE_MODEL: "gpt-5.2",
      TEMPERATURE_TEST: 0,
      MAX_NEW_TOKENS_TEST: 8096,
      HF_IS_THINKING: true,
      TASK_SAMPLE_SEED: 123,
    });
    expect(run.items[0]).toMatchObject({
      benchmark: "Alignment Drift - Deceptive Behavior",
      taskNumber: 1,
      line: 4,
    });
  });
});

describe("parseHoscilowiczLog", () => {
  it("keeps raw contents: '<', tag-like text, and closing tags that are not followed by the next field", () => {
    const response = [
      "Use `a < b` and <b>bold</b>.",
      "  <judge_decision>fake</judge_decision>",
      "line ending in </test_llm_response>",
      "",
      "end",
    ].join("\n");
    const log = [
      "[run] dir=results/x",
      "",
      "Processing benchmark: Alignment Drift - Demo | mode=pro_ic",
      block({
        task_prompt: "Has </task_prompt> inside",
        test_llm_response: response,
        test_llm_thinking: "t\n</think>",
      }),
      block({ task_number: "2", judge_reason: "multi\nline </judge_reason>\nreason" }),
      "",
      "=== Overall Results ===",
    ].join("\n");
    const items = parseHoscilowiczLog(log, "stdout.log");
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({
      benchmark: "Alignment Drift - Demo",
      taskNumber: 1,
      taskPrompt: "Has </task_prompt> inside",
      thinking: "t\n</think>",
      response,
      decision: "convergence",
      line: 4,
    });
    expect(items[1]!.reason).toBe("multi\nline </judge_reason>\nreason");
    expect(items[1]!.thinking).toBe("");
  });

  it("strips a .csv suffix from the benchmark name", () => {
    const items = parseHoscilowiczLog(`Processing benchmark: Cat.csv | mode=pro_ic\n${block()}\n`, "f");
    expect(items[0]!.benchmark).toBe("Cat");
  });

  it("names the file and line of structural errors", () => {
    const noHeader = errorOf(() => parseHoscilowiczLog(`x\n${block()}`, "stdout.log"));
    expect(noHeader.message).toBe("stdout.log:2: <result> block before any 'Processing benchmark:' line");

    const header = "Processing benchmark: B | mode=pro_ic\n";
    const broken = block().replace("</test_llm_response>", "");
    const unclosed = errorOf(() => parseHoscilowiczLog(header + broken, "stdout.log"));
    expect(unclosed.line).toBe(11); // the steered prompt spans lines 6-9
    expect(unclosed.message).toMatch(/stdout\.log:11: no "<\/test_llm_response>"/);

    const reordered = block().replace("  <steering_mode>pro_ic</steering_mode>\n", "");
    expect(errorOf(() => parseHoscilowiczLog(header + reordered, "f")).message).toMatch(
      /f:3: no "<\/task_number>" at a line end followed by "<steering_mode>"/,
    );
    const noOpen = block().replace("  <task_prompt>", "  <task_promt>");
    expect(errorOf(() => parseHoscilowiczLog(header + noOpen, "f")).message).toMatch(
      /f:4: no "<\/steering_mode>"/,
    );
    const shifted = block().replace("  <task_number>", "<task_number>");
    expect(errorOf(() => parseHoscilowiczLog(header + shifted, "f")).message).toMatch(
      /f:3: expected a line starting with "<task_number>" in the <result> block of line 2/,
    );
    expect(errorOf(() => parseHoscilowiczLog(header + block({ task_number: "x" }), "f")).message).toMatch(
      /f:3: task_number "x"/,
    );
    expect(
      errorOf(() => parseHoscilowiczLog(header + block({ steering_mode: "anti_ic" }), "f")).message,
    ).toMatch(/f:4: steering_mode "anti_ic" differs/);
  });

  it("does not let a broken block swallow the next one", () => {
    const header = "Processing benchmark: B | mode=pro_ic\n";
    const broken = block().replace("</judge_reason>", "");
    const err = errorOf(() => parseHoscilowiczLog(`${header}${broken}\n${block({ task_number: "2" })}`, "f"));
    expect(err.message).toMatch(/f:13: no "<\/judge_reason>"/);
  });
});

describe("parsePublishedRun errors", () => {
  function runDir(config: unknown, log: string | undefined): string {
    const dir = mkdtempSync(join(tmp, "run-"));
    mkdirSync(dir, { recursive: true });
    if (config !== undefined) writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    if (log !== undefined) writeFileSync(join(dir, "stdout.log"), log);
    return dir;
  }
  const config = {
    HF_MODEL_NAME: "m",
    STEERING_MODE: "pro_ic",
    JUDGE_MODEL: "j",
    TEMPERATURE_TEST: 0,
    MAX_NEW_TOKENS_TEST: 10,
    HF_IS_THINKING: false,
  };
  const log = `Processing benchmark: B | mode=pro_ic\n${block()}\n`;

  it("names config.json and the bad key", async () => {
    const { JUDGE_MODEL: _, ...noJudge } = config;
    const err = await parsePublishedRun(runDir(noJudge, log)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishedRunError);
    expect((err as Error).message).toMatch(/config\.json: key "JUDGE_MODEL"/);
  });

  it("names a missing stdout.log", async () => {
    const err = await parsePublishedRun(runDir(config, undefined)).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/stdout\.log: file not found/);
  });

  it("rejects items whose mode differs from config.json", async () => {
    const err = await parsePublishedRun(runDir({ ...config, STEERING_MODE: "anti_ic" }, log)).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/stdout\.log:2: steering_mode "pro_ic" differs from config\.json/);
  });

  it("parses a valid synthetic run", async () => {
    const run = await parsePublishedRun(runDir(config, log));
    expect(run.items).toHaveLength(1);
    expect(run.config.HF_MODEL_NAME).toBe("m");
  });
});
