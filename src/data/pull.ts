// `steerbench data pull`: download the pinned upstream files, check every sha256 pin, and only then put the
// pack in place. Work happens in a temp dir inside the cache and is renamed in at the end, so a failed
// pull never leaves a half-written pack (an existing good pack stays untouched).
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ProtocolStrings } from "../types.js";
import { loadPack } from "./pack.js";
import { PROTOCOL_STRING_FIELDS, PROTOCOL_STRINGS_FILE, protocolStringsToJson } from "./protocol-strings.js";
import { extractPyStrings } from "./py-literals.js";
import {
  csvUrlPath,
  PACK_DIR_NAME,
  PINNED_CSV_FILES,
  PINNED_PROTOCOL_STRINGS,
  UPSTREAM_BASE_URL,
  UPSTREAM_COMMIT,
  UPSTREAM_REPO,
  type UpstreamScript,
} from "./upstream.js";

export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

export interface PullOptions {
  /** Where the upstream files live (default: raw.githubusercontent.com at the pinned commit). */
  baseUrl?: string;
  /** The data cache; the pack is written to `<cacheDir>/instrumentaleval/`. */
  cacheDir: string;
  /** Fetch implementation (default: global fetch). */
  fetch?: FetchLike;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
  /** Called after each file is downloaded and verified. */
  onFile?: (name: string, bytes: number) => void;
}

export interface PulledFile {
  name: string;
  sha256: string;
  bytes: number;
}

export interface PullResult {
  /** The pack directory (`<cacheDir>/instrumentaleval`). */
  dir: string;
  files: PulledFile[];
  /** Pack.hash of the pulled pack. */
  hash: string;
}

/** A download or verification failure; names the file and, for pin mismatches, both hashes. */
export class PullError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly expected?: string,
    readonly actual?: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
    this.name = "PullError";
  }
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export async function pullData(opts: PullOptions): Promise<PullResult> {
  const baseUrl = (opts.baseUrl ?? UPSTREAM_BASE_URL).replace(/\/+$/, "");
  const fetchFn: FetchLike = opts.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const download = async (path: string): Promise<Uint8Array> => {
    const url = `${baseUrl}/${path}`;
    let res: Response;
    try {
      res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      // fetch says only "fetch failed"; the reason (no network, DNS, refused, timeout) is in its cause.
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const detail = [cause?.code, cause?.message]
        .filter((x) => typeof x === "string" && x !== "")
        .join(": ");
      throw new PullError(
        url,
        `download failed: ${(err as Error).message}${detail ? ` (${detail})` : ""}` +
          (cause?.code === "ENOTFOUND" || cause?.code === "EAI_AGAIN"
            ? "; no network? copy the data by hand and pass --data DIR"
            : ""),
        undefined,
        undefined,
        { cause: err },
      );
    }
    if (!res.ok) throw new PullError(url, `download failed: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  };

  await mkdir(opts.cacheDir, { recursive: true });
  const target = join(opts.cacheDir, PACK_DIR_NAME);
  const tmp = await mkdtemp(join(opts.cacheDir, `.${PACK_DIR_NAME}-tmp-`));
  try {
    const files: PulledFile[] = [];
    for (const pin of PINNED_CSV_FILES) {
      const bytes = await download(csvUrlPath(pin.name));
      const actual = sha256(bytes);
      if (actual !== pin.sha256) {
        throw new PullError(
          pin.name,
          `sha256 mismatch: expected ${pin.sha256}, got ${actual}`,
          pin.sha256,
          actual,
        );
      }
      await writeFile(join(tmp, pin.name), bytes);
      files.push({ name: pin.name, sha256: actual, bytes: bytes.length });
      opts.onFile?.(pin.name, bytes.length);
    }

    const scripts = new Map<UpstreamScript, string>();
    for (const field of PROTOCOL_STRING_FIELDS) {
      const script = PINNED_PROTOCOL_STRINGS[field].script;
      if (scripts.has(script)) continue;
      const bytes = await download(script);
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch (err) {
        throw new PullError(script, "is not valid UTF-8", undefined, undefined, { cause: err });
      }
      scripts.set(script, text);
      opts.onFile?.(script, bytes.length);
    }
    const strings = extractProtocolStrings(scripts);
    const json = protocolStringsToJson(
      strings,
      `Extracted by steerbench \`data pull\` from github.com/${UPSTREAM_REPO} @ ${UPSTREAM_COMMIT} ` +
        "(main_jh2.py: 2601.01584 protocol; main.py: original InstrumentalEval runner). Each string was checked " +
        "against a pinned sha256. Placeholders {specific_prompt}, {prompt}, {response} are literal markers.",
    );
    const jsonText = `${JSON.stringify(json, null, 1)}\n`;
    await writeFile(join(tmp, PROTOCOL_STRINGS_FILE), jsonText);
    files.push({ name: PROTOCOL_STRINGS_FILE, sha256: sha256(jsonText), bytes: Buffer.byteLength(jsonText) });

    // The pulled files must load as a pack before they replace anything.
    const pack = await loadPack(tmp);
    await swapInto(tmp, target, opts.cacheDir);
    return { dir: target, files, hash: pack.hash };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Finds each pinned string among the literals of its upstream script, by hash. */
export function extractProtocolStrings(scripts: ReadonlyMap<UpstreamScript, string>): ProtocolStrings {
  const literals = new Map<UpstreamScript, ReturnType<typeof extractPyStrings>>();
  const out = {} as ProtocolStrings;
  for (const field of PROTOCOL_STRING_FIELDS) {
    const pin = PINNED_PROTOCOL_STRINGS[field];
    const source = scripts.get(pin.script);
    if (source === undefined) throw new PullError(pin.script, "was not downloaded");
    let found = literals.get(pin.script);
    if (found === undefined) {
      try {
        found = extractPyStrings(source);
      } catch (err) {
        throw new PullError(pin.script, `cannot read Python string literals: ${(err as Error).message}`);
      }
      literals.set(pin.script, found);
    }
    // Matching by hash, not by variable name: the text is what is pinned, wherever upstream keeps it.
    const match = found.find((lit) => sha256(lit.value) === pin.sha256);
    if (match !== undefined) {
      out[field] = match.value;
      continue;
    }
    const named = found.find((lit) => lit.name !== undefined && pin.nameHints.includes(lit.name));
    if (named !== undefined) {
      const actual = sha256(named.value);
      throw new PullError(
        pin.script,
        `sha256 mismatch for protocol string ${field} (${named.name} at line ${named.line}): ` +
          `expected ${pin.sha256}, got ${actual}`,
        pin.sha256,
        actual,
      );
    }
    throw new PullError(
      pin.script,
      `no string literal matches protocol string ${field} (expected sha256 ${pin.sha256}; ` +
        `looked for ${pin.nameHints.join(", ")})`,
      pin.sha256,
    );
  }
  return out;
}

/** Replaces `target` with `tmp` via renames; an old pack is moved aside first and restored on failure. */
async function swapInto(tmp: string, target: string, cacheDir: string): Promise<void> {
  const old = join(cacheDir, `.${PACK_DIR_NAME}-old-${process.pid}-${Date.now()}`);
  let movedOld = false;
  try {
    await rename(target, old);
    movedOld = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  try {
    await rename(tmp, target);
  } catch (err) {
    if (movedOld) await rename(old, target);
    throw err;
  }
  if (movedOld) await rm(old, { recursive: true, force: true });
}
