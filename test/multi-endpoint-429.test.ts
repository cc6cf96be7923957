// A 429 storm against a real loopback server: the endpoint's concurrency limit halves once per window
// of requests (not once per rejected request) down to the floor, and creeps back to the configured
// value once the server accepts requests again. Nothing is lost: every request ends with one answer.
import { afterEach, describe, expect, it } from "vitest";
import { createMultiEndpointProvider, type EndpointEvent } from "../src/providers/multi-endpoint.js";
import { createOpenAICompatibleProvider } from "../src/providers/openai-compatible.js";
import { withRetry } from "../src/providers/retry.js";
import { type FakeOpenAIServer, startFakeOpenAIServer } from "./helpers/fake-openai-server.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let server: FakeOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("adaptive concurrency under a 429 storm", () => {
  it("backs off to the floor during the storm and recovers to the configured limit after it", async () => {
    const CEILING = 16;
    // The storm is counted, not timed, so a loaded machine cannot shorten it.
    const STORM_REQUESTS = 80;
    let rejected = 0;
    let stormEndedAt = Number.NaN;
    const inFlight = { now: 0, peakAfterStorm: 0 };
    server = await startFakeOpenAIServer({
      record: false,
      respond: async () => {
        if (rejected < STORM_REQUESTS) {
          if (++rejected === STORM_REQUESTS) stormEndedAt = performance.now();
          return { fault: "429", retryAfter: 0 };
        }
        inFlight.now++;
        inFlight.peakAfterStorm = Math.max(inFlight.peakAfterStorm, inFlight.now);
        await sleep(3);
        inFlight.now--;
        return { content: "ok" };
      },
    });
    const events: Array<EndpointEvent & { t: number }> = [];
    const provider = createMultiEndpointProvider(
      [
        createOpenAICompatibleProvider({
          baseUrl: server.baseUrl,
          model: "m",
          mode: "chat",
          timeoutMs: 5000,
          concurrency: CEILING,
        }),
      ],
      {
        concurrencyPerEndpoint: CEILING,
        minConcurrency: 1,
        onEvent: (e) => events.push({ ...e, t: performance.now() }),
      },
    );

    const TOTAL = 600;
    let next = 0;
    let answered = 0;
    const worker = async () => {
      while (next < TOTAL) {
        next++;
        const g = await withRetry(() => provider.generate({ messages: [{ role: "user", content: "x" }] }), {
          retries: 1000,
          baseDelayMs: 2,
          maxDelayMs: 10,
        });
        if (g.response === "ok") answered++;
      }
    };
    await Promise.all(Array.from({ length: 2 * CEILING }, worker));
    const stats = provider.endpointStats()[0]!;
    await provider.close();

    expect(answered).toBe(TOTAL);
    expect(stats.successes).toBe(TOTAL);
    expect(stats.rateLimited).toBe(STORM_REQUESTS);
    const limits = events.flatMap((e) => (e.kind === "limit" ? [e.limit] : []));
    // Multiplicative decrease: one halving per window, 16 → 8 → 4 → 2 → 1, although far more than
    // four requests were rejected.
    expect(limits.slice(0, 4)).toEqual([8, 4, 2, 1]);
    const floorAt = limits.indexOf(1);
    // Additive increase afterwards: one step at a time, back to the ceiling, and it ends there.
    const recovery = limits.slice(floorAt);
    expect(recovery).toEqual(Array.from({ length: CEILING }, (_, i) => i + 1));
    expect(stats.limit).toBe(CEILING);
    expect(inFlight.peakAfterStorm).toBeLessThanOrEqual(CEILING);
    // The floor was reached during the storm, the ceiling only after it.
    const floorEvent = events.find((e) => e.kind === "limit" && e.limit === 1)!;
    const ceilingEvent = events.find((e) => e.kind === "limit" && e.limit === CEILING)!;
    expect(floorEvent.t).toBeLessThan(stormEndedAt);
    expect(ceilingEvent.t).toBeGreaterThan(stormEndedAt);
  });
});
