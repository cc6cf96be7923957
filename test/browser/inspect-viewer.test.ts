// Logs exported by `steerbench export --format inspect` opened in Inspect's own published viewer
// (@metrevals/inspect-log-viewer, bundled by esbuild) in a real chromium, offline: the folder
// exactly as exported (logs + listing.json) is served from 127.0.0.1, as `inspect view bundle`
// deploys it. The viewer must show the sample count, a response and its label, for .json and .eval.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exportRunInspect } from "../../src/interop/inspect/export-run.js";
import type { Store } from "../../src/store/store.js";
import { type Chromium, launchChromium, watchPage } from "./chromium.js";
import { addHostileRun, publishedStore, type TempDir, tempDir } from "./fixtures.js";
import { buildInspectViewer, VIEWER_HTML } from "./inspect-viewer/build.js";

let tmp: TempDir;
let chrome: Chromium;
let server: Server;
let origin: string;
let store: Store;

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
};

/** A static file server with byte ranges (the viewer reads .eval zips by range). */
function serve(root: string): Promise<Server> {
  const s = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    let body: Buffer;
    try {
      if (!path.startsWith(root)) throw new Error("outside");
      body = readFileSync(path);
    } catch {
      res.writeHead(404).end();
      return;
    }
    const type = TYPES[extname(path)] ?? "application/octet-stream";
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      res.writeHead(206, {
        "content-type": type,
        "content-range": `bytes ${start}-${end}/${body.length}`,
        "content-length": end - start + 1,
      });
      res.end(body.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { "content-type": type, "content-length": body.length, "accept-ranges": "bytes" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}

beforeAll(async () => {
  tmp = tempDir("inspect-viewer");
  const site = join(tmp.dir, "site");
  await buildInspectViewer(site);
  writeFileSync(join(site, "index.html"), VIEWER_HTML);
  const pub = await publishedStore(tmp.dir);
  store = pub.store;
  exportRunInspect(store, pub.runId, join(site, "json"), "json");
  exportRunInspect(store, pub.runId, join(site, "eval"), "eval");
  for (const format of ["json", "eval"]) soleLog(site, format, SAMPLE_LOG);
  const hostile = addHostileRun(store);
  exportRunInspect(store, hostile.runId, join(site, "hostile"), "json");
  server = await serve(site);
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  chrome = await launchChromium();
}, 180_000);

afterAll(async () => {
  await chrome?.close();
  await new Promise((r) => server?.close(r));
  store?.close();
  tmp?.remove();
});

const SAMPLE_LOG = "Qwen3-4B-Base_baseline";

/**
 * `<format>-one/`: one exported log, byte for byte, with its own entry of the exported listing.json. With all
 * 18 logs listed, Inspect's viewer loads the others in the background, and on a loaded machine it showed
 * another log's sample under this log's sample page (twice in CI: another log's deceptive-behavior-1,
 * while the file holds the right answer). The listing test below still reads the full folder.
 */
function soleLog(site: string, format: string, name: string): void {
  const file = `${name}.${format}`;
  const dir = join(site, `${format}-one`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(site, format, file), join(dir, file));
  const listing: Record<string, unknown> = JSON.parse(
    readFileSync(join(site, format, "listing.json"), "utf8"),
  );
  if (!(file in listing)) throw new Error(`${file} is not in the exported listing.json`);
  writeFileSync(join(dir, "listing.json"), JSON.stringify({ [file]: listing[file] }));
}

/** The first sample of Qwen3-4B-Base × baseline in id order (the viewer's default sort). */
function firstSample(): { id: string; response: string; label: string; reason: string } {
  const run = store.listRuns().find((r) => r.kind === "import")!;
  const items = store
    .items(run.id)
    .filter((i) => i.model === "Qwen3-4B-Base" && i.condition === "baseline")
    .sort((a, b) => (a.scenarioId < b.scenarioId ? -1 : 1));
  const item = items[0]!;
  const j = store.judgements(run.id).find((x) => x.itemId === item.id)!;
  return {
    id: item.scenarioId,
    response: store.response(item.id)!.response!,
    label: j.label!,
    reason: j.reason!,
  };
}

describe("Inspect's viewer on exported logs", () => {
  test.each(["json", "eval"])(
    "a .%s log: sample count, a response and its label render",
    async (format) => {
      const page = await chrome.context.newPage();
      const watch = await watchPage(
        page,
        (u) => u.startsWith(origin) || u.startsWith("blob:") || u.startsWith("data:"),
      );
      try {
        await page.goto(`${origin}/index.html?log_dir=${format}-one#/logs/${SAMPLE_LOG}.${format}`);
        await page.getByText("71 Samples").first().waitFor({ timeout: 30_000 });
        await expect(page.getByText("steerbench/instrumentaleval").first().isVisible()).resolves.toBe(true);
        const s = firstSample();
        const row = page.getByText(s.id, { exact: true }).first();
        await row.waitFor();
        // The list shows the answer's first words and the label as the score.
        const firstWords = s.response.trim().split(/\s+/).slice(0, 6).join(" ");
        await page.getByText(firstWords).first().waitFor();
        const body = (await page.textContent("body")) ?? "";
        expect(body).toContain(s.label);
        // The sample's own page shows the whole response, and the judge's reason under Scoring.
        const lastWords = s.response.trim().split(/\s+/).slice(-5).join(" ");
        // The sample's page holds the whole response; the viewer may show a long one collapsed behind
        // "more..." (then its end is not in the page at all: a full CI run failed so), so each poll expands
        // what is collapsed and reads the page's text rather than waiting for it to be visible.
        await row.click();
        await expect
          .poll(
            async () => {
              const more = page.getByText("more...", { exact: true });
              for (let i = (await more.count()) - 1; i >= 0; i--)
                await more
                  .nth(i)
                  .click()
                  .catch(() => {});
              return (await page.textContent("body")) ?? "";
            },
            { timeout: 60_000 },
          )
          .toContain(lastWords);
        await page.getByText("Scoring", { exact: true }).first().click();
        await page.getByText(s.reason.slice(0, 40)).first().waitFor({ timeout: 60_000 });
        expect(watch.requests).toEqual([]);
        expect(watch.dialogs).toEqual([]);
      } finally {
        await page.close();
      }
    },
    180_000,
  );

  test("the list of logs comes from the exported listing.json", async () => {
    const page = await chrome.context.newPage();
    try {
      await page.goto(`${origin}/index.html?log_dir=json`);
      await page.getByText("18 items").waitFor({ timeout: 30_000 });
      await page.getByText("Qwen3-4B-Base_pro_ic.json").first().waitFor();
    } finally {
      await page.close();
    }
  });

  // A known hazard of the published viewer, pinned so that a fix shows up here (and the README's
  // warning can go): it renders message content as Markdown with raw HTML allowed (markdown-it,
  // `html: true`, unsanitised), so markup in a model's output runs in the viewer's page, already in the sample list. steerbench
  // exports text as text; the viewer is what turns it into markup.
  test("the viewer runs markup found in model output (documented in the README)", async () => {
    const page = await chrome.context.newPage();
    const watch = await watchPage(
      page,
      (u) => u.startsWith(origin) || u.startsWith("blob:") || u.startsWith("data:"),
    );
    try {
      await page.goto(`${origin}/index.html?log_dir=hostile#/logs/m-script-_baseline.json`);
      await page
        .getByText(/\d+ Samples/)
        .first()
        .waitFor({ timeout: 30_000 });
      await page.waitForFunction(
        () => (window as unknown as { __pwned?: number }).__pwned !== undefined,
        null,
        {
          timeout: 10_000,
        },
      );
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBe(2);
      expect(watch.dialogs.join("\n")).toMatch(/alert: img/);
    } finally {
      await page.close();
    }
  });
});
