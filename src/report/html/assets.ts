// The browser bundle (scripts/build-web.mjs writes it to dist/web). The report inlines it; the viewer
// serves it. The path is found from this module's own location, which is three levels below the
// package root both in src/ (tests) and in dist/ (the installed CLI).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface WebAssets {
  js: string;
  css: string;
}

export class WebAssetsError extends Error {}

export function defaultWebDir(): string {
  return fileURLToPath(new URL("../../../dist/web/", import.meta.url));
}

/** Reads app.js and app.css; a clear error when the bundle was never built. */
export function loadWebAssets(dir: string = process.env.STEERBENCH_WEB_DIR ?? defaultWebDir()): WebAssets {
  const read = (name: string): string => {
    const file = join(dir, name);
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new WebAssetsError(
        `the web UI bundle ${file} is missing (${(err as NodeJS.ErrnoException).code ?? "unreadable"}); run \`npm run build\``,
      );
    }
  };
  return { js: read("app.js"), css: read("app.css") };
}
