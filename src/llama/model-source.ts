// Where a model file comes from: a local path, or `hf:OWNER/REPO/FILE.gguf[@REVISION]` downloaded once into
// a cache for users with internet. Tests only ever use local paths (and a loopback server for the download).
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface HfRef {
  owner: string;
  repo: string;
  file: string;
  revision: string;
}

export function parseHfRef(ref: string): HfRef | undefined {
  if (!ref.startsWith("hf:")) return undefined;
  const m = /^hf:([\w.-]+)\/([\w.-]+)\/(.+?\.gguf)(?:@([\w.-]+))?$/.exec(ref);
  if (!m) throw new Error(`model reference "${ref}" is not hf:OWNER/REPO/FILE.gguf[@REVISION]`);
  return { owner: m[1]!, repo: m[2]!, file: m[3]!, revision: m[4] ?? "main" };
}

export function modelCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== "" ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(base, "steerbench", "models");
}

/** The local path of a model: the path itself, or the cached download of an hf: reference. */
export async function resolveModelFile(
  ref: string,
  opts: { cacheDir?: string; endpoint?: string; log?: (line: string) => void } = {},
): Promise<string> {
  const hf = parseHfRef(ref);
  if (!hf) {
    const path = resolve(ref.startsWith("~/") ? join(homedir(), ref.slice(2)) : ref);
    if (!existsSync(path)) throw new Error(`model file not found: ${path}`);
    return path;
  }
  const target = join(opts.cacheDir ?? modelCacheDir(), hf.owner, hf.repo, hf.revision, hf.file);
  if (existsSync(target)) return target;
  const endpoint = (opts.endpoint ?? process.env.STEERBENCH_HF_ENDPOINT ?? "https://huggingface.co").replace(
    /\/+$/,
    "",
  );
  const url = `${endpoint}/${hf.owner}/${hf.repo}/resolve/${hf.revision}/${hf.file}`;
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  opts.log?.(`downloading ${url}`);
  // A one-off download: fetch follows the hub's redirects to its CDN.
  const res = await fetch(url, { redirect: "follow" });
  if (res.status !== 200 || !res.body) {
    throw new Error(`cannot download ${url}: HTTP ${res.status}`);
  }
  try {
    await pipeline(
      Readable.fromWeb(res.body as import("node:stream/web").ReadableStream),
      createWriteStream(partial),
    );
    renameSync(partial, target); // only a complete file ever gets the real name
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  return target;
}
