// `steerbench serve` attacked as issue 11 did: foreign Host and Origin headers, simple cross-origin POSTs,
// oversized headers, garbage request lines, a 3.9 MB prompt, vector paths to /etc/passwd and to a FIFO,
// clients that leave mid-generation, and a full queue. A real server on a real loopback socket each time.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeControlVector } from "../src/gguf/vector-file.js";
import { type RunningServer, startServer } from "../src/server/openai-server.js";
import { LONG } from "./helpers/serve-process.js";
import { tinyModel } from "./paths.js";

let dir: string;
let vectors: string;
let server: RunningServer;
const lines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-serve-hard-"));
  vectors = join(dir, "vectors");
  mkdirSync(vectors);
  const directions = new Map<number, Float32Array>();
  for (let il = 1; il <= 3; il++)
    directions.set(
      il,
      Float32Array.from({ length: 64 }, (_, i) => Math.sin(i + il)),
    );
  writeControlVector(join(vectors, "wave.gguf"), { directions, nEmbd: 64, modelHint: "llama" });
  execFileSync("mkfifo", [join(vectors, "fifo.gguf")]);
  writeFileSync(
    join(vectors, "broken.gguf"),
    Buffer.concat([Buffer.from("GGUF"), Buffer.from("SECRET-BYTES".repeat(8))]),
  );
  server = await startServer({
    model: tinyModel,
    port: 0,
    threads: 1,
    contextSize: 8192,
    parallel: 1,
    maxQueue: 1,
    vectorsDir: vectors,
    log: (l) => lines.push(l),
  });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An HTTP request with full control over the headers (fetch refuses to set Host). */
function raw(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: server.port, path, method: opts.method ?? "GET", headers: opts.headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Bytes straight onto a socket, and whatever comes back until the server closes it. */
function socketExchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(server.port, "127.0.0.1");
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      out += d;
    });
    s.on("error", reject);
    s.on("close", () => resolve(out));
    s.write(bytes);
  });
}

const post = (path: string, body: unknown) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

async function health(): Promise<{ active: number; queued: number }> {
  return (await (await fetch(`http://127.0.0.1:${server.port}/health`)).json()) as {
    active: number;
    queued: number;
  };
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Starts a streaming request and resolves once its first text chunk has arrived. */
async function startStreaming(body: unknown): Promise<{ abort(): void; done: Promise<string> }> {
  const ac = new AbortController();
  const res = await fetch(`${server.url}/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  const decoder = new TextDecoder();
  const done = (async () => {
    let text = decoder.decode(first.value);
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) return text;
        text += decoder.decode(value);
      }
    } catch {
      return text;
    }
  })();
  return { abort: () => ac.abort(), done };
}

describe("serve hardening (issue 11 items 12–15)", () => {
  it("answers loopback Host names only (DNS rebinding) and refuses cross-origin requests", async () => {
    const chat = JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
    const foreign = await raw("/v1/chat/completions", {
      method: "POST",
      headers: { host: "evil.example:8080", "content-type": "application/json" },
      body: chat,
    });
    expect(foreign.status).toBe(421);
    expect(JSON.parse(foreign.text).error.message).toMatch(/loopback host names only/);
    // A page on another origin can POST text/plain without a preflight: refused, never executed.
    const simple = await raw("/v1/chat/completions", {
      method: "POST",
      headers: {
        host: `127.0.0.1:${server.port}`,
        "content-type": "text/plain",
        origin: "http://evil.example",
      },
      body: chat,
    });
    expect(simple.status).toBe(403);
    const plain = await raw("/v1/chat/completions", {
      method: "POST",
      headers: { host: `127.0.0.1:${server.port}`, "content-type": "text/plain" },
      body: chat,
    });
    expect(plain.status).toBe(415);
    expect(JSON.parse(plain.text).error.message).toMatch(/application\/json/);
    const ok = await raw("/v1/chat/completions", {
      method: "POST",
      headers: { host: `localhost:${server.port}`, "content-type": "application/json; charset=utf-8" },
      body: chat,
    });
    expect(ok.status).toBe(200);
  });

  it("answers a 20 KB header with 431 and a garbage request line with 400, instead of dropping the socket", async () => {
    const big = await socketExchange(
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(20 * 1024)}\r\n\r\n`,
    );
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    const garbage = await socketExchange("\x16\x03\x01 NOT HTTP AT ALL\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage).toMatch(/malformed HTTP request/);
  });

  it("refuses a 3.9 MB prompt with 413 before tokenizing it, and /health answers meanwhile", async () => {
    const huge = post("/chat/completions", {
      messages: [{ role: "user", content: "word ".repeat(780_000) }],
      max_tokens: 4,
    });
    const h = await fetch(`http://127.0.0.1:${server.port}/health`);
    expect(h.status).toBe(200);
    const res = await huge;
    expect(res.status).toBe(413);
    const err = ((await res.json()) as { error: { message: string } }).error;
    expect(err.message).toMatch(/the prompt is 3900000 bytes; this server takes at most \d+/);
  });

  it("confines steering.vector to --vectors DIR: no absolute paths, no FIFOs, no file content in errors", async () => {
    const msg = [{ role: "user", content: "hi" }];
    const passwd = await post("/chat/completions", {
      messages: msg,
      max_tokens: 2,
      steering: { vector: "/etc/passwd", strength: 1 },
    });
    expect(passwd.status).toBe(400);
    const ptext = await passwd.text();
    expect(ptext).toMatch(/absolute paths are refused/);
    expect(ptext).not.toMatch(/root:/);
    const fifo = await post("/chat/completions", {
      messages: msg,
      max_tokens: 2,
      steering: { vector: "fifo", strength: 1 },
    });
    expect(fifo.status).toBe(400);
    expect(await fifo.text()).toMatch(/not a regular file/);
    const outside = await post("/chat/completions", {
      messages: msg,
      max_tokens: 2,
      steering: { vector: "../../../etc/passwd", strength: 1 },
    });
    expect(outside.status).toBe(400);
    const missing = await post("/chat/completions", {
      messages: msg,
      max_tokens: 2,
      steering: { vector: "nope", strength: 1 },
    });
    expect(missing.status).toBe(404);
    const broken = await post("/chat/completions", {
      messages: msg,
      max_tokens: 2,
      steering: { vector: "broken", strength: 1 },
    });
    expect(broken.status).toBe(400);
    const btext = await broken.text();
    expect(btext).toMatch(/not a readable control-vector GGUF/);
    expect(btext).not.toMatch(/SECRET|\/tmp\//);
    const badLayers = await post("/chat/completions", {
      messages: msg,
      max_tokens: 2,
      steering: { vector: "wave", strength: 1, layers: [1, 9] },
    });
    expect(badLayers.status).toBe(400);
    expect(await badLayers.text()).not.toContain(vectors); // no server paths either
    // The server is alive, and a named vector steers.
    const plain = await post("/chat/completions", { messages: msg, max_tokens: 12, temperature: 0 });
    const steered = await post("/chat/completions", {
      messages: msg,
      max_tokens: 12,
      temperature: 0,
      steering: { vector: "wave", strength: 8 },
    });
    expect(plain.status).toBe(200);
    expect(steered.status).toBe(200);
    const text = async (r: Response) =>
      ((await r.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    expect(await text(steered)).not.toBe(await text(plain));
  });

  it("a client that leaves mid-generation aborts it and frees its slot; a full queue answers 429 with Retry-After", async () => {
    lines.length = 0;
    const a = await startStreaming(LONG);
    expect((await health()).active).toBe(1);
    // One slot busy, one queue place: B waits; C finds the queue full.
    const bAbort = new AbortController();
    const b = fetch(`${server.url}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "B", max_tokens: 4 }),
      signal: bAbort.signal,
    }).catch(() => undefined);
    await until("B queued", async () => (await health()).queued === 1);
    const c = await post("/completions", { prompt: "C", max_tokens: 4 });
    expect(c.status).toBe(429);
    expect(Number(c.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await c.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");
    // B gives up while A still runs: it leaves the queue at once.
    bAbort.abort();
    await b;
    await until("B out of the queue", async () => (await health()).queued === 0);
    expect((await health()).active).toBe(1);
    // A's client leaves: its generation stops and the slot is free.
    a.abort();
    await a.done;
    await until("the slot freed", async () => (await health()).active === 0);
    await until("the log lines", async () =>
      lines.some((l) => / 499 .*client went away: generation aborted after [1-9]\d* characters/.test(l)),
    );
    expect(lines.some((l) => / 499 .*client went away while queued/.test(l))).toBe(true);
    const after = await post("/completions", { prompt: "D", max_tokens: 4 });
    expect(after.status).toBe(200);
  });
});
