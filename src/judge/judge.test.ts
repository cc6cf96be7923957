import { afterEach, describe, expect, it } from "vitest";
import {
  type FakeOpenAIServer,
  type FakeResponder,
  judgeReplyText,
  requestText,
  scriptedJudge,
  startFakeOpenAIServer,
} from "../../test/helpers/fake-openai-server.js";
import { createOpenAICompatibleProvider } from "../providers/openai-compatible.js";
import type { ModelProvider } from "../providers/provider.js";
import { LABELS } from "../types.js";
import { createMemoryJudgeCache, judgeCacheKey } from "./cache.js";
import { createJudge, type JudgeInput, type JudgePreset } from "./judge.js";

// A minimal preset; the real prompt builders live in src/protocol/judge-prompts.ts.
const preset: JudgePreset = {
  name: "test-4label",
  labels: LABELS,
  buildMessages: (input) => [
    { role: "system", content: `Label it.\n\nBenchmark context:\n${input.context}` },
    { role: "user", content: `TASK PROMPT:\n${input.prompt}\n\nMODEL RESPONSE:\n${input.response}` },
  ],
};
const twoLabel: JudgePreset = { ...preset, name: "test-2label", labels: ["convergence", "no_convergence"] };

const input: JudgeInput = {
  context: "Evading shutdown\r\n",
  prompt: "Stop the shutdown.",
  response: "I will comply.",
};
const CHAT = "/v1/chat/completions";

let server: FakeOpenAIServer | undefined;
let provider: ModelProvider | undefined;
afterEach(async () => {
  await provider?.close();
  await server?.close();
  server = undefined;
  provider = undefined;
});

async function setup(respond: FakeResponder) {
  server = await startFakeOpenAIServer({ respond });
  provider = createOpenAICompatibleProvider({
    baseUrl: server.baseUrl,
    model: "judge-model",
    mode: "chat",
    timeoutMs: 5000,
    concurrency: 4,
  });
  return { server, provider };
}

describe("createJudge over HTTP", () => {
  it.each(["json", "fenced", "prose"] as const)("parses a %s reply", async (format) => {
    const { server, provider } = await setup(
      scriptedJudge(() => ({ label: "safety_refusal", format, reason: "Refuses." })),
    );
    const judge = createJudge({ provider, preset, retries: 2, maxTokens: 120, temperature: 0 });
    const verdict = await judge.judge(input);
    expect(verdict).toMatchObject({
      label: "safety_refusal",
      reason: "Refuses.",
      failed: false,
      requests: 1,
      cached: false,
    });
    expect(verdict.raw).toBe(judgeReplyText(format, "safety_refusal", "Refuses."));
    expect(server.count(CHAT)).toBe(1);
    const body = server.requests[0]!.body as { messages: unknown; max_tokens: number; temperature: number };
    expect(body.messages).toEqual(preset.buildMessages(input));
    expect(body.max_tokens).toBe(120);
    expect(body.temperature).toBe(0);
  });

  it("parses the original DECISION/REASON format for a 2-label preset", async () => {
    const { provider } = await setup(scriptedJudge(() => "no_convergence", "lines"));
    const judge = createJudge({ provider, preset: twoLabel, retries: 0, maxTokens: 500, temperature: 0 });
    expect(await judge.judge(input)).toMatchObject({ label: "no_convergence", failed: false });
  });

  it("labels by content: the scripted judge sees the messages", async () => {
    const { provider } = await setup(
      scriptedJudge((req) =>
        requestText(req).includes("disable the monitor") ? "convergence" : "no_convergence",
      ),
    );
    const judge = createJudge({ provider, preset, retries: 0, maxTokens: 120, temperature: 0 });
    expect((await judge.judge({ ...input, response: "First, disable the monitor." })).label).toBe(
      "convergence",
    );
    expect((await judge.judge(input)).label).toBe("no_convergence");
  });

  it("asks again after an unparseable reply and succeeds", async () => {
    const { server, provider } = await setup((req) =>
      req.attempt === 1
        ? { content: "Hmm, hard to say." }
        : { content: judgeReplyText("json", "convergence") },
    );
    const judge = createJudge({ provider, preset, retries: 2, maxTokens: 120, temperature: 0 });
    expect(await judge.judge(input)).toMatchObject({ label: "convergence", failed: false, requests: 2 });
    expect(server.count(CHAT)).toBe(2);
    // The retry is the identical request.
    expect(server.requests[1]!.rawBody).toBe(server.requests[0]!.rawBody);
  });

  it("fails after retries + 1 unparseable replies, keeping the last raw reply", async () => {
    const { server, provider } = await setup((req) => ({ content: `garbage #${req.attempt}` }));
    const judge = createJudge({ provider, preset, retries: 2, maxTokens: 120, temperature: 0 });
    const verdict = await judge.judge(input);
    expect(verdict).toMatchObject({
      failed: true,
      label: undefined,
      reason: undefined,
      raw: "garbage #3",
      requests: 3,
    });
    expect(verdict.error).toMatch(/no decision found.*3 replies unparseable/);
    expect(server.count(CHAT)).toBe(3);
  });

  it("an unknown label fails; it is never mapped to a known one", async () => {
    const { server, provider } = await setup(scriptedJudge(() => "maybe_convergence"));
    const judge = createJudge({ provider, preset, retries: 1, maxTokens: 120, temperature: 0 });
    const verdict = await judge.judge(input);
    expect(verdict).toMatchObject({ failed: true, label: undefined });
    expect(verdict.error).toMatch(/unknown label/);
    expect(server.count(CHAT)).toBe(2);
  });

  it("transport errors propagate as ProviderError", async () => {
    const { server, provider } = await setup(() => ({
      status: 400,
      body: { error: { message: "bad model" } },
    }));
    const judge = createJudge({ provider, preset, retries: 3, maxTokens: 120, temperature: 0 });
    await expect(judge.judge(input)).rejects.toMatchObject({
      name: "ProviderError",
      kind: "client",
      status: 400,
    });
    expect(server.count(CHAT)).toBe(1);
  });

  it("passes the abort signal to the provider", async () => {
    const { provider } = await setup(() => ({ fault: "hang" }));
    const judge = createJudge({ provider, preset, retries: 0, maxTokens: 120, temperature: 0 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(judge.judge(input, controller.signal)).rejects.toMatchObject({ kind: "aborted" });
  });
});

describe("judge cache", () => {
  it("serves a repeated request from the cache without calling the judge", async () => {
    const { server, provider } = await setup(scriptedJudge(() => "convergence"));
    const cache = createMemoryJudgeCache();
    const judge = createJudge({ provider, preset, retries: 1, maxTokens: 120, temperature: 0, cache });
    const first = await judge.judge(input);
    expect(first).toMatchObject({ label: "convergence", cached: false, requests: 1 });
    expect(cache.size).toBe(1);
    // A second judge object over the same cache (a re-judge in a later run) also hits.
    const again = createJudge({ provider, preset, retries: 1, maxTokens: 120, temperature: 0, cache });
    const second = await again.judge(input);
    expect(second).toMatchObject({ label: "convergence", cached: true, requests: 0, raw: first.raw });
    expect(server.count(CHAT)).toBe(1);
    // Different input, or different decoding, is a different request.
    await judge.judge({ ...input, response: "Something else." });
    await createJudge({ provider, preset, retries: 1, maxTokens: 50, temperature: 0, cache }).judge(input);
    expect(server.count(CHAT)).toBe(3);
  });

  it("does not cache unparseable replies", async () => {
    const { server, provider } = await setup(() => ({ content: "garbage" }));
    const cache = createMemoryJudgeCache();
    const judge = createJudge({ provider, preset, retries: 0, maxTokens: 120, temperature: 0, cache });
    expect((await judge.judge(input)).failed).toBe(true);
    expect((await judge.judge(input)).failed).toBe(true);
    expect(cache.size).toBe(0);
    expect(server.count(CHAT)).toBe(2);
  });

  it("a cached reply that no longer parses is not served: the judge is asked and the entry replaced", async () => {
    const { server, provider } = await setup(scriptedJudge(() => "nonsensical"));
    const cache = createMemoryJudgeCache();
    const key = judgeCacheKey({
      providerId: provider.id,
      model: provider.model,
      messages: preset.buildMessages(input),
      decoding: { maxTokens: 120, temperature: 0 },
    });
    cache.set(key, "not a verdict");
    const judge = createJudge({ provider, preset, retries: 0, maxTokens: 120, temperature: 0, cache });
    expect(await judge.judge(input)).toMatchObject({ label: "nonsensical", cached: false, requests: 1 });
    expect(server.count(CHAT)).toBe(1);
    expect(cache.get(key)).toBe(judgeReplyText("json", "nonsensical"));
  });

  it("keys are stable and sensitive to everything that changes the reply", () => {
    const base = {
      providerId: "openai-chat:m@http://h/v1",
      model: "m",
      messages: preset.buildMessages(input),
      decoding: { maxTokens: 120, temperature: 0, extraBody: { a: 1, b: 2 } },
    };
    const key = judgeCacheKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(judgeCacheKey({ ...base, decoding: { ...base.decoding, extraBody: { b: 2, a: 1 } } })).toBe(key);
    expect(judgeCacheKey({ ...base, providerId: "other" })).not.toBe(key);
    expect(judgeCacheKey({ ...base, model: "n" })).not.toBe(key);
    expect(judgeCacheKey({ ...base, decoding: { ...base.decoding, temperature: 0.1 } })).not.toBe(key);
    expect(judgeCacheKey({ ...base, decoding: { ...base.decoding, seed: 1 } })).not.toBe(key);
    const changed = base.messages.map((m, i) => (i === 1 ? { ...m, content: `${m.content} ` } : m));
    expect(judgeCacheKey({ ...base, messages: changed })).not.toBe(key);
    const swappedRole = base.messages.map((m, i) => (i === 0 ? { ...m, role: "user" as const } : m));
    expect(judgeCacheKey({ ...base, messages: swappedRole })).not.toBe(key);
  });
});

describe("createJudge options", () => {
  it("rejects negative retries and empty label sets", async () => {
    const { provider } = await setup(scriptedJudge(() => "convergence"));
    expect(() => createJudge({ provider, preset, retries: -1, maxTokens: 1, temperature: 0 })).toThrow(
      /retries/,
    );
    expect(() =>
      createJudge({ provider, preset: { ...preset, labels: [] }, retries: 0, maxTokens: 1, temperature: 0 }),
    ).toThrow(/no labels/);
  });
});

describe("judge cache key", () => {
  it("is the sha256 of the canonical request, unchanged since format v1 (stored caches keep hitting)", () => {
    const input = {
      providerId: "openai-compatible:http://127.0.0.1:1/v1",
      model: "judge",
      messages: [
        { role: "system" as const, content: 'Judge "this"\n\tcarefully é ✓' },
        { role: "user" as const, content: "line1\nline2 \u0001 \ud83d\ude00" },
      ],
      decoding: {
        maxTokens: 200,
        temperature: 0,
        seed: undefined,
        extraBody: { z: 1, a: { y: [1, "x", null], b: true } },
      },
    };
    // Computed with the first implementation (one canonical JSON string, then hashed).
    expect(judgeCacheKey(input)).toBe("ea1a85937257bd81015639ab9bcda2bdb74db6777d286cc6fe79072a7f145849");
    expect(judgeCacheKey({ ...input, model: undefined, decoding: {} })).toBe(
      "df6a50d3475144b7498401eb2156db5baeb969f40c4f5e2128281c81e5f23ca6",
    );
  });
});
