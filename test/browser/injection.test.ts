// Hostile texts in prompts, responses, thinking, judge reasons and names stay inert, in the report
// file and in the viewer: no dialog, no request, no element they would create, and the text shows
// literally.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WebAssets } from "../../src/report/html/index.js";
import { writeHtmlReport } from "../../src/report/html/index.js";
import { Store } from "../../src/store/store.js";
import { startViewer, type ViewerServer } from "../../src/viewer/server.js";
import { type Chromium, launchChromium, type PageWatch, watchPage } from "./chromium.js";
import { addHostileRun, buildWeb, PAYLOADS, type TempDir, tempDir } from "./fixtures.js";

let tmp: TempDir;
let chrome: Chromium;
let store: Store;
let assets: WebAssets;
let viewer: ViewerServer;

beforeAll(async () => {
  assets = buildWeb();
  tmp = tempDir("inject");
  store = Store.open(join(tmp.dir, "hostile.sqlite"));
  addHostileRun(store);
  viewer = await startViewer({ store, assets });
  chrome = await launchChromium();
});

afterAll(async () => {
  await chrome?.close();
  await viewer?.close();
  store?.close();
  tmp?.remove();
});

/** Opens every collapsed part of every card so all texts are in the DOM. */
async function renderEverything(page: Page): Promise<void> {
  await page.waitForSelector("article.sb-card");
  for (const summary of await page.locator("article.sb-card details > summary").all()) await summary.click();
  for (const summary of await page
    .locator(".sb-condition details > summary, details.sb-raw > summary")
    .all()) {
    await summary.click();
  }
  // Hover every chart mark, so tooltips (built from names) render too.
  for (const box of await page.locator(".sb-chart svg path").all()) {
    await box.hover({ force: true, timeout: 1000 }).catch(() => undefined);
    break;
  }
}

async function assertInert(page: Page, watch: PageWatch): Promise<void> {
  const found = await page.evaluate(() => {
    const all = [...document.querySelectorAll("*")];
    return {
      pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
      scripts: document.querySelectorAll("script").length,
      styles: document.querySelectorAll("style, link").length,
      loaders: document.querySelectorAll("img, iframe, object, embed, textarea, video, audio, source, frame")
        .length,
      handlers: all
        .filter((e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith("on")))
        .map((e) => e.tagName),
      jsLinks: [...document.querySelectorAll("a[href]")]
        .map((a) => a.getAttribute("href") ?? "")
        .filter((h) => !h.startsWith("#")),
      bodyHidden: getComputedStyle(document.body).display === "none",
    };
  });
  expect(found.pwned).toBeNull();
  expect(found.loaders).toBe(0);
  expect(found.handlers).toEqual([]);
  expect(found.jsLinks).toEqual([]);
  expect(found.bodyHidden).toBe(false);
  expect(watch.dialogs).toEqual([]);
  expect(watch.requests).toEqual([]);
  expect(watch.errors).toEqual([]);
  expect(watch.cspViolations).toEqual([]);

  // Every hostile text shows literally, character for character.
  const fields = async (name: string) => page.locator(`[data-field="${name}"]`).allTextContents();
  const responses = await fields("response");
  const thinking = await fields("thinking");
  const reasons = await fields("reason");
  const prompts = await fields("prompt");
  const contexts = await fields("context");
  for (const p of PAYLOADS) {
    expect(responses, p).toContain(`response ${p}`);
    expect(thinking, p).toContain(`thinking ${p}`);
    expect(reasons, p).toContain(`reason ${p}`);
    expect(prompts, p).toContain(`prompt ${p}`);
    expect(contexts, p).toContain(`context ${p}`);
  }
}

async function showAllCards(page: Page): Promise<void> {
  // Eight scenarios, one model: every card fits on the first page.
  await page.waitForSelector('[data-count="8"]');
}

describe("hostile texts stay inert", () => {
  test("in the HTML report file", async () => {
    const file = join(tmp.dir, "hostile.html");
    writeHtmlReport(store, file, { assets, run: "run-hostile" });
    const url = pathToFileURL(file).href;
    const page = await chrome.context.newPage();
    const watch = await watchPage(page, (u) => u === url);
    await page.goto(url);
    await showAllCards(page);
    const before = await page.evaluate(() => document.querySelectorAll("script").length);
    await renderEverything(page);
    await assertInert(page, watch);
    expect(await page.evaluate(() => document.querySelectorAll("script").length)).toBe(before);
    expect(await page.title()).toBe("hostile <b>run</b> </script> · steerbench report");
    expect(await page.locator("h1[data-run-name]").textContent()).toBe("hostile <b>run</b> </script>");
    await page.close();
  });

  test("in the viewer", async () => {
    const page = await chrome.context.newPage();
    const origin = new URL(viewer.url).origin;
    const watch = await watchPage(page, (u) => u.startsWith(`${origin}/`));
    const res = await page.goto(viewer.url);
    expect(res?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await showAllCards(page);
    await renderEverything(page);
    await assertInert(page, watch);
    expect(await page.locator("h1[data-run-name]").textContent()).toBe("hostile <b>run</b> </script>");
    await page.close();
  });
});
