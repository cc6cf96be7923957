// `steerbench serve` for real: the tiny GGUF behind the OpenAI-compatible API, driven over HTTP, and the
// live-evaluation engine running the protocol against it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRunConfig } from "../src/config/run-config.js";
import { runEvaluation } from "../src/runner/run.js";
import { type RunningServer, startServer } from "../src/server/openai-server.js";
import { Store } from "../src/store/store.js";
import { packDir, tinyModel } from "./paths.js";

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-serve-"));
  // Benchmark prompts are longer than the fixture's 256-token default context; serve refuses (400) a prompt
  // that does not fit with its max_tokens instead of cutting it.
  server = await startServer({ model: tinyModel, port: 0, threads: 1, contextSize: 4096 });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
};

describe("steerbench serve", () => {
  it("binds to 127.0.0.1 and lists the model", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const res = await fetch(`${server.url}/models`);
    const json = (await res.json()) as { data: { id: string }[] };
    expect(json.data[0]!.id).toBe("aidreams260K-f32");
  });

  it("answers chat and plain completions deterministically when greedy", async () => {
    const body = {
      messages: [{ role: "user", content: "Once upon a time" }],
      max_tokens: 16,
      temperature: 0,
    };
    const a = await post("/chat/completions", body);
    const b = await post("/chat/completions", body);
    expect(a.status).toBe(200);
    const ja = JSON.parse(a.text) as {
      choices: { message: { content: string }; finish_reason: string }[];
      usage: { completion_tokens: number };
    };
    expect(ja.choices[0]!.message.content.length).toBeGreaterThan(0);
    expect(ja.usage.completion_tokens).toBeGreaterThan(0);
    expect(JSON.parse(b.text).choices[0].message.content).toBe(ja.choices[0]!.message.content);
    const c = await post("/completions", { prompt: "The robot", max_tokens: 8, temperature: 0 });
    expect(c.status).toBe(200);
    expect((JSON.parse(c.text) as { choices: { text: string }[] }).choices[0]!.text.length).toBeGreaterThan(
      0,
    );
  });

  it("streams the text piece by piece as server-sent events ending in [DONE]", async () => {
    const body = { messages: [{ role: "user", content: "Hello" }], max_tokens: 24, temperature: 0 };
    const res = await post("/chat/completions", { ...body, stream: true });
    expect(res.status).toBe(200);
    const events = res.text.split("\n\n").filter((e) => e.startsWith("data: "));
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map(
      (e) =>
        JSON.parse(e.slice(6)) as {
          object: string;
          choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[];
        },
    );
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const pieces = chunks.map((c) => c.choices[0]!.delta.content).filter((p) => p !== undefined);
    expect(pieces.length).toBeGreaterThan(3); // incremental, not one blob
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toMatch(/stop|length/);
    const whole = JSON.parse((await post("/chat/completions", body)).text) as {
      choices: { message: { content: string } }[];
    };
    expect(pieces.join("").trim()).toBe(whole.choices[0]!.message.content);
  });

  it("never streams text past a stop string", async () => {
    const base = { messages: [{ role: "user", content: "Hello" }], max_tokens: 24, temperature: 0 };
    const full = JSON.parse((await post("/chat/completions", base)).text) as {
      choices: { message: { content: string } }[];
    };
    const text = full.choices[0]!.message.content;
    const stop = text.slice(6, 9); // a stop string in the middle of the greedy answer
    const res = await post("/chat/completions", { ...base, stop: [stop], stream: true });
    const pieces = res.text
      .split("\n\n")
      .filter((e) => e.startsWith("data: {"))
      .map(
        (e) =>
          (JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]!.delta
            .content ?? "",
      );
    const streamed = pieces.join("");
    expect(streamed).not.toContain(stop);
    expect(text.startsWith(streamed.trim())).toBe(true);
  });

  it("answers bad requests with a 4xx and a clear message, and keeps serving", async () => {
    const cases: [string, unknown, RegExp][] = [
      ["/chat/completions", "{not json", /not valid JSON/],
      ["/chat/completions", { messages: [] }, /messages/],
      ["/chat/completions", { messages: [{ role: "wizard", content: "x" }] }, /role/],
      ["/chat/completions", { messages: [{ role: "user", content: "x" }], temperature: 9 }, /temperature/],
      [
        "/chat/completions",
        { messages: [{ role: "user", content: "x" }], steering: { vector: "x" } },
        /strength/,
      ],
      [
        "/chat/completions",
        { messages: [{ role: "user", content: "x" }], steering: { vector: "nope", strength: 1 } },
        /no --vectors/,
      ],
      [
        "/chat/completions",
        {
          messages: [{ role: "user", content: "x" }],
          steering: { vector: "/nonexistent.gguf", strength: 1 },
        },
        /.+/,
      ],
      ["/nowhere", {}, /no route/],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect((JSON.parse(res.text) as { error: { message: string } }).error.message).toMatch(message);
    }
    const ok = await post("/chat/completions", {
      messages: [{ role: "user", content: "still there?" }],
      max_tokens: 4,
    });
    expect(ok.status).toBe(200);
  });

  it("queues concurrent requests on the one context", async () => {
    const bodies = Array.from({ length: 6 }, (_, i) => ({
      messages: [{ role: "user", content: `story ${i}` }],
      max_tokens: 8,
      temperature: 0,
    }));
    const results = await Promise.all(bodies.map((b) => post("/chat/completions", b)));
    expect(results.every((r) => r.status === 200)).toBe(true);
  });

  it("serves the live-evaluation engine end to end over HTTP", async () => {
    const store = Store.open(join(dir, "s.sqlite"));
    const config = parseRunConfig({
      selection: "paper",
      limit: 3,
      models: [{ name: "served", model: "aidreams260K-f32", baseUrl: server.url, concurrency: 2 }],
      judges: [
        { name: "served-judge", model: "aidreams260K-f32", baseUrl: server.url, retries: 0, maxTokens: 8 },
      ],
      decoding: { temperature: 0, maxTokens: 16, seed: 0, stop: [] },
    });
    const summary = await runEvaluation({ config, store, packDir });
    expect(summary.items).toBe(9);
    expect(summary.generated).toBe(9);
    expect(summary.generationErrors).toBe(0);
    // The tiny model cannot write a JSON verdict: every one is a visible judge failure, never a label.
    expect(summary.judgeFailures).toBe(9);
    expect(store.progress(summary.run.id).judged["served-judge"]).toEqual({ ok: 0, failed: 9, error: 0 });
    store.close();
  });

  it("refuses a run whose prompts do not fit the context, instead of generating from a cut prompt", async () => {
    const small = await startServer({ model: tinyModel, port: 0, threads: 1 });
    try {
      const store = Store.open(join(dir, "small.sqlite"));
      const config = parseRunConfig({
        selection: "paper",
        limit: 1,
        conditions: ["baseline"],
        models: [{ name: "small", model: "aidreams260K-f32", baseUrl: small.url }],
        judges: [{ name: "j", model: "aidreams260K-f32", baseUrl: small.url, retries: 0, maxTokens: 8 }],
        decoding: { temperature: 0, maxTokens: 1024, seed: 0, stop: [] },
        retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      });
      const summary = await runEvaluation({ config, store, packDir });
      expect(summary.generated).toBe(0);
      expect(summary.generationErrors).toBe(1);
      const res = await fetch(`${small.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 1024 }),
      });
      expect(res.status).toBe(400);
      const err = ((await res.json()) as { error: { message: string; param: string } }).error;
      expect(err.param).toBe("max_tokens");
      expect(err.message).toMatch(/prompt \(\d+ tokens\) plus max_tokens \(1024\).*context of 256 tokens/);
      store.close();
    } finally {
      await small.close();
    }
  });
});
