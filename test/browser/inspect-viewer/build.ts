// Bundles the published Inspect log viewer (@metrevals/inspect-log-viewer, a React library) with
// entry.js into one script and one stylesheet (fonts and icons inlined), so a page on a loopback
// server can show logs with no network. The library ships React 19 in its own node_modules while the
// project root has React 18 (for react-router): both imports are pinned to the library's copy, since
// two Reacts in one page break hooks.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { repoRoot } from "../../paths.js";

const here = dirname(fileURLToPath(import.meta.url));
export const VIEWER_PACKAGE = join(repoRoot, "node_modules", "@metrevals", "inspect-log-viewer");

const inline = {
  ".woff": "dataurl",
  ".woff2": "dataurl",
  ".ttf": "dataurl",
  ".svg": "dataurl",
  ".png": "dataurl",
} as const;

/** Writes `app.js`, `app.css` and `index.html` into `outDir`. */
export async function buildInspectViewer(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, "entry.js")],
    bundle: true,
    format: "esm",
    outfile: join(outDir, "app.js"),
    alias: {
      react: join(VIEWER_PACKAGE, "node_modules", "react"),
      "react-dom": join(VIEWER_PACKAGE, "node_modules", "react-dom"),
    },
    define: { "process.env.NODE_ENV": '"production"' },
    loader: inline,
    absWorkingDir: repoRoot,
    logLevel: "error",
  });
  await build({
    entryPoints: [join(VIEWER_PACKAGE, "lib", "styles", "index.css")],
    bundle: true,
    outfile: join(outDir, "app.css"),
    loader: inline,
    logLevel: "error",
  });
}

export const VIEWER_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>Inspect View</title>' +
  '<link rel="stylesheet" href="app.css"></head><body><div id="app"></div>' +
  '<script type="module" src="app.js"></script></body></html>';
