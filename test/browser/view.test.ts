// `steerbench view` in a real chromium: the page and API carry the CSP, the run picker switches runs,
// and verdicts written to the store by another connection appear without a reload.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Store } from "../../src/store/store.js";
import { startViewer, VIEWER_CSP, type ViewerServer } from "../../src/viewer/server.js";
import { type Chromium, distinctColours, launchChromium, type PageWatch, watchPage } from "./chromium.js";
import { buildWeb, publishedStore, type TempDir, tempDir } from "./fixtures.js";

const LIVE = "run-live-test";
const SCENARIOS = 10;

let tmp: TempDir;
let chrome: Chromium;
let store: Store;
let writer: Store;
let viewer: ViewerServer;
let publishedId: string;
let proIcItems: number[];
let page: Page;
let watch: PageWatch;

/** A run in progress: every response is in, pro_ic is not judged yet. */
function addLiveRun(s: Store): number[] {
  s.createRun({
    id: LIVE,
    name: "live test run",
    kind: "live",
    config: { conditions: ["baseline", "pro_ic"] },
    versions: {},
  });
  const items = s.addItems(
    LIVE,
    ["baseline", "pro_ic"].flatMap((condition) =>
      Array.from({ length: SCENARIOS }, (_, i) => ({
        model: "live-model",
        condition,
        scenarioId: `evading-shutdown-${i + 1}`,
        category: "evading-shutdown",
        epoch: 0,
        seed: 0,
        context: "context",
        systemPrompt: "system",
        userPrompt: `task ${i + 1}${condition === "pro_ic" ? "\n\nsuffix\n" : ""}`,
      })),
    ),
  );
  s.transaction(() => {
    for (const item of items) {
      s.saveResponse({
        itemId: item.id,
        status: "ok",
        response: `answer to ${item.scenarioId} under ${item.condition}`,
        thinking: null,
        promptTokens: 12,
        completionTokens: 34,
        latencyMs: 100,
        finishReason: "stop",
        requestJson: null,
        error: null,
      });
      if (item.condition === "baseline") {
        // A second judge that disagrees on the first three scenarios.
        const n = Number(item.scenarioId.split("-").pop());
        s.saveJudgement({
          itemId: item.id,
          judge: "judge-b",
          status: "ok",
          label: n <= 3 ? "convergence" : "no_convergence",
          reason: "second opinion",
          raw: "{}",
          scores: null,
          error: null,
          latencyMs: 1,
        });
        s.saveJudgement({
          itemId: item.id,
          judge: "judge-a",
          status: "ok",
          label: "no_convergence",
          reason: "plain answer",
          raw: "{}",
          scores: null,
          error: null,
          latencyMs: 1,
        });
      }
    }
  });
  return items.filter((i) => i.condition === "pro_ic").map((i) => i.id);
}

beforeAll(async () => {
  const assets = buildWeb();
  tmp = tempDir("view");
  const published = await publishedStore(tmp.dir);
  store = published.store;
  publishedId = published.runId;
  proIcItems = addLiveRun(store);
  writer = Store.open(store.path);
  viewer = await startViewer({ store, assets, port: 0 });
  chrome = await launchChromium();
  page = await chrome.context.newPage();
  const origin = new URL(viewer.url).origin;
  watch = await watchPage(page, (u) => u.startsWith(`${origin}/`));
});

afterAll(async () => {
  await chrome?.close();
  await viewer?.close();
  writer?.close();
  store?.close();
  tmp?.remove();
});

const picker = () => page.locator("select[data-run-picker]");
const convCell = (model: string, condition: string) =>
  page.locator(
    `[data-table="table1"] td[data-model="${model}"][data-condition="${condition}"][data-metric="conv"] .sb-value`,
  );

describe("steerbench view in chromium", () => {
  test("serves the newest run with a strict CSP on the page", async () => {
    const res = await page.goto(viewer.url);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toBe(VIEWER_CSP);
    await page.waitForSelector("h1[data-run-name]");
    expect(await page.locator("h1[data-run-name]").textContent()).toBe("live test run");
    expect(await picker().locator("option").count()).toBe(2);
    await expect.poll(() => convCell("live-model", "baseline").textContent()).toBe("0.00");
    expect(distinctColours(await page.screenshot())).toBeGreaterThan(50);
  });

  test("switches runs with the picker", async () => {
    await picker().selectOption(publishedId);
    await expect.poll(() => page.locator("h1[data-run-name]").textContent()).toMatch(/^imported/);
    await expect.poll(() => convCell("Qwen3-30B-A3B-Instruct-2507", "pro_ic").textContent()).toBe("81.69");
    expect(new URL(page.url()).searchParams.get("run")).toBe(publishedId);
    await picker().selectOption(LIVE);
    await expect.poll(() => page.locator("h1[data-run-name]").textContent()).toBe("live test run");
  });

  test("with two judges: pick the judge, and filter items the judges disagree on", async () => {
    await page.locator('select[data-filter="judge"]').selectOption("judge-b");
    await expect.poll(() => convCell("live-model", "baseline").textContent()).toBe("30.00");
    await page.locator('select[data-filter="judge"]').selectOption("judge-a");
    await expect.poll(() => convCell("live-model", "baseline").textContent()).toBe("0.00");
    await page.locator('select[data-filter="model"]').selectOption("live-model");
    await page.locator('input[data-filter="disagree"]').check();
    await expect.poll(() => page.locator(".sb-count").first().getAttribute("data-count")).toBe("3");
    expect(
      await page
        .locator("article.sb-card")
        .evaluateAll((cards) => cards.map((c) => c.getAttribute("data-scenario"))),
    ).toEqual(["evading-shutdown-1", "evading-shutdown-2", "evading-shutdown-3"]);
    // Both judges' labels are shown on a cell.
    const cell = page.locator(
      'article.sb-card[data-scenario="evading-shutdown-1"] .sb-cell[data-condition="baseline"]',
    );
    expect(
      await cell.locator(".sb-chip").evaluateAll((c) => c.map((x) => x.getAttribute("data-label"))),
    ).toEqual(["no_convergence", "convergence"]);
    await page.locator('input[data-filter="disagree"]').uncheck();
  });

  test("verdicts written to the store show up without a reload", async () => {
    await page.evaluate(() => {
      (window as unknown as { __noReload: boolean }).__noReload = true;
    });
    await page.locator('select[data-filter="model"]').selectOption("live-model");
    const chip = page
      .locator(
        'article.sb-card[data-scenario="evading-shutdown-1"] .sb-cell[data-condition="pro_ic"] .sb-chip',
      )
      .first();
    await expect.poll(() => chip.getAttribute("data-label")).toBe("none");
    expect(await convCell("live-model", "pro_ic").textContent()).toBe("n/a");

    // Another connection (as a running `steerbench run` would) judges pro_ic: 7 of 10 converge.
    writer.transaction(() => {
      proIcItems.forEach((itemId, i) => {
        writer.saveJudgement({
          itemId,
          judge: "judge-a",
          status: "ok",
          label: i < 7 ? "convergence" : "no_convergence",
          reason: i < 7 ? "resists shutdown" : "complies",
          raw: "{}",
          scores: null,
          error: null,
          latencyMs: 1,
        });
      });
    });
    writer.setRunStatus(LIVE, "done");

    await expect
      .poll(() => convCell("live-model", "pro_ic").textContent(), { timeout: 10_000 })
      .toBe("70.00");
    await expect.poll(() => chip.getAttribute("data-label")).toBe("convergence");
    expect(
      await page
        .locator(
          'article.sb-card[data-scenario="evading-shutdown-1"] .sb-cell[data-condition="pro_ic"] [data-field="reason"]',
        )
        .textContent(),
    ).toBe("resists shutdown");
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    expect(watch.requests).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
  });
});
