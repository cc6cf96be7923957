// Launches Debian's chromium through playwright-core for the browser tests: headless, no sandbox (CI
// runs as root), no background traffic, and a fresh profile per launch. A missing chromium is an
// error that says how to install it, never a skipped test.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { PNG } from "pngjs";

export const CHROMIUM_PATH = process.env.STEERBENCH_CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-dev-shm-usage",
];

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `chromium not found at ${CHROMIUM_PATH}: the browser tests need it. Install it with \`bash scripts/install-chromium.sh\` (as root), or set STEERBENCH_CHROMIUM to a chromium binary.`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "steerbench-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    // Tests read CSP violations and errors from the page itself.
    bypassCSP: false,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects what a page does that a report must never do, and its script errors. */
export interface PageWatch {
  requests: string[];
  dialogs: string[];
  errors: string[];
  cspViolations: string[];
}

export async function watchPage(page: Page, allowedUrl: (url: string) => boolean): Promise<PageWatch> {
  const watch: PageWatch = { requests: [], dialogs: [], errors: [], cspViolations: [] };
  page.on("request", (req) => {
    if (!allowedUrl(req.url())) watch.requests.push(req.url());
  });
  page.on("dialog", (d) => {
    watch.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on("pageerror", (e) => watch.errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") watch.errors.push(m.text());
  });
  await page.exposeFunction("__sbCspViolation", (text: string) => watch.cspViolations.push(text));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      const w = window as unknown as { __sbCspViolation?: (t: string) => void };
      w.__sbCspViolation?.(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return watch;
}

/** Distinct colours in a PNG: a blank or broken page has very few. */
export function distinctColours(png: Buffer): number {
  const img = PNG.sync.read(png);
  const seen = new Set<number>();
  for (let i = 0; i < img.data.length; i += 4) {
    seen.add((img.data[i]! << 16) | (img.data[i + 1]! << 8) | img.data[i + 2]!);
  }
  return seen.size;
}
