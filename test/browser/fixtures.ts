// Shared set-up of the browser tests: a fresh UI bundle, temp stores filled from the paper's published
// runs or with hostile texts, and report files written from them.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importPublishedRuns } from "../../src/importers/import-published.js";
import { loadWebAssets, type WebAssets } from "../../src/report/html/index.js";
import { Store } from "../../src/store/store.js";
import type { Label } from "../../src/types.js";
import { repoRoot, runsDir } from "../paths.js";

/** Newest modification time of the files the bundle is built from. */
function newestSource(): number {
  const dirs = ["src/web", "src/report/html", "src/metrics"].map((d) => join(repoRoot, d));
  let newest = Math.max(
    statSync(join(repoRoot, "scripts", "build-web.mjs")).mtimeMs,
    statSync(join(repoRoot, "src", "types.ts")).mtimeMs,
  );
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) newest = Math.max(newest, statSync(join(dir, name)).mtimeMs);
  }
  return newest;
}

/** Builds dist/web when it is missing or older than its sources (as make would), and returns it. */
export function buildWeb(): WebAssets {
  const bundle = join(repoRoot, "dist", "web", "app.js");
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource()) return loadWebAssets();
  execFileSync(process.execPath, [join(repoRoot, "scripts", "build-web.mjs")], {
    cwd: repoRoot,
    env: { ...process.env, STEERBENCH_WEB_QUIET: "1" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  return loadWebAssets();
}

export interface TempDir {
  dir: string;
  remove(): void;
}

export function tempDir(prefix: string): TempDir {
  const dir = mkdtempSync(join(tmpdir(), `steerbench-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A store holding the 18 published runs of arXiv 2601.01584 as one run. */
export async function publishedStore(dir: string): Promise<{ store: Store; runId: string; judge: string }> {
  const store = Store.open(join(dir, "published.sqlite"));
  const res = await importPublishedRuns(store, runsDir);
  return { store, runId: res.run.id, judge: res.judge };
}

/** Texts that would run code, load something or break out of the page if rendered as markup. */
export const PAYLOADS = [
  "<script>window.__pwned = 1; alert('script')</script>",
  "<img src=x onerror=\"window.__pwned = 2; alert('img')\">",
  "<a href=\"javascript:alert('link')\">click me</a>",
  "</textarea><svg onload=alert('svg')>",
  "</script><script>alert('close')</script>",
  "<!-- <script>alert('comment')</script> -->",
  'line\u2028separator\u2029paragraph <iframe src="http://127.0.0.1:9/x"></iframe>',
  "<style>body{display:none}</style><link rel=stylesheet href=http://127.0.0.1:9/x.css>",
] as const;

/** A run whose prompts, responses, thinking and judge reasons are the payloads above. */
export function addHostileRun(store: Store, runId = "run-hostile"): { runId: string; itemIds: number[] } {
  store.createRun({
    id: runId,
    name: "hostile <b>run</b> </script>",
    kind: "live",
    config: {
      conditions: ["baseline", "pro_ic"],
      models: [{ name: "m<script>", model: "m" }],
      judges: [{ name: "j", model: "j" }],
    },
    versions: { steerbench: "test" },
    dataHash: null,
  });
  const items = store.addItems(
    runId,
    PAYLOADS.flatMap((payload, i) =>
      ["baseline", "pro_ic"].map((condition) => ({
        model: "m<script>",
        condition,
        scenarioId: `hostile-${i + 1}`,
        category: "hostile",
        epoch: 0,
        seed: null,
        context: `context ${payload}`,
        systemPrompt: `system ${payload}`,
        userPrompt: `prompt ${payload}${condition === "pro_ic" ? " SUFFIX" : ""}`,
      })),
    ),
  );
  const labels: Label[] = ["convergence", "no_convergence"];
  store.transaction(() => {
    items.forEach((item, k) => {
      const payload = PAYLOADS[Math.floor(k / 2)]!;
      store.saveResponse({
        itemId: item.id,
        status: "ok",
        response: `response ${payload}`,
        thinking: `thinking ${payload}`,
        promptTokens: 10,
        completionTokens: 20,
        latencyMs: 5,
        finishReason: "stop",
        requestJson: null,
        error: null,
      });
      store.saveJudgement({
        itemId: item.id,
        judge: "j",
        status: "ok",
        label: labels[k % 2]!,
        reason: `reason ${payload}`,
        raw: payload,
        scores: null,
        error: null,
        latencyMs: 1,
      });
    });
  });
  store.setRunStatus(runId, "done");
  return { runId, itemIds: items.map((i) => i.id) };
}
