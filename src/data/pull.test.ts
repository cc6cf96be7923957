// pullData against a real HTTP server on 127.0.0.1 that serves the CSV bytes from ../shared and runner
// scripts synthesised here with the protocol strings as Python literals (upstream's layout for
// main_jh2.py; a different literal style for main.py to exercise the reader).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import type { Pack, ProtocolStrings } from "../types.js";
import { loadPack } from "./pack.js";
import { type FetchLike, PullError, pullData } from "./pull.js";
import { PINNED_CSV_FILES, PINNED_PROTOCOL_STRINGS } from "./upstream.js";

const PLACEHOLDER = /\{(specific_prompt|prompt|response)\}/g;

/** A triple-quoted Python literal; f-strings get their non-placeholder braces doubled. */
function pyTriple(text: string, f: boolean): string {
  let body = text.replace(/\\/g, "\\\\").replace(/"(?=")/g, '\\"');
  if (body.endsWith('"')) body = `${body.slice(0, -1)}\\"`;
  if (f)
    body = body
      .split(PLACEHOLDER)
      .map((part, i) => (i % 2 === 1 ? `{${part}}` : part.replace(/[{}]/g, "$&$&")))
      .join("");
  return `${f ? "f" : ""}"""${body}"""`;
}

/** Parenthesised implicit concatenation of one-line literals, one per source line. */
function pyLines(text: string, f: boolean): string {
  const pieces = text.split(/(?<=\n)/).map((line) => {
    const escaped = f
      ? line
          .split(PLACEHOLDER)
          .map((p, i) => (i % 2 === 1 ? `{${p}}` : p.replace(/[{}]/g, "$&$&")))
          .join("")
      : line;
    return `            ${f ? "f" : ""}${JSON.stringify(escaped)}`;
  });
  return `(\n${pieces.join("\n")}\n        )`;
}

function mainJh2(s: ProtocolStrings): string {
  return `import random  # synthesised stand-in for upstream main_jh2.py
PRO_IC_SUFFIX = ${pyTriple(s.proIcSuffix, false)}

ANTI_IC_SUFFIX = ${pyTriple(s.antiIcSuffix, false)}

STEERING_SUFFIX_BY_MODE = {"baseline": "", "pro_ic": PRO_IC_SUFFIX, "anti_ic": ANTI_IC_SUFFIX}

class InstrumentalConvergenceEvaluator:
    def get_judge_decision(self, prompt: str, response: str, specific_prompt: str):
        base_system_prompt = ${pyTriple(s.judgeSystemTemplate, true)}

        judge_user = ${pyTriple(s.judgeUserTemplate, true)}
        return base_system_prompt, judge_user
`;
}

function mainPy(s: ProtocolStrings): string {
  return `# synthesised stand-in for upstream main.py; don't "trip" on quotes in comments
import re
PATTERN = r"DECISION:\\s*(\\w+)"
MAGIC = b"\\x00bytes"

class InstrumentalConvergenceEvaluator:
    def __init__(self):
        self.system_prompt = ${pyLines(s.originalTaskSystemPrompt, false)}

    def get_judge_decision(self, prompt, response, specific_prompt):
        base_system_prompt = ${pyTriple(s.originalJudgeSystemTemplate, true)}
        judge_prompt = ${pyLines(s.originalJudgeUserTemplate, true)}
        return {"system": base_system_prompt, "user": judge_prompt, "hash": "#"}
`;
}

let shared: Pack;
let server: Server;
let baseUrl: string;
const served = new Map<string, Uint8Array>();
const requests: string[] = [];
const tmp = mkdtempSync(join(tmpdir(), "steerbench-pull-"));
let n = 0;
const freshCache = () => join(tmp, `cache-${n++}`);

function serveDefaults(): void {
  served.clear();
  for (const { name } of PINNED_CSV_FILES) served.set(`benchmark/${name}`, readFileSync(join(packDir, name)));
  served.set("main_jh2.py", Buffer.from(mainJh2(shared.strings)));
  served.set("main.py", Buffer.from(mainPy(shared.strings)));
}

beforeAll(async () => {
  shared = await loadPack(packDir);
  server = createServer((req, res) => {
    const path = (req.url ?? "").replace(/^\/upstream\//, "");
    requests.push(req.url ?? "");
    const body = served.get(decodeURIComponent(path));
    if (body === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/upstream`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  serveDefaults();
  requests.length = 0;
});

async function pullError(cacheDir: string, fetch?: FetchLike): Promise<PullError> {
  const err = await pullData({ baseUrl, cacheDir, ...(fetch ? { fetch } : {}) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PullError);
  return err as PullError;
}

function leftovers(cacheDir: string): string[] {
  return existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f !== "instrumentaleval") : [];
}

describe("pullData", () => {
  it("downloads, verifies and writes a pack identical to ../shared (same CSV bytes, strings and hash)", async () => {
    const cacheDir = freshCache();
    const result = await pullData({ baseUrl, cacheDir });
    expect(result.dir).toBe(join(cacheDir, "instrumentaleval"));
    expect(result.files.map((f) => f.name)).toEqual([
      ...PINNED_CSV_FILES.map((f) => f.name),
      "protocol_strings.json",
    ]);
    for (const { name } of PINNED_CSV_FILES) {
      expect(readFileSync(join(result.dir, name)).equals(readFileSync(join(packDir, name)))).toBe(true);
    }
    const pulled = await loadPack(result.dir);
    expect(pulled.strings).toEqual(shared.strings);
    expect(pulled.categories.map(({ slug, context, scenarios }) => ({ slug, context, scenarios }))).toEqual(
      shared.categories.map(({ slug, context, scenarios }) => ({ slug, context, scenarios })),
    );
    expect(pulled.hash).toBe(shared.hash);
    expect(result.hash).toBe(shared.hash);
    // The JSON has the same shape as the shared one.
    const json = JSON.parse(readFileSync(join(result.dir, "protocol_strings.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(Object.keys(json).sort()).toEqual([
      "_source",
      "instrumentaleval_original_2502.12206",
      "steerability_2601.01584",
    ]);
    // Names with spaces are URL-encoded.
    expect(requests).toContain("/upstream/benchmark/Alignment%20Drift%20-%20Evading%20Shutdown.csv");
    expect(leftovers(cacheDir)).toEqual([]);
  });

  it("replaces an existing pack on a second pull and leaves no temp dirs", async () => {
    const cacheDir = freshCache();
    await pullData({ baseUrl, cacheDir });
    const again = await pullData({ baseUrl, cacheDir });
    expect((await loadPack(again.dir)).hash).toBe(shared.hash);
    expect(leftovers(cacheDir)).toEqual([]);
  });

  it("fails on a tampered CSV, naming the file and both hashes, and writes nothing", async () => {
    const name = PINNED_CSV_FILES[2]!.name;
    const original = served.get(`benchmark/${name}`)!;
    const tampered = Buffer.from(original);
    tampered[tampered.length - 3]! ^= 0x01;
    served.set(`benchmark/${name}`, tampered);
    const cacheDir = freshCache();
    const err = await pullError(cacheDir);
    expect(err.file).toBe(name);
    expect(err.expected).toBe(PINNED_CSV_FILES[2]!.sha256);
    expect(err.actual).toMatch(/^[0-9a-f]{64}$/);
    expect(err.actual).not.toBe(err.expected);
    expect(err.message).toContain(name);
    expect(err.message).toContain(err.expected!);
    expect(err.message).toContain(err.actual!);
    expect(existsSync(join(cacheDir, "instrumentaleval"))).toBe(false);
    expect(leftovers(cacheDir)).toEqual([]);
  });

  it("keeps an existing good pack untouched when a later pull fails", async () => {
    const cacheDir = freshCache();
    await pullData({ baseUrl, cacheDir });
    served.set(`benchmark/${PINNED_CSV_FILES[0]!.name}`, Buffer.from("ctx\ntask\n"));
    await pullError(cacheDir);
    expect((await loadPack(join(cacheDir, "instrumentaleval"))).hash).toBe(shared.hash);
    expect(leftovers(cacheDir)).toEqual([]);
  });

  it("fails on a tampered protocol string, naming the script, the variable and both hashes", async () => {
    const changed = {
      ...shared.strings,
      proIcSuffix: shared.strings.proIcSuffix.replace("top priority", "top  priority"),
    };
    served.set("main_jh2.py", Buffer.from(mainJh2(changed)));
    const cacheDir = freshCache();
    const err = await pullError(cacheDir);
    expect(err.file).toBe("main_jh2.py");
    expect(err.expected).toBe(PINNED_PROTOCOL_STRINGS.proIcSuffix.sha256);
    expect(err.actual).toMatch(/^[0-9a-f]{64}$/);
    expect(err.message).toMatch(/PRO_IC_SUFFIX at line 2/);
    expect(err.message).toContain(err.actual!);
    expect(existsSync(join(cacheDir, "instrumentaleval"))).toBe(false);
  });

  it("fails when a script lacks a pinned string altogether", async () => {
    served.set("main.py", Buffer.from("print('nothing here')\n"));
    const err = await pullError(freshCache());
    expect(err.file).toBe("main.py");
    expect(err.message).toMatch(/no string literal matches protocol string originalTaskSystemPrompt/);
  });

  it("fails on HTTP errors, naming the URL and status", async () => {
    served.delete("main.py");
    const err = await pullError(freshCache());
    expect(err.message).toContain(`${baseUrl}/main.py`);
    expect(err.message).toMatch(/HTTP 404/);
  });

  it("fails cleanly when the connection itself fails (injected fault)", async () => {
    const cacheDir = freshCache();
    const broken: FetchLike = async (url) => {
      if (url.endsWith("main.py")) throw new Error("socket hang up");
      return fetch(url);
    };
    const err = await pullError(cacheDir, broken);
    expect(err.message).toMatch(/main\.py: download failed: socket hang up/);
    expect(leftovers(cacheDir)).toEqual([]);
    expect(existsSync(join(cacheDir, "instrumentaleval"))).toBe(false);
  });
});
