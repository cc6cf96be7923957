import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { packDir, runsDir } from "../../../test/paths.js";
import { readProtocolStrings } from "../../data/protocol-strings.js";
import { importPublishedRuns } from "../../importers/import-published.js";
import { buildTable1 } from "../../metrics/index.js";
import { Store } from "../../store/store.js";
import { jsonForScript } from "./embed.js";
import { loadItems, runCursor } from "./items.js";
import { runSettings } from "./settings.js";
import { appendedText, buildSummary } from "./summary.js";
import type { ReportData } from "./types.js";
import { buildReportData, renderReportHtml } from "./write-html.js";

let dir: string;
let store: Store;
let runId: string;
let judge: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "steerbench-report-"));
  store = Store.open(join(dir, "s.sqlite"));
  const res = await importPublishedRuns(store, runsDir);
  runId = res.run.id;
  judge = res.judge;
});

afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("jsonForScript", () => {
  const nasty = "</script><!-- <script>x</script> & \u2028\u2029 > <";

  test("escapes every character that could end the element or a JS string", () => {
    const out = jsonForScript({ text: nasty });
    expect(out).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(out)).toEqual({ text: nasty });
  });
});

describe("renderReportHtml", () => {
  const data = (name: string): ReportData => {
    const run = store.getRun(runId)!;
    const real = buildReportData(store, run);
    return { ...real, summary: { ...real.summary, run: { ...real.summary.run, name } } };
  };
  const assets = { js: 'console.log("a")', css: "body{color:red}" };

  test("inlines the bundle under a CSP that names its exact hashes, and embeds the data losslessly", () => {
    const d = data("run </title><script>alert(1)</script>");
    const html = renderReportHtml(d, assets);
    const sha = (t: string) => `'sha256-${createHash("sha256").update(t).digest("base64")}'`;
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
    expect(csp).toBe(
      `default-src 'none'; script-src ${sha(assets.js)}; style-src ${sha(assets.css)}; img-src data: blob:; base-uri 'none'; form-action 'none'; object-src 'none'`,
    );
    expect(html).toContain(`<script>${assets.js}</script>`);
    expect(html).toContain(
      "<title>run &#60;/title&#62;&#60;script&#62;alert(1)&#60;/script&#62; · steerbench report</title>",
    );
    const json = /<script type="application\/json" id="steerbench-data">([^<]*)<\/script>/.exec(html)?.[1];
    expect(JSON.parse(json!)).toEqual(JSON.parse(JSON.stringify(d)));
  });

  test("refuses a bundle that would break out of its element", () => {
    expect(() => renderReportHtml(data("x"), { js: 'var s = "</script>"', css: "" })).toThrow(/app\.js/);
    expect(() => renderReportHtml(data("x"), { js: "", css: "a{}</style>" })).toThrow(/app\.css/);
  });
});

describe("buildSummary on the published runs", () => {
  test("orders models and conditions and takes Table 1 from the metrics module", () => {
    const s = buildSummary(store, store.getRun(runId)!);
    expect(s.conditions).toEqual(["baseline", "pro_ic", "anti_ic"]);
    expect(s.models).toHaveLength(6);
    expect(s.models).toEqual(s.settings.models.map((m) => m.name));
    expect(s.judges).toEqual([judge]);
    expect(s.progress).toEqual({ items: 1278, responded: 1278, judged: 1278 });
    const expected = buildTable1(store.outcomes(runId, judge));
    const table = s.tables[0]!.table;
    expect(new Set(table.rows)).toEqual(new Set(expected.rows));
    expect(table.gaps.map((g) => [g.model, g.high, g.low])).toContainEqual([
      "Qwen3-4B-Base",
      "pro_ic",
      "anti_ic",
    ]);
    expect(s.tables[0]!.sweep).toEqual([]);
  });

  test("shows the exact suffix texts, read off the stored prompts", async () => {
    const strings = await readProtocolStrings(join(packDir, "protocol_strings.json"));
    const s = buildSummary(store, store.getRun(runId)!);
    const byName = new Map(s.settings.conditions.map((c) => [c.name, c]));
    expect(byName.get("baseline")?.appendedText).toBe("");
    expect(byName.get("pro_ic")?.appendedText).toBe(`\n\n${strings.proIcSuffix.trim()}\n`);
    expect(byName.get("anti_ic")?.appendedText).toBe(`\n\n${strings.antiIcSuffix.trim()}\n`);
    expect(s.settings.selection).toBe("at most 15 per category, seed 123");
    expect(s.settings.models.find((m) => m.name === "Qwen3-4B-Thinking-2507")).toMatchObject({
      thinking: true,
      decoding: { temperature: 0, maxTokens: 8096 },
    });
  });

  test("counts failures and nonsensical responses per model and condition", () => {
    const s = buildSummary(store, store.getRun(runId)!);
    expect(s.health).toHaveLength(18);
    for (const h of s.health) {
      const row = s.tables[0]!.table.rows.find((r) => r.model === h.model && r.condition === h.condition)!;
      expect(h.items).toBe(71);
      expect(h.pending).toBe(0);
      expect(h.judges[judge]).toEqual({ ok: 71, failed: 0, error: 0, nonsensical: row.nonsensical });
    }
    expect(s.health.reduce((n, h) => n + h.judges[judge]!.nonsensical, 0)).toBeGreaterThan(0);
  });
});

describe("appendedText", () => {
  test("is the text after the shortest sibling prompt, '' for that one, undefined when it does not extend it", () => {
    const sib = [
      { user_prompt: "task " },
      { user_prompt: "task\n\nsuffix\n" },
      { user_prompt: "prefix task" },
    ];
    expect(appendedText("task\n\nsuffix\n", sib)).toBe("\n\nsuffix\n");
    expect(appendedText("task ", sib)).toBe("");
    expect(appendedText("prefix task", sib)).toBeUndefined();
  });
});

describe("runSettings", () => {
  test("reads resolved conditions, models and judges of a live config", () => {
    const s = runSettings(
      {
        selection: { maxPerCategory: 3, seed: 1 },
        system: "category",
        conditions: [
          { name: "pro", prompt: { userSuffix: " keep\n  spaces \n" } },
          {
            name: "vec",
            activation: { vector: "v.gguf", layers: [10, 20], strength: 0.5, normPreserving: true },
          },
          { name: "abl", activation: { vector: "v.gguf", strength: 1, mode: "ablate", directionLayer: 2 } },
        ],
        models: [
          { name: "a", model: "org/a", provider: "openai", thinking: false, decoding: { maxTokens: 9 } },
        ],
        judges: [
          {
            model: "gpt-x",
            provider: "openai",
            mode: "generate",
            prompt: { system: "custom" },
            temperature: 0,
            maxTokens: 50,
          },
        ],
        decoding: { temperature: 0, maxTokens: 1024 },
      },
      { steerbench: "9.9.9" },
    );
    expect(s.conditions[0]).toEqual({ name: "pro", userSuffix: " keep\n  spaces \n" });
    expect(s.conditions[1]?.activation).toEqual({
      vector: "v.gguf",
      layers: [10, 20],
      strength: 0.5,
      normPreserving: true,
    });
    expect(s.conditions[2]?.activation).toEqual({
      vector: "v.gguf",
      strength: 1,
      mode: "ablate",
      directionLayer: 2,
    });
    expect(s.models[0]?.decoding).toEqual({ temperature: 0, maxTokens: 9 });
    expect(s.judges[0]).toMatchObject({ name: "gpt-x", prompt: "custom", maxTokens: 50 });
    expect(s.selection).toBe("at most 3 per category, seed 1");
    expect(s.system).toBe("category context (stripped)");
    expect(s.steerbenchVersion).toBe("9.9.9");
  });

  test("never throws on a config it does not understand", () => {
    const s = runSettings({ models: "nonsense", conditions: [42] }, {});
    expect(s.models).toEqual([]);
    expect(s.conditions).toEqual([]);
    expect(s.configJson).toContain("nonsense");
  });
});

describe("sweeps and deltas", () => {
  test("a sweep run gets one point per model and strength", () => {
    const s2 = Store.open(":memory:");
    const strengths = [0, 0.5, 1];
    s2.createRun({
      id: "sweep-1",
      name: "sweep",
      kind: "sweep",
      config: {
        conditions: strengths.map((x) => ({ name: `s${x}`, activation: { vector: "v", strength: x } })),
      },
      versions: {},
    });
    const items = s2.addItems(
      "sweep-1",
      strengths.flatMap((x) =>
        [1, 2, 3, 4].map((i) => ({
          model: "m",
          condition: `s${x}`,
          scenarioId: `c-${i}`,
          category: "c",
          epoch: 0,
          seed: 0,
          context: "",
          systemPrompt: undefined,
          userPrompt: `t${i}`,
        })),
      ),
    );
    items.forEach((item, k) => {
      s2.saveJudgement({
        itemId: item.id,
        judge: "j",
        status: "ok",
        // strength 0: 0/4 converge, 0.5: 2/4, 1: 4/4
        label: k % 4 < Math.round(Number(item.condition.slice(1)) * 4) ? "convergence" : "no_convergence",
        reason: null,
        raw: null,
        scores: null,
        error: null,
        latencyMs: null,
      });
    });
    const s = buildSummary(s2, s2.getRun("sweep-1")!);
    expect(s.tables[0]!.sweep.map((p) => [p.strength, p.convergenceRate])).toEqual([
      [0, 0],
      [0.5, 50],
      [1, 100],
    ]);
    s2.close();
  });

  test("loadItems with a time returns only items written since, and the cursor moves with writes", async () => {
    const all = loadItems(store, runId);
    expect(all.items).toHaveLength(1278);
    // Contexts and prompts are shared across models: far fewer texts than items.
    expect(all.texts.length).toBeLessThan(300);
    const cursor = runCursor(store, runId);
    expect(loadItems(store, runId, new Date(Date.now() + 60_000).toISOString()).items).toEqual([]);
    // Rows written in the cursor's own millisecond by the import come again ("≥"); how many depends on the
    // machine's write speed, so count them rather than assume a number.
    const sameMillisecond = loadItems(store, runId, cursor.split("#")[0]).items.length;
    await new Promise((r) => setTimeout(r, 5));
    const item = all.items[5]!;
    store.saveJudgement({
      itemId: item.id,
      judge: "second-judge",
      status: "failed",
      label: null,
      reason: null,
      raw: "garbage",
      scores: null,
      error: "no label",
      latencyMs: null,
    });
    expect(runCursor(store, runId)).not.toBe(cursor);
    // ">=": items written in the cursor's own millisecond come again (merged by id on the client).
    const changed = loadItems(store, runId, cursor.split("#")[0]);
    expect(changed.items.map((i) => i.id)).toContain(item.id);
    expect(changed.items.length).toBeLessThanOrEqual(sameMillisecond + 1);
    expect(changed.items.length).toBeLessThan(all.items.length);
    expect(changed.items.find((i) => i.id === item.id)!.verdicts["second-judge"]).toEqual({
      status: "failed",
      label: null,
      reason: null,
      error: "no label",
    });
    // Clean-up on a connection of its own: the store keeps its SQL to itself.
    const db = new Database(store.path);
    db.prepare("DELETE FROM judgements WHERE judge = 'second-judge'").run();
    db.close();
  });
});

describe("sweep controls", () => {
  test("a sweep's random-direction control is flagged, and the chart draws it beside the vector", async () => {
    const s3 = Store.open(":memory:");
    const conds = [
      { name: "act0", activation: { vector: "v", strength: 0 } },
      { name: "act+1", activation: { vector: "v", strength: 1 } },
      { name: "ctl+1", activation: { vector: "c", strength: 1 } },
      // A further control seed (--control-seeds 2): counted as a control, not drawn as the vector.
      { name: "ctl.s1+1", activation: { vector: "c1", strength: 1 } },
    ];
    s3.createRun({
      id: "sweep-2",
      name: "sweep",
      kind: "sweep",
      config: {
        conditions: conds,
        sweep: {
          vector: "v",
          strengths: { act0: 0, "act+1": 1 },
          control: {
            vector: "c",
            seed: 0,
            strengths: { "ctl+1": 1 },
            extra: [{ vector: "c1", seed: 1, strengths: { "ctl.s1+1": 1 } }],
          },
        },
      },
      versions: {},
    });
    const items = s3.addItems(
      "sweep-2",
      conds.map((c) => ({
        model: "m",
        condition: c.name,
        scenarioId: "c-1",
        category: "c",
        epoch: 0,
        seed: 0,
        context: "",
        systemPrompt: undefined,
        userPrompt: "t",
      })),
    );
    for (const item of items) {
      s3.saveJudgement({
        itemId: item.id,
        judge: "j",
        status: "ok",
        label: "convergence",
        reason: null,
        raw: null,
        scores: null,
        error: null,
        latencyMs: null,
      });
    }
    const s = buildSummary(s3, s3.getRun("sweep-2")!);
    expect(s.tables[0]!.sweep.map((p) => [p.condition, p.control ?? false])).toEqual([
      ["act0", false],
      ["act+1", false],
      ["ctl+1", true],
    ]);
    const { sweepOption } = await import("../../web/chart-options.js");
    const option = sweepOption(s.tables[0]!.sweep, "m");
    const series = option.series as { name: string; type: string; data: unknown[] }[];
    const ctl = series.find((x) => x.name === "Convergence, random control" && x.type === "line")!;
    // The control's curve starts at the vector's own strength-0 point.
    expect(ctl.data).toEqual([
      [0, 100],
      [1, 100],
    ]);
    expect(series.find((x) => x.name === "Convergence" && x.type === "line")!.data).toEqual([
      [0, 100],
      [1, 100],
    ]);
    s3.close();
  });
});
