import { describe, expect, it } from "vitest";
import type { Generation } from "../types.js";
import { type GenerateRequest, type ModelProvider, ProviderError } from "./provider.js";
import { backoffDelayMs, parseRetryAfter, type RetryOptions, withRetries, withRetry } from "./retry.js";

/** Records requested waits and returns at once: an injected clock. */
function fakeSleep() {
  const waits: number[] = [];
  const sleep: NonNullable<RetryOptions["sleep"]> = async (ms) => {
    waits.push(ms);
  };
  return { waits, sleep };
}

/** A function that throws the given errors in turn, then returns "done". */
function failing(errors: unknown[]) {
  let calls = 0;
  const fn = async (): Promise<string> => {
    const error = errors[calls++];
    if (error !== undefined) throw error;
    return "done";
  };
  return { fn, calls: () => calls };
}

const server = () => new ProviderError("server", "HTTP 500");

describe("withRetry", () => {
  it("retries retryable errors with full-jitter exponential backoff", async () => {
    const { waits, sleep } = fakeSleep();
    const f = failing([server(), server(), server()]);
    const seen: number[] = [];
    const result = await withRetry(f.fn, {
      retries: 3,
      baseDelayMs: 100,
      maxDelayMs: 250,
      random: () => 0.5,
      sleep,
      onRetry: (error, info) => {
        expect(error.kind).toBe("server");
        seen.push(info.attempt);
      },
    });
    expect(result).toBe("done");
    expect(f.calls()).toBe(4);
    // 0.5 × min(250, 100·2^(n-1)): 50, 100, then capped at 125.
    expect(waits).toEqual([50, 100, 125]);
    expect(seen).toEqual([1, 2, 3]);
  });

  it("passes the 0-based attempt index to fn", async () => {
    const attempts: number[] = [];
    const { sleep } = fakeSleep();
    await withRetry(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 2) throw server();
        return 1;
      },
      { retries: 5, baseDelayMs: 1, maxDelayMs: 1, sleep },
    );
    expect(attempts).toEqual([0, 1, 2]);
  });

  it("full jitter stays below the cap", () => {
    for (let n = 1; n < 20; n++) {
      const d = backoffDelayMs(n, 100, 5000, () => 0.999999);
      expect(d).toBeLessThan(Math.min(5000, 100 * 2 ** (n - 1)));
      expect(d).toBeGreaterThanOrEqual(0);
    }
  });

  it("throws the last error when retries run out", async () => {
    const { waits, sleep } = fakeSleep();
    const errors = [server(), server(), new ProviderError("timeout", "third")];
    const f = failing(errors);
    await expect(withRetry(f.fn, { retries: 2, baseDelayMs: 10, maxDelayMs: 100, sleep })).rejects.toBe(
      errors[2],
    );
    expect(f.calls()).toBe(3);
    expect(waits).toHaveLength(2);
  });

  it("never retries non-retryable errors or foreign errors", async () => {
    const { waits, sleep } = fakeSleep();
    const client = new ProviderError("client", "HTTP 400", { status: 400 });
    const f1 = failing([client]);
    await expect(withRetry(f1.fn, { retries: 5, baseDelayMs: 1, maxDelayMs: 1, sleep })).rejects.toBe(client);
    expect(f1.calls()).toBe(1);
    const bug = new TypeError("bug");
    const f2 = failing([bug]);
    await expect(withRetry(f2.fn, { retries: 5, baseDelayMs: 1, maxDelayMs: 1, sleep })).rejects.toBe(bug);
    expect(f2.calls()).toBe(1);
    expect(waits).toEqual([]);
  });

  it("honours Retry-After even beyond maxDelayMs, never waiting less", async () => {
    const { waits, sleep } = fakeSleep();
    const f = failing([
      new ProviderError("rate_limit", "429", { status: 429, retryAfterMs: 1500 }),
      new ProviderError("rate_limit", "429", { status: 429, retryAfterMs: 10 }),
    ]);
    await withRetry(f.fn, { retries: 3, baseDelayMs: 100, maxDelayMs: 200, random: () => 0.9, sleep });
    // First: Retry-After 1500 > jittered 90. Second: jittered 180 > Retry-After 10.
    expect(waits).toEqual([1500, 180]);
  });

  it("gives up at once when Retry-After exceeds maxRetryAfterMs", async () => {
    const { waits, sleep } = fakeSleep();
    const quota = new ProviderError("rate_limit", "429", { status: 429, retryAfterMs: 3_600_000 });
    const f = failing([quota]);
    await expect(withRetry(f.fn, { retries: 3, baseDelayMs: 1, maxDelayMs: 1, sleep })).rejects.toBe(quota);
    expect(f.calls()).toBe(1);
    expect(waits).toEqual([]);
  });

  it("does not start when the signal is already aborted", async () => {
    const f = failing([]);
    await expect(
      withRetry(f.fn, { retries: 3, baseDelayMs: 1, maxDelayMs: 1, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ kind: "aborted", retryable: false });
    expect(f.calls()).toBe(0);
  });

  it("stops a real backoff wait as soon as the signal aborts", async () => {
    const controller = new AbortController();
    const f = failing([server(), server()]);
    setTimeout(() => controller.abort(), 30);
    const started = performance.now();
    await expect(
      withRetry(f.fn, {
        retries: 3,
        baseDelayMs: 10_000,
        maxDelayMs: 10_000,
        random: () => 0.99,
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ kind: "aborted" });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(f.calls()).toBe(1);
  });

  it("does not retry an error that happened because the signal aborted", async () => {
    const controller = new AbortController();
    let calls = 0;
    const fn = async () => {
      calls++;
      controller.abort();
      throw new ProviderError("connection", "socket closed by abort");
    };
    await expect(
      withRetry(fn, { retries: 3, baseDelayMs: 1, maxDelayMs: 1, signal: controller.signal }),
    ).rejects.toMatchObject({ kind: "aborted" });
    expect(calls).toBe(1);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-03T12:00:00Z");
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("1.5", now)).toBe(1500);
    expect(parseRetryAfter(["3", "9"], now)).toBe(3000);
  });
  it("reads HTTP-dates relative to now, past dates giving 0", () => {
    expect(parseRetryAfter("Sat, 03 Jan 2026 12:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Sat, 03 Jan 2026 11:00:00 GMT", now)).toBe(0);
  });
  it("returns undefined for absent or garbage values", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter("-5", now)).toBeUndefined();
  });
});

describe("withRetries", () => {
  it("wraps a provider's generate, keeping its identity", async () => {
    const gen: Generation = {
      response: "ok",
      thinking: undefined,
      promptTokens: 1,
      completionTokens: 1,
      latencyMs: 1,
      finishReason: "stop",
    };
    let calls = 0;
    // A test double only to inject faults: fails twice, then answers.
    const inner: ModelProvider = {
      id: "double:x",
      model: "x",
      async generate(_req: GenerateRequest) {
        calls++;
        if (calls < 3) throw new ProviderError("connection", "reset");
        return gen;
      },
      async close() {},
    };
    const { waits, sleep } = fakeSleep();
    const wrapped = withRetries(inner, { retries: 2, baseDelayMs: 5, maxDelayMs: 5, sleep });
    expect(wrapped.id).toBe("double:x");
    expect(await wrapped.generate({ messages: [] })).toBe(gen);
    expect(calls).toBe(3);
    expect(waits).toHaveLength(2);
  });
});
