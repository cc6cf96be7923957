// Several endpoints serving one model (e.g. vLLM replicas behind their own OpenAI-compatible servers),
// used as one provider:
//
// - Dispatch: each request goes to the usable endpoint with the most free slots (least in flight for its
//   limit); ties rotate so equal endpoints share the load. When every usable endpoint is full the request
//   waits in one FIFO queue, so a slot freed anywhere serves the oldest waiter.
// - Health: a connection error takes an endpoint out at once; timeouts and 5xx after `failureThreshold`
//   consecutive ones. It stays out for a cooldown (doubling on each failed probe, up to `maxCooldownMs`),
//   then one real request is let through as the probe (half-open): success brings it back, failure
//   sends it out again. A request that failed on a dead endpoint is tried on another one inside the same
//   call, never sent twice at once, so the caller gets exactly one result.
// - Adaptive concurrency (AIMD) per endpoint: a 429 halves that endpoint's limit (at most once per
//   window of requests, not once per rejected request), each success adds 1/limit, back up to the
//   configured value.
// - When every endpoint is out, the call fails with a `connection` error whose retryAfterMs is the time
//   to the next probe, so the engine's own retry waits for it instead of spinning.

import type { Generation } from "../types.js";
import { Limiter } from "../util/limiter.js";
import type { GenerateRequest, ModelProvider } from "./provider.js";
import { isProviderError, ProviderError } from "./provider.js";

export interface MultiEndpointOptions {
  /** Requests in flight per endpoint at most (the AIMD ceiling). */
  concurrencyPerEndpoint: number;
  /** First cooldown of a failed endpoint; doubles with each failed probe. Default 1000 ms. */
  cooldownMs?: number;
  /** Cap on the cooldown. Default 30 000 ms (below the retry layer's 60 s Retry-After limit). */
  maxCooldownMs?: number;
  /** Floor of the AIMD limit after 429s. Default 1. */
  minConcurrency?: number;
  /** Consecutive timeouts/5xx before an endpoint is taken out (connection errors: at once). Default 2. */
  failureThreshold?: number;
  /** Health changes and limit changes, for logs. */
  onEvent?: (event: EndpointEvent) => void;
  /** Injectable clock for tests. */
  now?: () => number;
}

export type EndpointEvent =
  | { kind: "down"; endpoint: string; cooldownMs: number; error: string }
  | { kind: "up"; endpoint: string }
  | { kind: "limit"; endpoint: string; limit: number };

export type EndpointState = "up" | "down" | "probing";

export interface EndpointStats {
  id: string;
  state: EndpointState;
  /** Current AIMD limit (requests in flight allowed). */
  limit: number;
  inFlight: number;
  /** Calls sent to this endpoint, successes and failures. */
  requests: number;
  successes: number;
  failures: number;
  /** Calls sent as probes after a cooldown. */
  probes: number;
  rateLimited: number;
}

export interface MultiEndpointProvider extends ModelProvider {
  endpointStats(): EndpointStats[];
}

interface Endpoint {
  provider: ModelProvider;
  limiter: Limiter;
  /** AIMD limit with fractions: the limiter gets its floor. */
  window: number;
  state: EndpointState;
  downUntil: number;
  cooldownMs: number;
  consecutiveFailures: number;
  /** Requests started since the last decrease; a 429 from an older request does not decrease again. */
  startSeq: number;
  lastDecreaseSeq: number;
  stats: EndpointStats;
}

/** One call placed on one endpoint: the slot is taken when it is made. */
interface Attempt {
  e: Endpoint;
  probe: boolean;
  seq: number;
  result: Promise<Generation>;
}

interface Waiter {
  exclude: ReadonlySet<Endpoint>;
  req: GenerateRequest;
  resolve: (a: Attempt) => void;
  reject: (err: ProviderError) => void;
}

/** Errors that say the endpoint (not the request) is unwell. */
function endpointFault(err: ProviderError): "connection" | "soft" | undefined {
  if (err.kind === "connection") return "connection";
  if (err.kind === "timeout" || err.kind === "server") return "soft";
  return undefined;
}

export function createMultiEndpointProvider(
  providers: readonly ModelProvider[],
  options: MultiEndpointOptions,
): MultiEndpointProvider {
  if (providers.length === 0) throw new Error("multi-endpoint provider: no endpoints");
  const ceiling = options.concurrencyPerEndpoint;
  if (!Number.isInteger(ceiling) || ceiling < 1) {
    throw new Error(
      `multi-endpoint option "concurrencyPerEndpoint": must be a positive integer, got ${ceiling}`,
    );
  }
  const floor = Math.min(ceiling, Math.max(1, Math.floor(options.minConcurrency ?? 1)));
  const baseCooldown = options.cooldownMs ?? 1000;
  const maxCooldown = Math.max(baseCooldown, options.maxCooldownMs ?? 30_000);
  const threshold = Math.max(1, options.failureThreshold ?? 2);
  const now = options.now ?? (() => performance.now());
  const emit = options.onEvent ?? (() => {});

  const endpoints: Endpoint[] = providers.map((provider) => ({
    provider,
    limiter: new Limiter(ceiling),
    window: ceiling,
    state: "up",
    downUntil: 0,
    cooldownMs: baseCooldown,
    consecutiveFailures: 0,
    startSeq: 0,
    lastDecreaseSeq: -1,
    stats: {
      id: provider.id,
      state: "up",
      limit: ceiling,
      inFlight: 0,
      requests: 0,
      successes: 0,
      failures: 0,
      probes: 0,
      rateLimited: 0,
    },
  }));
  const queue: Waiter[] = [];
  let rotate = 0;
  let closed = false;
  let wakeTimer: NodeJS.Timeout | undefined;

  /** Moves endpoints whose cooldown has passed to probing (one request allowed). */
  const refresh = (t: number): void => {
    for (const e of endpoints) {
      if (e.state === "down" && t >= e.downUntil) {
        e.state = "probing";
        e.stats.state = "probing";
      }
    }
  };

  const capacity = (e: Endpoint): number => (e.state === "probing" ? 1 : e.limiter.capacity);

  /** The endpoint with the most free slots among those usable and not excluded; undefined if none. */
  const pick = (exclude: ReadonlySet<Endpoint>): Endpoint | undefined => {
    let best: Endpoint | undefined;
    let bestFree = 0;
    const n = endpoints.length;
    for (let k = 0; k < n; k++) {
      const e = endpoints[(rotate + k) % n]!;
      if (e.state === "down" || exclude.has(e)) continue;
      // A probing endpoint with its one slot free goes first: otherwise, with spare capacity elsewhere,
      // it would never be probed and never come back.
      const free =
        e.state === "probing"
          ? e.limiter.inFlight === 0
            ? Number.POSITIVE_INFINITY
            : 0
          : capacity(e) - e.limiter.inFlight;
      if (free > bestFree) {
        best = e;
        bestFree = free;
      }
    }
    if (best) rotate = (endpoints.indexOf(best) + 1) % n;
    return best;
  };

  const nextProbeIn = (t: number): number => {
    let soonest = Number.POSITIVE_INFINITY;
    for (const e of endpoints) if (e.state === "down") soonest = Math.min(soonest, e.downUntil - t);
    return Math.max(0, Math.ceil(soonest));
  };

  /** Hands free slots to waiters in order; fails waiters that no endpoint can ever serve now. */
  const drain = (): void => {
    if (queue.length === 0) return;
    refresh(now());
    // Fast path: every endpoint healthy and full — nothing can change for any waiter.
    if (endpoints.every((e) => e.state === "up" && e.limiter.inFlight >= e.limiter.capacity)) return;
    for (let i = 0; i < queue.length; ) {
      const w = queue[i]!;
      const e = pick(w.exclude);
      if (e) {
        queue.splice(i, 1);
        w.resolve(start(e, w.req));
        continue;
      }
      const err = hopeless(w.exclude);
      if (err) {
        queue.splice(i, 1);
        w.reject(err);
        continue;
      }
      i++;
    }
    scheduleWake();
  };

  /** Why a request with these exclusions cannot be served soon: every candidate is out. */
  const hopeless = (exclude: ReadonlySet<Endpoint>): ProviderError | undefined => {
    const candidates = endpoints.filter((e) => !exclude.has(e));
    if (candidates.some((e) => e.state !== "down")) return undefined;
    const t = now();
    const wait = candidates.length > 0 ? nextProbeIn(t) : undefined;
    return new ProviderError(
      "connection",
      `all ${endpoints.length} endpoints failed or are cooling down${wait === undefined ? "" : ` (next probe in ${wait} ms)`}`,
      wait === undefined ? {} : { retryAfterMs: wait },
    );
  };

  /** Wakes the queue when the first cooldown ends, so waiters see the endpoint become probeable. */
  const scheduleWake = (): void => {
    if (wakeTimer || closed || queue.length === 0) return;
    const wait = nextProbeIn(now());
    if (!Number.isFinite(wait)) return;
    wakeTimer = setTimeout(() => {
      wakeTimer = undefined;
      drain();
    }, wait + 1);
    wakeTimer.unref();
  };

  /** Places the call on `e` now: Limiter.run takes the slot synchronously, so the next pick sees it. */
  const start = (e: Endpoint, req: GenerateRequest): Attempt => {
    const probe = e.state === "probing";
    e.stats.requests++;
    if (probe) e.stats.probes++;
    const seq = ++e.startSeq;
    return { e, probe, seq, result: e.limiter.run(() => e.provider.generate(req)) };
  };

  const acquire = (exclude: ReadonlySet<Endpoint>, req: GenerateRequest): Promise<Attempt> => {
    refresh(now());
    // Waiters go first: a new request never overtakes one already queued.
    if (queue.length === 0) {
      const e = pick(exclude);
      if (e) return Promise.resolve(start(e, req));
    }
    const err = hopeless(exclude);
    if (err) return Promise.reject(err);
    const signal = req.signal;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        reject(new ProviderError("aborted", "aborted while waiting for an endpoint"));
      };
      const waiter: Waiter = {
        exclude,
        req,
        resolve: (a) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(a);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      queue.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      scheduleWake();
    });
  };

  const setWindow = (e: Endpoint, window: number): void => {
    const before = e.limiter.capacity;
    e.window = Math.min(ceiling, Math.max(floor, window));
    const limit = Math.floor(e.window);
    if (limit !== before) {
      e.limiter.setLimit(limit);
      e.stats.limit = limit;
      emit({ kind: "limit", endpoint: e.provider.id, limit });
    }
  };

  const markDown = (e: Endpoint, err: ProviderError): void => {
    // A failed probe doubles the cooldown; requests that were in flight when it died do not.
    if (e.state === "down") return;
    if (e.state === "probing") e.cooldownMs = Math.min(maxCooldown, e.cooldownMs * 2);
    e.state = "down";
    e.stats.state = "down";
    e.downUntil = now() + e.cooldownMs;
    emit({ kind: "down", endpoint: e.provider.id, cooldownMs: e.cooldownMs, error: err.message });
  };

  const onSuccess = (e: Endpoint): void => {
    e.stats.successes++;
    e.consecutiveFailures = 0;
    if (e.state !== "up") {
      e.state = "up";
      e.stats.state = "up";
      e.cooldownMs = baseCooldown;
      emit({ kind: "up", endpoint: e.provider.id });
    }
    if (e.window < ceiling) setWindow(e, e.window + 1 / e.window);
  };

  const onFailure = (a: Attempt, err: unknown): "retry-elsewhere" | "throw" => {
    const e = a.e;
    e.stats.failures++;
    if (!isProviderError(err)) return "throw";
    if (err.kind === "rate_limit") {
      e.stats.rateLimited++;
      if (a.seq > e.lastDecreaseSeq) {
        e.lastDecreaseSeq = e.startSeq;
        setWindow(e, Math.floor(e.window / 2));
      }
      return "retry-elsewhere";
    }
    const fault = endpointFault(err);
    if (fault === undefined) return "throw";
    // A request from before the endpoint went down says nothing about the probe in flight now.
    if (e.state === "probing" && !a.probe) return "retry-elsewhere";
    e.consecutiveFailures++;
    if (fault === "connection" || a.probe || e.consecutiveFailures >= threshold) markDown(e, err);
    return "retry-elsewhere";
  };

  const generate = async (req: GenerateRequest): Promise<Generation> => {
    if (closed) throw new ProviderError("client", "multi-endpoint provider is closed");
    const tried = new Set<Endpoint>();
    for (;;) {
      if (req.signal?.aborted) throw new ProviderError("aborted", "aborted by caller");
      const attempt = await acquire(tried, req);
      tried.add(attempt.e);
      try {
        const result = await attempt.result;
        onSuccess(attempt.e);
        return result;
      } catch (err) {
        const verdict = onFailure(attempt, err);
        // The last endpoint's error is the one the caller sees (its kind drives the engine's retry).
        if (verdict === "throw" || req.signal?.aborted || hopeless(tried)) throw err;
      } finally {
        drain();
      }
    }
  };

  return {
    id: `multi:${providers.map((p) => p.id).join("|")}`,
    model: providers[0]!.model,
    generate,
    // The model is usable when any endpoint answers; the others are handled by failover as usual.
    async preflight(signal?: AbortSignal) {
      const results = await Promise.allSettled(providers.map((p) => p.preflight?.(signal)));
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed.length === results.length) {
        const first = failed[0]!.reason as Error;
        throw new ProviderError(
          first instanceof ProviderError ? first.kind : "connection",
          `no endpoint answered: ${failed.map((f) => (f.reason as Error).message).join("; ")}`,
        );
      }
    },
    endpointStats: () => {
      refresh(now());
      return endpoints.map((e) => ({ ...e.stats, inFlight: e.limiter.inFlight }));
    },
    async close() {
      if (closed) return;
      closed = true;
      if (wakeTimer) clearTimeout(wakeTimer);
      for (const w of queue.splice(0)) w.reject(new ProviderError("aborted", "provider closed"));
      await Promise.all(providers.map((p) => p.close()));
    },
  };
}

/**
 * The factory the engine registers with `setMultiEndpointFactory`: per-endpoint concurrency from the
 * config, 1 s first cooldown, AIMD down to 1.
 */
export function multiEndpointFactory(providers: ModelProvider[], concurrency: number): ModelProvider {
  return createMultiEndpointProvider(providers, {
    concurrencyPerEndpoint: concurrency,
    cooldownMs: 1000,
    minConcurrency: 1,
  });
}
