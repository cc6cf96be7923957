// The HTML report: data from the store, the self-contained report file, and the shapes the browser UI
// (src/web) and the viewer (src/viewer) share.
export { defaultWebDir, loadWebAssets, type WebAssets, WebAssetsError } from "./assets.js";
export { cspHash, escapeHtml, jsonForScript } from "./embed.js";
export { loadItems, parseCursor, runCursor } from "./items.js";
export { runSettings } from "./settings.js";
export { buildSummary, defaultPairs, type SummaryOptions, sweepStrengths } from "./summary.js";
export * from "./types.js";
export {
  buildReportData,
  type ReportOptions,
  renderReportHtml,
  reportCsp,
  type WriteReportResult,
  writeHtmlReport,
} from "./write-html.js";
