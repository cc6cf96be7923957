import { readFileSync } from "node:fs";

// Read once from our own package.json so reports and stores record the exact version that ran.
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export const STEERBENCH_VERSION: string = pkg.version;

export function versions(extra: Record<string, string> = {}): Record<string, string> {
  return { steerbench: STEERBENCH_VERSION, node: process.version, ...extra };
}
