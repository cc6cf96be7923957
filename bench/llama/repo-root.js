// The repository root: the nearest folder above this module with steerbench's package.json. Found by walking
// up rather than by a fixed depth, so that the llama benches also work when bundled into bench/dist/.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRepoRoot(from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "steerbench") return dir;
    if (dirname(dir) === dir) throw new Error(`no steerbench package.json above ${from}`);
  }
}

export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
