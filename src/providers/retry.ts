// Retrying provider calls: exponential backoff with full jitter, Retry-After honoured, aborts respected.
// Hand-written (about 60 lines) because p-retry has no notion of a server-dictated delay.
//
// Delay before retry n (n = 1, 2, ...):
//   backoff = random() * min(maxDelayMs, baseDelayMs * 2^(n-1))            ("full jitter")
//   with Retry-After: max(retryAfterMs, backoff) — never sooner than the server asked, and the jitter
//   keeps many workers that got the same Retry-After from all returning in the same millisecond.
// Retry-After is NOT capped by maxDelayMs (retrying early just earns another 429). Instead, a Retry-After
// longer than maxRetryAfterMs (default 60 s) ends the retries at once: such a wait is a quota, not a blip.
import type { GenerateRequest, ModelProvider } from "./provider.js";
import { isProviderError, ProviderError } from "./provider.js";

export interface RetryInfo {
  /** 1-based number of the attempt that failed. */
  attempt: number;
  /** How long we wait before the next attempt. */
  delayMs: number;
}

export interface RetryOptions {
  /** Retries after the first attempt (total attempts = retries + 1). */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After we wait for; a longer one fails immediately. Default 60 000. */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
  /** Called before each wait; the error is the one being retried. */
  onRetry?: (error: ProviderError, info: RetryInfo) => void;
  /** Injectable for tests: uniform in [0, 1). */
  random?: () => number;
  /** Injectable for tests: must reject when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

function abortedError(): ProviderError {
  return new ProviderError("aborted", "request aborted");
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function backoffDelayMs(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  return Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
}

/** Runs `fn` (given the 0-based attempt index) until it succeeds, a non-retryable error, or retries run out. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { retries, baseDelayMs, maxDelayMs, signal, onRetry } = options;
  const random = options.random ?? Math.random;
  const wait = options.sleep ?? sleep;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw abortedError();
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw isProviderError(error) && error.kind === "aborted" ? error : abortedError();
      if (!isProviderError(error) || !error.retryable || attempt >= retries) throw error;
      const backoff = backoffDelayMs(attempt + 1, baseDelayMs, maxDelayMs, random);
      let delayMs = backoff;
      if (error.retryAfterMs !== undefined) {
        if (error.retryAfterMs > maxRetryAfterMs) throw error;
        delayMs = Math.max(error.retryAfterMs, backoff);
      }
      onRetry?.(error, { attempt: attempt + 1, delayMs });
      await wait(delayMs, signal);
    }
  }
}

/**
 * Parses an HTTP Retry-After value (delta-seconds or HTTP-date) into milliseconds from `now`.
 * Returns undefined when absent or unparseable; a date in the past gives 0.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  // Date.parse accepts bare numbers like "-5" as years; an HTTP-date always has a day/month name.
  if (!/[a-z]{3}/i.test(raw)) return undefined;
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export type ProviderRetryOptions = Omit<RetryOptions, "signal">;

/** Wraps a provider so each `generate` is retried; the request's own signal stops the retries. */
export function withRetries(provider: ModelProvider, options: ProviderRetryOptions): ModelProvider {
  return {
    id: provider.id,
    model: provider.model,
    generate: (req: GenerateRequest) =>
      withRetry(() => provider.generate(req), { ...options, signal: req.signal }),
    close: () => provider.close(),
  };
}
