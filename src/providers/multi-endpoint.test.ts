import { afterEach, describe, expect, it } from "vitest";
import {
  type FakeOpenAIServer,
  type FakeReply,
  startFakeOpenAIServer,
} from "../../test/helpers/fake-openai-server.js";
import { createMultiEndpointProvider, type EndpointEvent } from "./multi-endpoint.js";
import { createOpenAICompatibleProvider } from "./openai-compatible.js";
import { isProviderError, type ModelProvider } from "./provider.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const req = { messages: [{ role: "user" as const, content: "hi" }] };

let servers: FakeOpenAIServer[] = [];
let providers: ModelProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  providers = [];
});

/** A server that answers after `ms`, tracking how many requests it holds at once. */
async function slowServer(ms: number, reply: () => FakeReply = () => ({ content: "ok" })) {
  const state = { current: 0, peak: 0 };
  const server = await startFakeOpenAIServer({
    respond: async () => {
      state.current++;
      state.peak = Math.max(state.peak, state.current);
      await sleep(ms);
      state.current--;
      return reply();
    },
  });
  servers.push(server);
  return { server, state };
}

function http(server: FakeOpenAIServer, concurrency = 8): ModelProvider {
  return createOpenAICompatibleProvider({
    baseUrl: server.baseUrl,
    model: "m",
    mode: "chat",
    timeoutMs: 5000,
    concurrency,
  });
}

describe("createMultiEndpointProvider", () => {
  it("spreads requests over the endpoints and never exceeds the per-endpoint concurrency", async () => {
    const a = await slowServer(15);
    const b = await slowServer(15);
    const p = createMultiEndpointProvider([http(a.server), http(b.server)], { concurrencyPerEndpoint: 3 });
    providers.push(p);
    const results = await Promise.all(Array.from({ length: 40 }, () => p.generate(req)));
    expect(results.every((r) => r.response === "ok")).toBe(true);
    expect(a.state.peak).toBe(3);
    expect(b.state.peak).toBe(3);
    expect(a.server.count() + b.server.count()).toBe(40);
    expect(Math.min(a.server.count(), b.server.count())).toBeGreaterThanOrEqual(12);
    expect(p.endpointStats().map((s) => s.inFlight)).toEqual([0, 0]);
  });

  it("prefers the endpoint with the fewest requests in flight", async () => {
    const slow = await slowServer(1000);
    const fast = await slowServer(5);
    const p = createMultiEndpointProvider([http(slow.server), http(fast.server)], {
      concurrencyPerEndpoint: 4,
    });
    providers.push(p);
    const first = p.generate(req); // occupies one slot on the first endpoint for 1 s
    await sleep(20);
    for (let i = 0; i < 10; i++) await p.generate(req);
    await first;
    // With one request stuck on `slow`, every sequential request found `fast` freer.
    expect(slow.server.count()).toBe(1);
    expect(fast.server.count()).toBe(10);
  });

  it("redoes a request that failed on a dead endpoint on a live one, returning one result", async () => {
    const live = await slowServer(5);
    const dead = await slowServer(5);
    await dead.server.close();
    const events: EndpointEvent[] = [];
    const p = createMultiEndpointProvider([http(dead.server), http(live.server)], {
      concurrencyPerEndpoint: 2,
      cooldownMs: 60_000,
      onEvent: (e) => events.push(e),
    });
    providers.push(p);
    const results = await Promise.all(Array.from({ length: 10 }, () => p.generate(req)));
    expect(results).toHaveLength(10);
    expect(live.server.count()).toBe(10);
    const [deadStats] = p.endpointStats();
    expect(deadStats).toMatchObject({ state: "down", successes: 0 });
    // Only the requests dispatched before the first failure went there.
    expect(deadStats!.requests).toBeLessThanOrEqual(2);
    expect(events.filter((e) => e.kind === "down")).toHaveLength(1);
  });

  it("takes a 5xx endpoint out after consecutive failures, probes it after the cooldown and brings it back", async () => {
    let healthy = false;
    const flaky = await slowServer(2, () => (healthy ? { content: "ok" } : { fault: "500" }));
    const good = await slowServer(2);
    const events: EndpointEvent[] = [];
    const p = createMultiEndpointProvider([http(flaky.server), http(good.server)], {
      concurrencyPerEndpoint: 1,
      cooldownMs: 150,
      failureThreshold: 2,
      onEvent: (e) => events.push(e),
    });
    providers.push(p);
    for (let i = 0; i < 6; i++) expect((await p.generate(req)).response).toBe("ok");
    // Out after the second 500 (on a slow machine its cooldown may already be over: probing).
    expect(events.filter((e) => e.kind === "down")).toHaveLength(1);
    expect(p.endpointStats()[0]!.state).not.toBe("up");
    expect(flaky.server.count()).toBe(2);
    healthy = true;
    await sleep(200);
    const before = flaky.server.count();
    for (let i = 0; i < 6; i++) await p.generate(req);
    expect(p.endpointStats()[0]).toMatchObject({ state: "up" });
    expect(p.endpointStats()[0]!.probes).toBeGreaterThanOrEqual(1);
    expect(flaky.server.count()).toBeGreaterThan(before);
    expect(events.map((e) => e.kind)).toContain("up");
  });

  it("doubles the cooldown on each failed probe", async () => {
    const dead = await slowServer(1);
    const live = await slowServer(1);
    await dead.server.close();
    const events: EndpointEvent[] = [];
    const p = createMultiEndpointProvider([http(dead.server), http(live.server)], {
      concurrencyPerEndpoint: 1,
      cooldownMs: 10,
      onEvent: (e) => events.push(e),
    });
    providers.push(p);
    const until = performance.now() + 400;
    while (performance.now() < until) await p.generate(req);
    const cooldowns = events.flatMap((e) => (e.kind === "down" ? [e.cooldownMs] : []));
    expect(cooldowns.length).toBeGreaterThanOrEqual(3);
    expect(cooldowns.slice(0, 4)).toEqual([10, 20, 40, 80].slice(0, Math.min(4, cooldowns.length)));
  });

  it("fails fast with the time to the next probe when every endpoint is down", async () => {
    const a = await slowServer(1);
    const b = await slowServer(1);
    await a.server.close();
    await b.server.close();
    const p = createMultiEndpointProvider([http(a.server), http(b.server)], {
      concurrencyPerEndpoint: 2,
      cooldownMs: 5000,
    });
    providers.push(p);
    const first = await p.generate(req).catch((e: unknown) => e);
    expect(isProviderError(first) && first.kind).toBe("connection");
    const second = await p.generate(req).catch((e: unknown) => e);
    expect(isProviderError(second) && second.message).toMatch(/all 2 endpoints failed or are cooling down/);
    expect(isProviderError(second) && second.retryAfterMs).toBeGreaterThan(4000);
    expect(p.endpointStats().map((s) => s.state)).toEqual(["down", "down"]);
  });

  it("passes client errors through without trying another endpoint", async () => {
    const a = await slowServer(1, () => ({ status: 400, body: { error: "bad" } }));
    const b = await slowServer(1, () => ({ status: 400, body: { error: "bad" } }));
    const p = createMultiEndpointProvider([http(a.server), http(b.server)], { concurrencyPerEndpoint: 2 });
    providers.push(p);
    const err = await p.generate(req).catch((e: unknown) => e);
    expect(isProviderError(err) && err.kind).toBe("client");
    expect(a.server.count() + b.server.count()).toBe(1);
    expect(p.endpointStats().every((s) => s.state === "up")).toBe(true);
  });

  it("stops a request waiting for a slot when its signal aborts", async () => {
    const a = await slowServer(100);
    const p = createMultiEndpointProvider([http(a.server)], { concurrencyPerEndpoint: 1 });
    providers.push(p);
    const busy = p.generate(req);
    const ctrl = new AbortController();
    const waiting = p.generate({ ...req, signal: ctrl.signal }).catch((e: unknown) => e);
    ctrl.abort();
    const err = await waiting;
    expect(isProviderError(err) && err.kind).toBe("aborted");
    await busy;
    expect(a.server.count()).toBe(1);
  });

  it("rejects bad options", () => {
    expect(() => createMultiEndpointProvider([], { concurrencyPerEndpoint: 1 })).toThrow(/no endpoints/);
    const dummy: ModelProvider = {
      id: "x",
      generate: () => Promise.reject(new Error("x")),
      close: async () => {},
    };
    expect(() => createMultiEndpointProvider([dummy], { concurrencyPerEndpoint: 0 })).toThrow(
      /concurrencyPerEndpoint/,
    );
  });
});
