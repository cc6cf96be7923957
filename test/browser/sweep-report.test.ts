// The report of a 7-strength sweep in a real chromium: Table 1 fits its box (regression: 2,217 px wide
// in a 1,184 px box) and the figures draw.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { writeHtmlReport } from "../../src/report/html/index.js";
import { sweepStore } from "../helpers/sweep-store.js";
import { type Chromium, launchChromium } from "./chromium.js";
import { buildWeb, type TempDir, tempDir } from "./fixtures.js";

let tmp: TempDir;
let chrome: Chromium;
let url: string;

beforeAll(async () => {
  const assets = buildWeb();
  tmp = tempDir("sweep-report");
  const store = sweepStore();
  const file = join(tmp.dir, "sweep.html");
  writeHtmlReport(store, file, { assets, run: "sweep-7" });
  store.close();
  url = pathToFileURL(file).href;
  chrome = await launchChromium();
});
afterAll(async () => {
  await chrome?.close();
  tmp?.remove();
});

describe("sweep report", () => {
  test("Table 1 is one row per condition and no wider than the page", async () => {
    const page = await chrome.context.newPage();
    await page.goto(url);
    const table = page.locator('[data-table="table1"]');
    await table.waitFor();
    expect(await table.getAttribute("data-layout")).toBe("long");
    expect(await page.locator('[data-table="table1"] tbody tr').count()).toBe(9);
    const widths = await page.evaluate(() => {
      const t = document.querySelector('[data-table="table1"]')!;
      return {
        table: t.getBoundingClientRect().width,
        page: document.documentElement.scrollWidth,
        view: innerWidth,
      };
    });
    expect(widths.table).toBeLessThanOrEqual(widths.view);
    expect(widths.page).toBeLessThanOrEqual(widths.view);
    await page.close();
  });
});
