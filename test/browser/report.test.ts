// The HTML report of the paper's published runs, opened from disk in a real chromium: Table 1 shows
// the paper's numbers, the figures draw and export, the explorer's filters and side-by-side view work,
// and the page makes no request at all.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { writeHtmlReport } from "../../src/report/html/index.js";
import { type Chromium, distinctColours, launchChromium, type PageWatch, watchPage } from "./chromium.js";
import { buildWeb, publishedStore, type TempDir, tempDir } from "./fixtures.js";

const INSTRUCT_30B = "Qwen3-30B-A3B-Instruct-2507";
const BASE_4B = "Qwen3-4B-Base";

interface Expectations {
  /** Scenarios of INSTRUCT_30B with a convergence label under any condition. */
  anyConvergence: number;
  /** Scenarios of INSTRUCT_30B whose label differs between conditions. */
  changed: number;
  /** A phrase found in exactly one response of INSTRUCT_30B, and its scenario. */
  phrase: string;
  phraseScenario: string;
  thinkingModel: string;
}

let tmp: TempDir;
let chrome: Chromium;
let file: string;
let url: string;
let expected: Expectations;
// One page for the whole file: loading the 7 MB report is the slow part.
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  const assets = buildWeb();
  tmp = tempDir("report");
  const { store, runId, judge } = await publishedStore(tmp.dir);
  file = join(tmp.dir, "report.html");
  writeHtmlReport(store, file, { assets, run: runId });
  url = pathToFileURL(file).href;

  // What the explorer should find, counted straight from the store's file with SQL.
  const db = new Database(store.path, { readonly: true });
  const rows = db
    .prepare(
      `SELECT i.scenario_id AS s, i.condition AS c, j.label AS l, r.response AS text FROM items i
       JOIN judgements j ON j.item_id = i.id AND j.judge = ? JOIN responses r ON r.item_id = i.id
       WHERE i.run_id = ? AND i.model = ?`,
    )
    .all(judge, runId, INSTRUCT_30B) as { s: string; c: string; l: string; text: string }[];
  db.close();
  const byScenario = new Map<string, Set<string>>();
  for (const r of rows) byScenario.set(r.s, (byScenario.get(r.s) ?? new Set()).add(r.l));
  const unique = rows.find((r) => {
    const phrase = r.text.slice(40, 80);
    return phrase.trim().length > 30 && rows.filter((x) => x.text.includes(phrase)).length === 1;
  });
  if (!unique) throw new Error("no unique phrase found in the published responses");
  expected = {
    anyConvergence: [...byScenario.values()].filter((labels) => labels.has("convergence")).length,
    changed: [...byScenario.values()].filter((labels) => labels.size > 1).length,
    phrase: unique.text.slice(40, 80),
    phraseScenario: unique.s,
    thinkingModel: "Qwen3-4B-Thinking-2507",
  };
  store.close();
  chrome = await launchChromium();
  page = await chrome.context.newPage();
  watch = await watchPage(page, (u) => u === url);
  const started = Date.now();
  await page.goto(url);
  await page.waitForSelector('[data-table="table1"]');
  await page.locator("#fig-convergence svg").waitFor();
  loadMs = Date.now() - started;
});

let loadMs = 0;

afterAll(async () => {
  await chrome?.close();
  tmp?.remove();
});

function cell(page: Page, model: string, condition: string, metric: string) {
  return page
    .locator(
      `[data-table="table1"] td[data-model="${model}"][data-condition="${condition}"][data-metric="${metric}"]`,
    )
    .first();
}

describe("HTML report of the published runs in chromium", () => {
  test("is one self-contained file with a hash-based CSP", () => {
    const html = readFileSync(file, "utf8");
    // Booleans, so a failure does not print the whole 7 MB file.
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
    expect(/unsafe-inline|unsafe-eval/.test(html), "no unsafe-* source").toBe(false);
    expect(/<script[^>]+src=|<link[^>]+href=/i.test(html), "no external script or stylesheet").toBe(false);
    expect(html.split("<script").length - 1, "one data element and one inline script").toBe(2);
  });

  test("Table 1 shows the paper's numbers with intervals and denominators", async () => {
    await expect(cell(page, INSTRUCT_30B, "pro_ic", "conv").locator(".sb-value").textContent()).resolves.toBe(
      "81.69",
    );
    await expect(
      cell(page, INSTRUCT_30B, "pro_ic", "refusal").locator(".sb-value").textContent(),
    ).resolves.toBe("12.68");
    await expect(
      cell(page, INSTRUCT_30B, "anti_ic", "conv").locator(".sb-value").textContent(),
    ).resolves.toBe("2.82");
    await expect(
      cell(page, INSTRUCT_30B, "anti_ic", "refusal").locator(".sb-value").textContent(),
    ).resolves.toBe("19.72");
    await expect(
      page
        .locator(`[data-table="table1"] td[data-model="${INSTRUCT_30B}"][data-metric="delta"] .sb-value`)
        .textContent(),
    ).resolves.toBe("+78.87");
    await expect(cell(page, BASE_4B, "pro_ic", "conv").locator(".sb-value").textContent()).resolves.toBe(
      "65.91",
    );
    await expect(cell(page, BASE_4B, "pro_ic", "n").textContent()).resolves.toBe("44of 71");
    // A Wilson interval sits under every rate.
    await expect(cell(page, INSTRUCT_30B, "pro_ic", "conv").locator(".sb-ci").textContent()).resolves.toMatch(
      /^\[\d+\.\d, \d+\.\d\]$/,
    );
    expect(await page.locator('[data-table="gaps"] tbody tr').count()).toBe(6);
    expect(watch.requests).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(loadMs, "7 MB report ready").toBeLessThan(10_000);
  });

  test("figures draw as SVG and export as SVG and PNG", async () => {
    for (const id of ["fig-convergence", "fig-gap", "fig-categories", "fig-refusal"]) {
      const svg = page.locator(`#${id} .sb-chart svg`);
      await svg.waitFor();
      expect(await svg.locator("path, rect").count(), id).toBeGreaterThan(10);
    }
    // Model names are drawn as SVG text.
    expect(
      await page.locator("#fig-convergence svg text", { hasText: INSTRUCT_30B }).count(),
    ).toBeGreaterThan(0);

    const [svgDownload] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('#fig-convergence [data-export="svg"]').click(),
    ]);
    expect(svgDownload.suggestedFilename()).toMatch(/convergence\.svg$/);
    const svgText = readFileSync((await svgDownload.path())!, "utf8");
    expect(svgText).toMatch(/^<\?xml[^>]*>\s*<svg/);
    expect(svgText).toContain(INSTRUCT_30B);

    const [pngDownload] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('#fig-categories [data-export="png"]').click(),
    ]);
    expect(pngDownload.suggestedFilename()).toMatch(/categories\.png$/);
    const png = readFileSync((await pngDownload.path())!);
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect(distinctColours(png)).toBeGreaterThan(20);
    expect(watch.errors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
  });

  test("the explorer filters items and shows conditions side by side", async () => {
    const countText = () => page.locator(".sb-count").first().getAttribute("data-count");
    await page.locator('select[data-filter="model"]').selectOption(INSTRUCT_30B);
    await expect.poll(countText).toBe("71");
    const cards = page.locator("article.sb-card");
    expect(await cards.count()).toBe(20); // one page
    expect(await cards.first().getAttribute("data-model")).toBe(INSTRUCT_30B);
    expect(
      await cards
        .first()
        .locator(".sb-cell")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-condition"))),
    ).toEqual(["baseline", "pro_ic", "anti_ic"]);
    // Each cell: label, the judge's reason, the response.
    const firstCell = cards.first().locator(".sb-cell").first();
    expect(await firstCell.locator(".sb-chip").getAttribute("data-label")).toMatch(
      /convergence|refusal|nonsensical/,
    );
    expect((await firstCell.locator('[data-field="reason"]').textContent())!.length).toBeGreaterThan(10);
    expect((await firstCell.locator('[data-field="response"]').textContent())!.length).toBeGreaterThan(10);

    await page.locator('[data-page="next"]').first().click();
    await expect.poll(() => page.locator(".sb-page-of").first().textContent()).toBe("Page 2 of 4");

    await page.locator('select[data-filter="label"]').selectOption("convergence");
    await expect.poll(countText).toBe(String(expected.anyConvergence));
    await page.locator('select[data-filter="label"]').selectOption("*");

    await page.locator('input[data-filter="changed"]').check();
    await expect.poll(countText).toBe(String(expected.changed));
    await page.locator('input[data-filter="changed"]').uncheck();

    await page.locator('select[data-filter="category"]').selectOption("evading-shutdown");
    await expect.poll(countText).toBe("15");
    await page.locator('select[data-filter="category"]').selectOption("*");

    await page.locator('input[data-filter="search"]').fill(expected.phrase.toUpperCase());
    await expect.poll(countText).toBe("1");
    expect(await cards.first().getAttribute("data-scenario")).toBe(expected.phraseScenario);
    await page.locator('input[data-filter="search"]').fill("");
    await expect.poll(countText).toBe("71");

    await page.locator('input[data-filter-condition="anti_ic"]').uncheck();
    await expect.poll(() => cards.first().locator(".sb-cell").count()).toBe(2);

    // Thinking is collapsed, and rendered once opened.
    await page.locator('select[data-filter="model"]').selectOption(expected.thinkingModel);
    const thinking = cards.first().locator("details.sb-thinking").first();
    expect(await thinking.locator('[data-field="thinking"]').count()).toBe(0);
    await thinking.locator("summary").click();
    expect((await thinking.locator('[data-field="thinking"]').textContent())!.length).toBeGreaterThan(100);

    expect(watch.requests).toEqual([]);
    expect(watch.errors).toEqual([]);
  });

  test("a screenshot of the report is not blank", async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    const shot = await page.screenshot({ fullPage: false });
    const blank = await chrome.context.newPage();
    await blank.setContent("<html><body></body></html>");
    const blankShot = await blank.screenshot();
    expect(distinctColours(blankShot)).toBeLessThanOrEqual(2);
    expect(distinctColours(shot)).toBeGreaterThan(100);
    await page.locator("#figures").scrollIntoViewIfNeeded();
    expect(distinctColours(await page.screenshot())).toBeGreaterThan(100);
    await blank.close();
  });
});
