// The browser tests need Debian's chromium. Without it this test fails (never skips) and says how to
// install it; the other browser test files fail in their set-up with the same message.
import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { CHROMIUM_PATH, distinctColours, launchChromium } from "./chromium.js";

describe("chromium for the browser tests", () => {
  test("is installed and renders a page headless", async () => {
    expect(
      existsSync(CHROMIUM_PATH),
      `chromium not found at ${CHROMIUM_PATH}; install it with \`bash scripts/install-chromium.sh\` (as root)`,
    ).toBe(true);
    const chrome = await launchChromium();
    try {
      const page = await chrome.context.newPage();
      await page.setContent(
        '<body style="margin:0"><div style="width:50%;height:100vh;background:#0072B2"></div></body>',
      );
      expect(distinctColours(await page.screenshot())).toBeGreaterThanOrEqual(2);
      expect(await page.evaluate(() => navigator.userAgent)).toMatch(/HeadlessChrome|Chrome/);
    } finally {
      await chrome.close();
    }
  });
});
