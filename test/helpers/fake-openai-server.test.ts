import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { parseVerdict } from "../../src/judge/parse-verdict.js";
import { createOpenAICompatibleProvider } from "../../src/providers/openai-compatible.js";
import { LABELS } from "../../src/types.js";
import { type FakeOpenAIServer, judgeReplyText, startFakeOpenAIServer } from "./fake-openai-server.js";

let server: FakeOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("fake OpenAI server", () => {
  it("lists its model and 404s unknown routes", async () => {
    server = await startFakeOpenAIServer({ model: "tiny" });
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = await request(`${server.baseUrl}/models`);
    expect(models.statusCode).toBe(200);
    expect(await models.body.json()).toMatchObject({ data: [{ id: "tiny" }] });
    const missing = await request(`${server.origin}/v2/nothing`, { method: "POST", body: "{}" });
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();
    expect(server.count()).toBe(2);
  });

  it("records requests with parsed bodies, auth presence and per-body attempt numbers", async () => {
    server = await startFakeOpenAIServer({ respond: (req) => ({ content: `attempt ${req.attempt}` }) });
    const post = (body: unknown, auth?: string) =>
      request(`${server!.baseUrl}/chat/completions`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      }).then((r) => r.body.json() as Promise<{ choices: { message: { content: string } }[] }>);
    expect((await post({ a: 1 }, "Bearer k")).choices[0]!.message.content).toBe("attempt 1");
    expect((await post({ a: 1 })).choices[0]!.message.content).toBe("attempt 2");
    expect((await post({ a: 2 })).choices[0]!.message.content).toBe("attempt 1");
    expect(server.requests.map((r) => [r.path, r.body, r.hasAuth, r.attempt])).toEqual([
      ["/v1/chat/completions", { a: 1 }, true, 1],
      ["/v1/chat/completions", { a: 1 }, false, 2],
      ["/v1/chat/completions", { a: 2 }, false, 1],
    ]);
  });

  it("applies latencyMs", async () => {
    server = await startFakeOpenAIServer({ latencyMs: 60 });
    const started = performance.now();
    const res = await request(`${server.baseUrl}/completions`, { method: "POST", body: "{}" });
    await res.body.dump();
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("close() ends hanging requests", async () => {
    server = await startFakeOpenAIServer({ respond: () => ({ fault: "hang" }) });
    const pending = request(`${server.baseUrl}/chat/completions`, { method: "POST", body: "{}" });
    await new Promise((r) => setTimeout(r, 30));
    const started = performance.now();
    await server.close();
    await expect(pending).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("a respond() that throws becomes a visible 500", async () => {
    server = await startFakeOpenAIServer({
      respond: () => {
        throw new Error("script bug");
      },
    });
    const res = await request(`${server.baseUrl}/chat/completions`, { method: "POST", body: "{}" });
    expect(res.statusCode).toBe(500);
    expect(await res.body.text()).toContain("script bug");
  });

  it("judge reply helpers produce what the verdict parser reads (and garbage it rejects)", () => {
    for (const format of ["json", "fenced", "prose", "lines"] as const) {
      expect(parseVerdict(judgeReplyText(format, "convergence", "r"), LABELS)).toEqual({
        ok: true,
        label: "convergence",
        reason: "r",
      });
    }
    expect(parseVerdict(judgeReplyText("garbage", "convergence"), LABELS).ok).toBe(false);
  });

  it("keeps up with 256 concurrent requests through the provider", async () => {
    server = await startFakeOpenAIServer({ latencyMs: 20, record: false, respond: () => ({ content: "x" }) });
    const provider = createOpenAICompatibleProvider({
      baseUrl: server.baseUrl,
      model: "m",
      mode: "chat",
      timeoutMs: 10_000,
      concurrency: 256,
    });
    try {
      const messages = [{ role: "user" as const, content: "hello" }];
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 1024 }, () => provider.generate({ messages })));
      const elapsed = performance.now() - started;
      expect(results.every((g) => g.response === "x")).toBe(true);
      // 4 waves of 20 ms would be 80 ms at the limit; allow generous slack for a loaded 2-core machine.
      expect(elapsed).toBeLessThan(10_000);
      expect(server.requests).toHaveLength(0);
    } finally {
      await provider.close();
    }
  });
});
