// Options shared by several verbs, so every command names and documents them the same way.
import type { Command } from "commander";

export const DEFAULT_STORE = "steerbench.sqlite";

export function storeOption(cmd: Command): Command {
  return cmd.option(
    "--store <file>",
    "SQLite store file (env STEERBENCH_STORE)",
    process.env.STEERBENCH_STORE ?? DEFAULT_STORE,
  );
}

export function dataOption(cmd: Command): Command {
  return cmd.option(
    "--data <dir>",
    "benchmark data directory, e.g. ../shared/data (env STEERBENCH_DATA; default: the `data pull` cache)",
  );
}

/** Thrown for errors the user can fix: printed without a stack trace. */
export class UsageError extends Error {}

export function parseIntOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

export function parseNumberOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

export function parseListOption(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
