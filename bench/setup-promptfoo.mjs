// Installs promptfoo for the comparison benchmark into bench/.promptfoo, apart from the project's own
// dependencies (it brings ~690 packages; the tests and CI never need it). Pinned: 0.121.20 is the last
// release that runs on Node 20. Failure is not fatal: the benchmark then reports promptfoo as not measured.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const VERSION = "0.121.20";
const prefix = join(dirname(fileURLToPath(import.meta.url)), ".promptfoo");
const installed = join(prefix, "node_modules", "promptfoo", "package.json");
if (existsSync(installed)) process.exit(0);
mkdirSync(prefix, { recursive: true });
writeFileSync(
  join(prefix, "package.json"),
  `${JSON.stringify({ name: "promptfoo-bench", private: true }, null, 2)}\n`,
);
console.error(`bench: installing promptfoo@${VERSION} into ${prefix} (once)`);
const res = spawnSync("npm", ["install", "--no-audit", "--no-fund", `promptfoo@${VERSION}`], {
  cwd: prefix,
  stdio: "inherit",
});
if (res.status !== 0)
  console.error("bench: promptfoo could not be installed; its comparison will be skipped");
