// Where tests find the third-party data and model. They are read in place, never copied into the repo.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const sharedDir = resolve(process.env.STEERBENCH_SHARED ?? resolve(repoRoot, "..", "shared"));
export const dataDir = resolve(process.env.STEERBENCH_DATA ?? resolve(sharedDir, "data"));
export const packDir = resolve(dataDir, "instrumentaleval");
export const runsDir = resolve(dataDir, "hoscilowicz-2601.01584-runs");
export const tinyModel = resolve(sharedDir, "models", "aidreams260K", "aidreams260K-f32.gguf");

if (!existsSync(packDir)) {
  throw new Error(`test data not found at ${packDir}; set STEERBENCH_SHARED to the shared/ folder`);
}
