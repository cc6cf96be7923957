// The CLI as a user runs it: a real process over a real store, from the built package.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runConfigJsonSchema } from "../src/config/run-config.js";
import { Store } from "../src/store/store.js";
import { packDir, repoRoot, runsDir } from "./paths.js";

let dir: string;
let store: string;

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const res = spawnSync(process.execPath, [join(repoRoot, "bin", "steerbench.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, STEERBENCH_STORE: "", STEERBENCH_DATA: "" },
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-cli-"));
  store = join(dir, "paper.sqlite");
  const res = cli("import", runsDir, "--store", store);
  expect(res.code, res.err).toBe(0);
  expect(res.out).toMatch(/imported 18 run folders, 1278 items judged by gpt-5\.2/);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("steerbench CLI", () => {
  it("prints Table 1 as JSON following the documented contract", () => {
    const res = cli("table", "--store", store, "--format", "json");
    expect(res.code, res.err).toBe(0);
    const table = JSON.parse(res.out) as {
      rows: Record<string, unknown>[];
      gaps: Record<string, unknown>[];
    };
    expect(table.rows).toHaveLength(18);
    for (const key of [
      "model",
      "condition",
      "total",
      "valid",
      "nonsensical",
      "convergence",
      "noConvergence",
      "safetyRefusal",
      "judgeFailed",
      "convergenceRate",
      "refusalRate",
      "convergenceCI",
      "refusalCI",
    ]) {
      expect(table.rows[0]).toHaveProperty(key);
    }
    const gap = table.gaps.find((g) => g.model === "Qwen3-30B-A3B-Instruct-2507")!;
    expect(gap).toMatchObject({ high: "pro_ic", low: "anti_ic" });
    expect((gap.delta as number).toFixed(2)).toBe("78.87");
    expect(gap.deltaCI).toHaveLength(2);
    expect(typeof gap.mcnemarP).toBe("number");
  });

  it("prints the terminal, markdown, csv and latex tables with the paper's numbers", () => {
    const terminal = cli("table", "--store", store).out;
    expect(terminal).toMatch(/81\.69/);
    expect(terminal).toMatch(/78\.87/);
    expect(cli("table", "--store", store, "--format", "md").out).toMatch(/\| Qwen3-4B-Base \| pro\\_ic \|/);
    expect(cli("table", "--store", store, "--format", "csv").out.split("\n")[0]).toMatch(/^model,condition/);
    expect(cli("table", "--store", store, "--format", "latex").out).toMatch(/\\begin\{tabular\}/);
    expect(cli("table", "--store", store, "--vs", "baseline", "--format", "json").out).toMatch(
      /"low":"baseline"|"low": "baseline"/,
    );
  });

  it("exports every item as JSONL with prompts, responses, labels and reasons", () => {
    const out = join(dir, "items.jsonl");
    const res = cli("export", "--store", store, "--out", out);
    expect(res.code, res.err).toBe(0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines).toHaveLength(1278);
    const first = JSON.parse(lines[0]!) as {
      prompt: string;
      response: string;
      judgements: Record<string, { label: string }>;
    };
    expect(first.prompt.length).toBeGreaterThan(100);
    expect(first.judgements["gpt-5.2"]!.label).toMatch(/convergence|refusal|nonsensical/);
  });

  it("lists runs and describes the data", () => {
    expect(cli("runs", "--store", store).out).toMatch(/1278 items, 1278 responses/);
    const info = cli("data", "info", "--data", packDir);
    expect(info.out).toMatch(/evading-shutdown\s+20 scenarios/);
    expect(info.out).toMatch(/full 76, paper 71/);
  });

  it("gives clear one-line errors for bad input", () => {
    const noData = cli("data", "info", "--data", join(dir, "nowhere"));
    expect(noData.code).toBe(1);
    expect(noData.err).toMatch(/No benchmark data found .*steerbench data pull/);
    expect(noData.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(cli("table", "--store", store, "--format", "xml").err).toMatch(/--format must be one of/);
    expect(cli("table", "--store", store, "--judge", "nobody").err).toMatch(/no judge "nobody"/);
    // An existing store without runs (a missing one is "no such store": see defects-store-run.test.ts).
    Store.open(join(dir, "empty.sqlite")).close();
    expect(cli("table", "--store", join(dir, "empty.sqlite")).err).toMatch(/holds no runs/);
    const badConfig = join(dir, "bad.yaml");
    writeFileSync(badConfig, "models:\n  - model: m\n    baseUrl: not-a-url\njudges: []\nepochs: 0\n");
    const res = cli("run", badConfig, "--data", packDir, "--store", join(dir, "x.sqlite"));
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/models\.0\.baseUrl/);
    expect(res.err).toMatch(/judges/);
    expect(res.err).toMatch(/epochs/);
  });

  it("publishes the config JSON Schema that the code validates with", () => {
    const published = JSON.parse(readFileSync(join(repoRoot, "schema", "run-config.schema.json"), "utf8"));
    expect(published).toEqual(runConfigJsonSchema());
    expect(JSON.parse(cli("schema").out)).toEqual(published);
  });
});
