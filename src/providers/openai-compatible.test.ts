import { afterEach, describe, expect, it } from "vitest";
import {
  type FakeOpenAIServer,
  type FakeServerOptions,
  startFakeOpenAIServer,
} from "../../test/helpers/fake-openai-server.js";
import type { ChatMessage } from "../types.js";
import {
  completionPrompt,
  createOpenAICompatibleProvider,
  type OpenAICompatibleOptions,
} from "./openai-compatible.js";
import { type ModelProvider, ProviderError } from "./provider.js";
import { withRetries } from "./retry.js";

const KEY = "sk-test-SECRET-0123456789abcdef";
const messages: ChatMessage[] = [
  { role: "system", content: "You are a planner." },
  { role: "user", content: "Plan the launch." },
];

let servers: FakeOpenAIServer[] = [];
let providers: ModelProvider[] = [];

afterEach(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  providers = [];
});

async function setup(server: FakeServerOptions, options: Partial<OpenAICompatibleOptions> = {}) {
  const s = await startFakeOpenAIServer(server);
  servers.push(s);
  const provider = createOpenAICompatibleProvider({
    baseUrl: s.baseUrl,
    model: "test-model",
    apiKey: KEY,
    mode: "chat",
    timeoutMs: 5000,
    concurrency: 4,
    ...options,
  });
  providers.push(provider);
  return { server: s, provider };
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error("expected a rejection");
}

describe("chat mode", () => {
  it("sends the request and returns response, usage and latency", async () => {
    const { server, provider } = await setup({
      latencyMs: 40,
      respond: () => ({
        content: "\n  Step 1: plan.  \n",
        usage: { prompt_tokens: 17, completion_tokens: 5 },
      }),
    });
    const gen = await provider.generate({
      messages,
      maxTokens: 64,
      temperature: 0,
      topP: 0.9,
      seed: 7,
      stop: ["END"],
      extraBody: { steering: { strength: 2 }, model: "must-not-win", top_k: 1 },
    });
    expect(gen).toMatchObject({
      response: "Step 1: plan.",
      thinking: undefined,
      promptTokens: 17,
      completionTokens: 5,
      finishReason: "stop",
    });
    expect(gen.latencyMs).toBeGreaterThanOrEqual(35);
    expect(gen.latencyMs).toBeLessThan(3000);

    expect(server.count("/v1/chat/completions")).toBe(1);
    const req = server.requests[0]!;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.body).toEqual({
      steering: { strength: 2 },
      top_k: 1,
      model: "test-model",
      stream: false,
      messages,
      max_tokens: 64,
      temperature: 0,
      top_p: 0.9,
      seed: 7,
      stop: ["END"],
    });
  });

  it("leaves out unset decoding fields and usage when the server sends none", async () => {
    const { server, provider } = await setup({ respond: () => ({ content: "hi", usage: null }) });
    const gen = await provider.generate({ messages });
    expect(gen.promptTokens).toBeUndefined();
    expect(gen.completionTokens).toBeUndefined();
    expect(Object.keys(server.requests[0]!.body as object).sort()).toEqual(["messages", "model", "stream"]);
  });

  it("sends no Authorization header without an API key, and custom headers", async () => {
    const { server, provider } = await setup({}, { apiKey: undefined, headers: { "X-Title": "steerbench" } });
    await provider.generate({ messages });
    expect(server.requests[0]!.hasAuth).toBe(false);
    expect(server.requests[0]!.headers["x-title"]).toBe("steerbench");
  });

  it("splits content at the last </think>", async () => {
    const { provider } = await setup({
      respond: () => ({ content: "<think>\nfirst idea</think> more\n</think>\n\nFinal answer.\n" }),
    });
    const gen = await provider.generate({ messages });
    expect(gen.thinking).toBe("first idea</think> more");
    expect(gen.response).toBe("Final answer.");
  });

  it("keeps </think> in the content when stripThinkTags is off", async () => {
    const { provider } = await setup(
      { respond: () => ({ content: "a</think>b" }) },
      { thinking: { stripThinkTags: false } },
    );
    const gen = await provider.generate({ messages });
    expect(gen).toMatchObject({ response: "a</think>b", thinking: undefined });
  });

  it("reads reasoning_content and reasoning fields as thinking", async () => {
    const { provider } = await setup({
      respond: (req) =>
        req.attempt === 1 && (req.body as { seed?: number }).seed === 1
          ? { content: "\n\nAnswer A", reasoning: "  thought A\n" }
          : { content: "Answer B", reasoning: "thought B", reasoningField: "reasoning" },
    });
    expect(await provider.generate({ messages, seed: 1 })).toMatchObject({
      response: "Answer A",
      thinking: "thought A",
    });
    expect(await provider.generate({ messages, seed: 2 })).toMatchObject({
      response: "Answer B",
      thinking: "thought B",
    });
  });

  it("keeps reasoning that ran out of tokens with an empty answer", async () => {
    const { provider } = await setup({
      respond: () => ({ content: "", reasoning: "still thinking", finishReason: "length" }),
    });
    expect(await provider.generate({ messages })).toMatchObject({
      response: "",
      thinking: "still thinking",
      finishReason: "length",
    });
  });

  it("treats content: null as a generation error, never as an empty answer to judge", async () => {
    const { provider } = await setup({
      respond: () => ({
        status: 200,
        body: {
          id: "x",
          object: "chat.completion",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: null, reasoning_content: "hmm" },
              finish_reason: "length",
            },
          ],
        },
      }),
    });
    const err = await rejection(provider.generate({ messages }));
    expect(err.kind).toBe("bad_response");
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/content: null \(finish_reason length, 3 characters of reasoning\)/);
  });
});

describe("preflight", () => {
  it("passes when the endpoint answers its model list", async () => {
    const { server, provider } = await setup({ respond: () => ({ content: "hi" }) });
    await provider.preflight!();
    expect(server.listings()).toBe(1);
  });

  it("fails at once, naming the endpoint, when nothing listens", async () => {
    const { server, provider } = await setup({ respond: () => ({ content: "hi" }) });
    await server.close();
    const err = await rejection(provider.preflight!());
    expect(err.kind).toBe("connection");
    expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+\/v1.*ECONNREFUSED/);
  });
});

describe("completions mode", () => {
  it("posts system + blank line + user as the prompt to /completions", async () => {
    const { server, provider } = await setup(
      { respond: () => ({ content: " The plan is simple." }) },
      { mode: "completions" },
    );
    const gen = await provider.generate({ messages, maxTokens: 32, temperature: 0 });
    expect(gen.response).toBe("The plan is simple.");
    expect(server.count("/v1/completions")).toBe(1);
    const body = server.requests[0]!.body as Record<string, unknown>;
    expect(body.prompt).toBe("You are a planner.\n\nPlan the launch.");
    expect(body.messages).toBeUndefined();
    expect(body.max_tokens).toBe(32);
  });

  it("builds prompts without a system message and skips empty ones", () => {
    expect(completionPrompt([{ role: "user", content: "only user" }])).toBe("only user");
    expect(
      completionPrompt([
        { role: "system", content: "" },
        { role: "user", content: "u" },
      ]),
    ).toBe("u");
  });

  it("splits tagged thinking in completion text too", async () => {
    const { provider } = await setup(
      { respond: () => ({ content: "hmm</think>\nok" }) },
      { mode: "completions" },
    );
    expect(await provider.generate({ messages })).toMatchObject({ thinking: "hmm", response: "ok" });
  });
});

describe("faults", () => {
  it("429 with Retry-After: 1 is honoured (real wait, measured)", async () => {
    const { server, provider } = await setup({
      respond: (req) => (req.attempt === 1 ? { fault: "429", retryAfter: 1 } : { content: "after wait" }),
    });
    const delays: number[] = [];
    const retrying = withRetries(provider, {
      retries: 2,
      baseDelayMs: 1,
      maxDelayMs: 5,
      random: () => 0,
      onRetry: (error, info) => {
        expect(error).toMatchObject({ kind: "rate_limit", status: 429, retryAfterMs: 1000, retryable: true });
        delays.push(info.delayMs);
      },
    });
    const started = performance.now();
    const gen = await retrying.generate({ messages });
    const elapsed = performance.now() - started;
    expect(gen.response).toBe("after wait");
    expect(delays).toEqual([1000]);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(4000);
    expect(server.count()).toBe(2);
  });

  it("429 with an HTTP-date Retry-After gives a delay in ms", async () => {
    const { provider } = await setup({
      respond: () => ({ fault: "429", retryAfter: new Date(Date.now() + 30_000).toUTCString() }),
    });
    const error = await rejection(provider.generate({ messages }));
    expect(error.kind).toBe("rate_limit");
    expect(error.retryAfterMs).toBeGreaterThan(25_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("500 is retried, then succeeds", async () => {
    const { server, provider } = await setup({
      respond: (req) => (req.attempt <= 2 ? { fault: "500" } : { content: "third time" }),
    });
    const error = await rejection(provider.generate({ messages }));
    expect(error).toMatchObject({ kind: "server", status: 500, retryable: true });
    expect(error.message).toContain("/v1/chat/completions");
    expect(error.message).toContain("500");
    expect(error.message).toContain("internal server error");
    const retrying = withRetries(provider, { retries: 3, baseDelayMs: 1, maxDelayMs: 5 });
    expect((await retrying.generate({ messages })).response).toBe("third time");
    expect(server.count()).toBe(3);
  });

  it("retries exhaust: the last error is thrown after retries + 1 calls", async () => {
    const { server, provider } = await setup({ respond: () => ({ fault: "500" }) });
    const retrying = withRetries(provider, { retries: 2, baseDelayMs: 1, maxDelayMs: 5 });
    const error = await rejection(retrying.generate({ messages }));
    expect(error.kind).toBe("server");
    expect(server.count()).toBe(3);
  });

  it("408 and 409 are retryable, other 4xx are client errors and never retried", async () => {
    const { server, provider } = await setup({
      respond: (req) => {
        const seed = (req.body as { seed: number }).seed;
        return { status: seed, body: { error: { message: `status ${seed}` } } };
      },
    });
    expect(await rejection(provider.generate({ messages, seed: 408 }))).toMatchObject({
      kind: "timeout",
      retryable: true,
    });
    expect(await rejection(provider.generate({ messages, seed: 409 }))).toMatchObject({
      kind: "server",
      retryable: true,
    });
    expect(await rejection(provider.generate({ messages, seed: 503 }))).toMatchObject({
      kind: "server",
      retryable: true,
    });
    const before = server.count();
    const retrying = withRetries(provider, { retries: 5, baseDelayMs: 1, maxDelayMs: 5 });
    const error = await rejection(retrying.generate({ messages, seed: 400 }));
    expect(error).toMatchObject({ kind: "client", status: 400, retryable: false });
    expect(error.message).toContain("status 400");
    expect(server.count() - before).toBe(1);
  });

  it("a hanging server gives a timeout after timeoutMs", async () => {
    const { provider } = await setup({ respond: () => ({ fault: "hang" }) }, { timeoutMs: 200 });
    const started = performance.now();
    const error = await rejection(provider.generate({ messages }));
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ kind: "timeout", retryable: true });
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2000);
  });

  it("a reset socket gives a connection error", async () => {
    const { provider } = await setup({ respond: () => ({ fault: "reset" }) });
    expect(await rejection(provider.generate({ messages }))).toMatchObject({
      kind: "connection",
      retryable: true,
    });
  });

  it("a refused connection gives a connection error", async () => {
    const s = await startFakeOpenAIServer();
    const baseUrl = s.baseUrl;
    await s.close();
    const provider = createOpenAICompatibleProvider({
      baseUrl,
      model: "m",
      mode: "chat",
      timeoutMs: 2000,
      concurrency: 1,
    });
    providers.push(provider);
    const error = await rejection(provider.generate({ messages }));
    expect(error.kind).toBe("connection");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("malformed JSON, an empty body and missing choices are bad_response (retryable)", async () => {
    const { provider } = await setup({
      respond: (req) => ({
        fault: (req.body as { stop: string[] }).stop[0] as "malformed" | "empty" | "no_choices",
      }),
    });
    for (const fault of ["malformed", "empty", "no_choices"]) {
      const error = await rejection(provider.generate({ messages, stop: [fault] }));
      expect(error).toMatchObject({ kind: "bad_response", retryable: true });
    }
  });

  it("a 200 whose choice lacks a message is bad_response", async () => {
    const { provider } = await setup({
      respond: () => ({ status: 200, body: { choices: [{ text: "wrong shape" }] } }),
    });
    expect(await rejection(provider.generate({ messages }))).toMatchObject({ kind: "bad_response" });
  });
});

describe("abort", () => {
  it("a caller abort ends an in-flight request as aborted (not retryable), and withRetries stops", async () => {
    const { server, provider } = await setup({ respond: () => ({ fault: "hang" }) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const retrying = withRetries(provider, { retries: 5, baseDelayMs: 1, maxDelayMs: 5 });
    const started = performance.now();
    const error = await rejection(retrying.generate({ messages, signal: controller.signal }));
    expect(error).toMatchObject({ kind: "aborted", retryable: false });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(server.count()).toBe(1);
  });

  it("an already aborted signal sends nothing", async () => {
    const { server, provider } = await setup({});
    expect(await rejection(provider.generate({ messages, signal: AbortSignal.abort() }))).toMatchObject({
      kind: "aborted",
    });
    expect(server.count()).toBe(0);
  });
});

describe("secrets", () => {
  it("the API key never appears in errors, the provider or generations", async () => {
    const { provider } = await setup({
      respond: (req) => {
        const auth = String(req.headers.authorization);
        const mode = (req.body as { seed: number }).seed;
        // Servers that echo the credentials back in error bodies (some proxies do).
        if (mode === 1) return { status: 401, body: { error: { message: `invalid key ${auth} (${KEY})` } } };
        if (mode === 2) return { status: 500, body: `upstream said ${KEY}` };
        if (mode === 3) return { status: 200, body: `not json ${KEY}` };
        return { content: "fine" };
      },
    });
    const captured: unknown[] = [];
    for (const seed of [1, 2, 3]) {
      const error = await rejection(provider.generate({ messages, seed }));
      expect(error.message).toContain("[REDACTED]");
      captured.push(error);
      for (const text of [error.message, String(error), error.stack ?? "", JSON.stringify(error)]) {
        expect(text).not.toContain(KEY);
        expect(text).not.toContain("0123456789abcdef");
      }
    }
    expect((captured[0] as ProviderError).kind).toBe("client");
    expect((captured[2] as ProviderError).kind).toBe("bad_response");
    const gen = await provider.generate({ messages, seed: 4 });
    expect(JSON.stringify(gen)).not.toContain(KEY);
    expect(JSON.stringify(provider)).not.toContain(KEY);
    expect(provider.id).not.toContain(KEY);
    expect(JSON.stringify(Object.entries(provider))).not.toContain(KEY);
  });

  it("secret-looking custom headers are redacted too", async () => {
    const { provider } = await setup(
      { respond: (req) => ({ status: 403, body: `bad ${String(req.headers["x-api-key"])}` }) },
      { apiKey: undefined, headers: { "X-Api-Key": "header-secret-value" } },
    );
    const error = await rejection(provider.generate({ messages }));
    expect(error.message).not.toContain("header-secret-value");
  });
});

describe("pool and options", () => {
  it("runs up to `concurrency` requests at once, never more", async () => {
    let active = 0;
    let peak = 0;
    const { server, provider } = await setup(
      {
        respond: async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 30));
          active--;
          return { content: "x" };
        },
      },
      { concurrency: 4 },
    );
    await Promise.all(Array.from({ length: 16 }, (_, i) => provider.generate({ messages, seed: i })));
    expect(server.count()).toBe(16);
    expect(peak).toBe(4);
  });

  it("rejects bad options with the option's name", () => {
    const base = { model: "m", mode: "chat" as const, timeoutMs: 1000, concurrency: 1 };
    expect(() => createOpenAICompatibleProvider({ ...base, baseUrl: "not a url" })).toThrow(/baseUrl/);
    expect(() => createOpenAICompatibleProvider({ ...base, baseUrl: "ftp://x/v1" })).toThrow(/baseUrl/);
    expect(() => createOpenAICompatibleProvider({ ...base, baseUrl: "http://u:p@x/v1" })).toThrow(
      /credentials/,
    );
    expect(() => createOpenAICompatibleProvider({ ...base, baseUrl: "http://x/v1", concurrency: 0 })).toThrow(
      /concurrency/,
    );
    expect(() => createOpenAICompatibleProvider({ ...base, baseUrl: "http://x/v1", model: "" })).toThrow(
      /model/,
    );
  });

  it("has an id naming mode, model and endpoint; trailing slashes do not matter", async () => {
    const s = await startFakeOpenAIServer();
    servers.push(s);
    const p = createOpenAICompatibleProvider({
      baseUrl: `${s.baseUrl}/`,
      model: "qwen",
      mode: "completions",
      timeoutMs: 1000,
      concurrency: 1,
    });
    providers.push(p);
    expect(p.id).toBe(`openai-completions:qwen@${s.baseUrl}`);
    await p.generate({ messages });
    expect(s.requests[0]!.path).toBe("/v1/completions");
  });

  it("refuses to generate after close()", async () => {
    const { provider } = await setup({});
    await provider.close();
    expect(await rejection(provider.generate({ messages }))).toMatchObject({
      kind: "client",
      retryable: false,
    });
  });
});
