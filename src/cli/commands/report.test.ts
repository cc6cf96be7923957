import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Store } from "../../store/store.js";
import { UsageError } from "../options.js";
import { parsePairList, registerReport } from "./report.js";

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "steerbench-report-cli-"));
  const store = Store.open(join(dir, "s.sqlite"));
  store.createRun({ id: "run-1", name: "one", kind: "live", config: {}, versions: {} });
  const [item] = store.addItems("run-1", [
    {
      model: "m",
      condition: "baseline",
      scenarioId: "c-1",
      category: "c",
      epoch: 0,
      seed: 0,
      context: "x",
      systemPrompt: undefined,
      userPrompt: "t",
    },
  ]);
  store.saveJudgement({
    itemId: item!.id,
    judge: "j",
    status: "ok",
    label: "convergence",
    reason: "r",
    raw: null,
    scores: null,
    error: null,
    latencyMs: null,
  });
  store.close();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function program(): Command {
  const p = new Command("steerbench").exitOverride();
  registerReport(p);
  return p;
}

describe("steerbench report", () => {
  test("writes the HTML report of a run", async () => {
    const out = join(dir, "out", "r.html");
    // A stand-in bundle: this test is about the verb; the browser tests check the real one.
    process.env.STEERBENCH_WEB_DIR = join(dir, "web");
    mkdirSync(process.env.STEERBENCH_WEB_DIR, { recursive: true });
    writeFileSync(join(process.env.STEERBENCH_WEB_DIR, "app.js"), "void 0");
    writeFileSync(join(process.env.STEERBENCH_WEB_DIR, "app.css"), "body{}");
    try {
      await program().parseAsync([
        "node",
        "steerbench",
        "report",
        "--store",
        join(dir, "s.sqlite"),
        "--run",
        "run-1",
        "--html",
        out,
      ]);
    } finally {
      delete process.env.STEERBENCH_WEB_DIR;
    }
    const html = readFileSync(out, "utf8");
    expect(html).toContain('<script type="application/json" id="steerbench-data">');
    expect(html).toContain("<title>one · steerbench report</title>");
  });

  test("names a missing bundle and the fix", async () => {
    process.env.STEERBENCH_WEB_DIR = join(dir, "no-such-dir");
    try {
      await expect(
        program().parseAsync([
          "node",
          "steerbench",
          "report",
          "--store",
          join(dir, "s.sqlite"),
          "--html",
          join(dir, "x.html"),
        ]),
      ).rejects.toThrow(/app\.js is missing .*npm run build/);
    } finally {
      delete process.env.STEERBENCH_WEB_DIR;
    }
  });

  test("parses --pairs and rejects malformed ones", () => {
    expect(parsePairList("pro_ic:anti_ic, pro_ic:baseline")).toEqual([
      { high: "pro_ic", low: "anti_ic" },
      { high: "pro_ic", low: "baseline" },
    ]);
    expect(() => parsePairList("pro_ic")).toThrow(UsageError);
    expect(() => parsePairList("a:b:c")).toThrow(/"a:b:c" is not HIGH:LOW/);
  });
});
