// Finding the benchmark data: --data flag, then STEERBENCH_DATA, then the `data pull` cache.
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { PACK_DIR_NAME } from "./upstream.js";

export type DataDirSource = "flag" | "env" | "default";

export class DataDirError extends Error {
  constructor(
    readonly dir: string,
    readonly source: DataDirSource,
    message: string,
  ) {
    super(message);
    this.name = "DataDirError";
  }
}

/** `$XDG_CACHE_HOME/steerbench/data`, else `~/.cache/steerbench/data`: where `data pull` writes. */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const cache =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== "" ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(cache, "steerbench", "data");
}

export interface ResolveDataDirOptions {
  /** The `--data DIR` flag, if given. */
  flag?: string | undefined;
  /** Environment to read STEERBENCH_DATA from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides the default cache directory. */
  defaultDir?: string;
}

/**
 * The pack directory to load: `<dir>/instrumentaleval` when it exists, else `<dir>` itself, where `<dir>`
 * is the flag, STEERBENCH_DATA, or the default cache, in that order. Throws DataDirError when the chosen
 * directory holds no category CSVs.
 */
export function resolveDataDir(opts: ResolveDataDirOptions = {}): string {
  const env = opts.env ?? process.env;
  let source: DataDirSource;
  let dir: string;
  if (opts.flag !== undefined && opts.flag !== "") {
    source = "flag";
    dir = opts.flag;
  } else if (env.STEERBENCH_DATA !== undefined && env.STEERBENCH_DATA !== "") {
    source = "env";
    dir = env.STEERBENCH_DATA;
  } else {
    source = "default";
    dir = opts.defaultDir ?? defaultDataDir(env);
  }
  dir = resolve(dir);
  const nested = join(dir, PACK_DIR_NAME);
  const packDir = isDir(nested) ? nested : dir;
  if (!hasCsv(packDir)) {
    const from =
      source === "flag" ? "--data" : source === "env" ? "STEERBENCH_DATA" : "the default data cache";
    throw new DataDirError(
      packDir,
      source,
      `No benchmark data found in ${packDir} (from ${from}). ` +
        "Run `steerbench data pull` to download it, or pass `--data DIR` (a folder holding the category " +
        `CSVs and protocol_strings.json, or one with an ${PACK_DIR_NAME}/ sub-folder).`,
    );
  }
  return packDir;
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function hasCsv(dir: string): boolean {
  return isDir(dir) && readdirSync(dir).some((name) => name.endsWith(".csv"));
}
