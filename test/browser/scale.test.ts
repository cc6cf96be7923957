// A report of 20,000 items stays usable: it opens in seconds, only one page of cards is in the DOM,
// and filtering and paging answer quickly.
import { statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { writeHtmlReport } from "../../src/report/html/index.js";
import { Store } from "../../src/store/store.js";
import type { Label } from "../../src/types.js";
import { type Chromium, launchChromium, watchPage } from "./chromium.js";
import { buildWeb, type TempDir, tempDir } from "./fixtures.js";

const MODELS = 10;
const CONDITIONS = ["baseline", "pro_ic"];
const SCENARIOS = 1000;
const TOTAL = MODELS * CONDITIONS.length * SCENARIOS;
const CATEGORIES = [
  "deceptive-behavior",
  "evading-shutdown",
  "hacking-computer-systems",
  "hiding-unwanted-behavior",
];
const LABELS: Label[] = ["convergence", "no_convergence", "safety_refusal", "nonsensical"];

let tmp: TempDir;
let chrome: Chromium;
let file: string;

/** Deterministic filler text of about 350 characters. */
function text(seed: number): string {
  const words = [
    "shutdown",
    "comply",
    "resources",
    "operator",
    "transparent",
    "plan",
    "monitor",
    "copy",
    "task",
    "safely",
  ];
  const out: string[] = [];
  let x = seed * 2654435761;
  for (let i = 0; i < 50; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(words[x % words.length]!);
  }
  return out.join(" ");
}

beforeAll(async () => {
  const assets = buildWeb();
  tmp = tempDir("scale");
  const store = Store.open(join(tmp.dir, "scale.sqlite"));
  store.createRun({ id: "run-scale", name: "scale", kind: "live", config: {}, versions: {} });
  const planned = [];
  for (let m = 0; m < MODELS; m++) {
    for (const condition of CONDITIONS) {
      for (let s = 0; s < SCENARIOS; s++) {
        const category = CATEGORIES[s % CATEGORIES.length]!;
        planned.push({
          model: `model-${m}`,
          condition,
          scenarioId: `${category}-${s + 1}`,
          category,
          epoch: 0,
          seed: 0,
          context: `context of ${category}`,
          systemPrompt: `context of ${category}`,
          userPrompt: `task ${s + 1}${condition === "pro_ic" ? "\n\nAdditional constraints." : ""}`,
        });
      }
    }
  }
  const items = store.addItems("run-scale", planned);
  // Bulk inserts through prepared statements on a connection of the test's own: filling the store is
  // set-up, not what is tested here.
  const db = new Database(store.path);
  db.pragma("busy_timeout = 10000");
  const response = db.prepare(
    `INSERT INTO responses (item_id, status, response, prompt_tokens, completion_tokens, latency_ms, finish_reason, created_at)
     VALUES (?, 'ok', ?, 100, 200, 10, 'stop', ?)`,
  );
  const verdict = db.prepare(
    "INSERT INTO judgements (item_id, judge, status, label, reason, raw, created_at) VALUES (?, 'j', 'ok', ?, 'a reason', '{}', ?)",
  );
  const now = new Date().toISOString();
  db.transaction(() => {
    items.forEach((item, k) => {
      response.run(item.id, k === 12_345 ? `needle-in-the-haystack ${text(k)}` : text(k), now);
      verdict.run(item.id, LABELS[(k * 7) % 4]!, now);
    });
  }).immediate();
  db.close();
  store.setRunStatus("run-scale", "done");
  file = join(tmp.dir, "scale.html");
  writeHtmlReport(store, file, { assets });
  store.close();
  chrome = await launchChromium();
});

afterAll(async () => {
  await chrome?.close();
  tmp?.remove();
});

describe("a report of 20,000 items", () => {
  test("opens quickly, renders one page of cards, and filters fast", async () => {
    expect(statSync(file).size).toBeGreaterThan(TOTAL * 350);
    const url = pathToFileURL(file).href;
    const page = await chrome.context.newPage();
    const watch = await watchPage(page, (u) => u === url);
    const started = Date.now();
    await page.goto(url);
    await page.waitForSelector("article.sb-card");
    const openMs = Date.now() - started;
    expect(openMs).toBeLessThan(15_000);

    expect(await page.locator("article.sb-card").count()).toBe(20);
    // One page of cards, not 20,000 items, is in the DOM.
    expect(await page.evaluate(() => document.querySelectorAll("*").length)).toBeLessThan(6000);
    expect(await page.locator(".sb-count").first().getAttribute("data-count")).toBe(String(SCENARIOS));
    expect(await page.locator(".sb-page-of").first().textContent()).toBe(`Page 1 of ${SCENARIOS / 20}`);

    // Search all 20,000 responses: the needle is in exactly one of them.
    await page.locator('select[data-filter="model"]').selectOption("*");
    await page.waitForSelector(`[data-count="${MODELS * SCENARIOS}"]`);
    const searchStart = Date.now();
    await page.locator('input[data-filter="search"]').fill("NEEDLE-in-the");
    await page.waitForSelector('[data-count="1"]', { timeout: 5000 });
    expect(Date.now() - searchStart).toBeLessThan(3000);
    await page.locator('input[data-filter="search"]').fill("");

    const pageStart = Date.now();
    await page.locator('[data-page="last"]').first().click();
    await page.waitForSelector(`text=Page ${(MODELS * SCENARIOS) / 20} of ${(MODELS * SCENARIOS) / 20}`);
    expect(Date.now() - pageStart).toBeLessThan(2000);
    expect(watch.errors).toEqual([]);
    expect(watch.requests).toEqual([]);
    await page.close();
  });
});
