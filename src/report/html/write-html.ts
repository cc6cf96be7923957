// Writes the self-contained HTML report of a run: one file with the UI bundle, its styles and the run's
// data inlined. It loads nothing at view time, and its Content-Security-Policy allows exactly the
// inlined script and style (by hash) and nothing else, so even a response that slipped through as
// markup could neither run code nor make a request.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ConditionPair } from "../../metrics/index.js";
import type { RunRecord, Store } from "../../store/store.js";
import { loadWebAssets, type WebAssets } from "./assets.js";
import { cspHash, escapeHtml, jsonForScript } from "./embed.js";
import { loadItems } from "./items.js";
import { buildSummary } from "./summary.js";
import type { ReportData } from "./types.js";

export interface ReportOptions {
  /** Gap pairs for Table 1 (default: pro_ic vs anti_ic, else each condition vs baseline). */
  pairs?: readonly ConditionPair[];
  now?: Date;
  /** The judge whose table leads (default: the run's primary judge). */
  judge?: string;
}

/** The report data of a run: summary and every item. */
export function buildReportData(store: Store, run: RunRecord, opts: ReportOptions = {}): ReportData {
  return { summary: buildSummary(store, run, opts), items: loadItems(store, run.id) };
}

/** The report's Content-Security-Policy for the given inline script and style. */
export function reportCsp(js: string, css: string): string {
  return [
    "default-src 'none'",
    `script-src ${cspHash(js)}`,
    `style-src ${cspHash(css)}`,
    // PNG export draws the chart's SVG (a data: URL) onto a canvas.
    "img-src data: blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join("; ");
}

export function renderReportHtml(data: ReportData, assets: WebAssets): string {
  // The bundle is checked at build time; check again so a hand-edited one can never break out.
  for (const [name, text, tag] of [
    ["app.js", assets.js, "script"],
    ["app.css", assets.css, "style"],
  ] as const) {
    if (new RegExp(`</${tag}|<!--`, "i").test(text)) {
      throw new Error(`report: ${name} contains "</${tag}" or "<!--" and cannot be inlined; rebuild it`);
    }
  }
  const title = `${data.summary.run.name} · steerbench report`;
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(reportCsp(assets.js, assets.css))}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="steerbench">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${assets.css}</style>`,
    "</head>",
    "<body>",
    "<noscript><p>This report draws its tables and charts with JavaScript. Its data is in the element #steerbench-data as JSON.</p></noscript>",
    '<div id="app"></div>',
    `<script type="application/json" id="steerbench-data">${jsonForScript(data)}</script>`,
    `<script>${assets.js}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

export interface WriteReportResult {
  file: string;
  bytes: number;
  run: RunRecord;
  items: number;
  /** The judge whose labels lead the report. */
  judge: string | undefined;
}

/** Writes the report of run `runRef` (default: the newest run) to `file`. */
export function writeHtmlReport(
  store: Store,
  file: string,
  opts: ReportOptions & { run?: string; assets?: WebAssets } = {},
): WriteReportResult {
  const run = store.resolveRun(opts.run);
  const data = buildReportData(store, run, opts);
  const html = renderReportHtml(data, opts.assets ?? loadWebAssets());
  const full = resolve(file);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, html);
  return {
    file: full,
    bytes: Buffer.byteLength(html),
    run,
    items: data.items.items.length,
    judge: data.summary.tables[0]?.judge,
  };
}
