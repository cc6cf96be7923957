#!/usr/bin/env node
// Bundles the browser UI (src/web) into dist/web/app.js and dist/web/app.css with esbuild. The HTML
// report inlines both; `steerbench view` serves them. Run by `npm run build`; the browser tests run it
// too, so a fresh checkout never tests a stale bundle.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = process.env.STEERBENCH_WEB_OUT ? resolve(process.env.STEERBENCH_WEB_OUT) : join(root, "dist", "web");

async function bundle(entry) {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    platform: "browser",
    // ASCII output: no raw U+2028/9 or other non-ASCII bytes inside the inlined script.
    charset: "ascii",
    legalComments: "eof",
    define: { "process.env.NODE_ENV": '"production"' },
    write: false,
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

// Text that would end or confuse an inline <script>/<style> element of the report.
const FORBIDDEN = [/<\/script/i, /<!--/, /<\/style/i];

function check(name, text) {
  for (const re of FORBIDDEN) {
    if (re.test(text)) throw new Error(`build-web: ${name} contains ${re}, which cannot be inlined in HTML`);
  }
}

// Writes through a temporary file and a rename, so concurrent builds (parallel test files) never
// leave a half-written bundle behind.
function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const js = (await bundle("src/web/main.ts")).replace(/<\/script/gi, "<\\/script");
const css = await bundle("src/web/styles.css");
check("app.js", js);
check("app.css", css);
mkdirSync(outDir, { recursive: true });
writeAtomic(join(outDir, "app.js"), js);
writeAtomic(join(outDir, "app.css"), css);
if (!process.env.STEERBENCH_WEB_QUIET) {
  process.stdout.write(`build-web: ${outDir}/app.js ${(js.length / 1024).toFixed(0)} KiB, app.css ${(css.length / 1024).toFixed(0)} KiB\n`);
}
