// Admission control for `steerbench serve --parallel N`: N slots run generations at once (each one an
// `engine.generate()` call in flight with its own AbortSignal), a bounded FIFO queue holds the rest, and a
// request that cannot even be queued is refused at once with a Retry-After estimate. A waiting ticket whose
// signal aborts (its client went away) leaves the queue immediately; a running one frees its slot when the
// caller releases it, which the server does as soon as the generation stops.

export class QueueFullError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    readonly queued: number,
  ) {
    super(`server busy: ${queued} generations queued (the queue is full); retry in ${retryAfterSeconds} s`);
    this.name = "QueueFullError";
  }
}

export interface SlotStats {
  slots: number;
  active: number;
  queued: number;
  maxQueue: number;
}

export interface SlotSchedulerOptions {
  /** Generations that run at the same time (≥ 1). */
  slots: number;
  /** Generations that may wait for a slot before new ones are refused (≥ 0). */
  maxQueue: number;
  /** Clock in ms (tests); default performance.now. */
  now?: () => number;
}

interface Waiter {
  grant: () => void;
  fail: (reason: unknown) => void;
}

/** One admitted generation: wait for its slot, run, release (exactly once, also after an abort). */
export interface Ticket {
  /** Resolves once this ticket holds a slot; rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Gives the slot (or the queue place) back. Idempotent. */
  release(): void;
}

export class SlotScheduler {
  readonly slots: number;
  readonly maxQueue: number;
  private readonly now: () => number;
  private active = 0;
  /** Admitted tickets that do not hold a slot yet (waiting or not yet asking). */
  private pending = 0;
  private readonly waiters: Waiter[] = [];
  private closedReason: unknown;
  /** Moving average of how long a slot is held, in ms (for Retry-After). */
  private avgMs: number | undefined;

  constructor(opts: SlotSchedulerOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 1)
      throw new RangeError(`slots must be a positive integer, got ${opts.slots}`);
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0)
      throw new RangeError(`maxQueue must be a non-negative integer, got ${opts.maxQueue}`);
    this.slots = opts.slots;
    this.maxQueue = opts.maxQueue;
    this.now = opts.now ?? (() => performance.now());
  }

  get stats(): SlotStats {
    return { slots: this.slots, active: this.active, queued: this.pending, maxQueue: this.maxQueue };
  }

  /** Seconds a refused client should wait: the queue ahead of it, drained N at a time. */
  retryAfterSeconds(): number {
    const per = (this.avgMs ?? 1000) / 1000;
    const rounds = Math.ceil((this.pending + 1) / this.slots);
    return Math.min(3600, Math.max(1, Math.ceil(per * rounds)));
  }

  /**
   * Admits `count` generations (one request with `n` choices is n of them) or none: throws QueueFullError
   * when the free slots and free queue places together cannot take them all.
   */
  admit(count: number): Ticket[] {
    if (this.closedReason !== undefined) throw this.closedReason;
    const free = this.slots - this.active + this.maxQueue - this.pending;
    if (count > free) throw new QueueFullError(this.retryAfterSeconds(), this.pending);
    this.pending += count;
    return Array.from({ length: count }, () => this.ticket());
  }

  /** Refuses everything admitted but not yet running, and all later admissions, with `reason`. */
  close(reason: unknown): void {
    this.closedReason = reason;
    for (const w of this.waiters.splice(0)) w.fail(reason);
  }

  private ticket(): Ticket {
    let state: "pending" | "waiting" | "running" | "done" = "pending";
    let started = 0;
    let waiter: Waiter | undefined;
    let onAbort: (() => void) | undefined;
    let signalRef: AbortSignal | undefined;
    const leaveQueue = () => {
      this.pending--;
      if (waiter) {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
      }
      if (onAbort) signalRef?.removeEventListener("abort", onAbort);
    };
    const take = () => {
      leaveQueue();
      this.active++;
      state = "running";
      started = this.now();
    };
    return {
      acquire: (signal) => {
        if (state !== "pending") return Promise.reject(new Error("a ticket is acquired once"));
        if (this.closedReason !== undefined) {
          state = "done";
          leaveQueue();
          return Promise.reject(this.closedReason);
        }
        if (signal?.aborted) {
          state = "done";
          leaveQueue();
          return Promise.reject(signal.reason);
        }
        // FIFO: a free slot goes to whoever waits longest.
        if (this.active < this.slots && this.waiters.length === 0) {
          take();
          return Promise.resolve();
        }
        state = "waiting";
        return new Promise<void>((resolve, reject) => {
          waiter = {
            grant: () => {
              take();
              resolve();
            },
            fail: (reason) => {
              state = "done";
              leaveQueue();
              reject(reason);
            },
          };
          this.waiters.push(waiter);
          if (signal) {
            signalRef = signal;
            onAbort = () => {
              if (state !== "waiting") return;
              waiter!.fail(signal.reason);
            };
            signal.addEventListener("abort", onAbort, { once: true });
          }
        });
      },
      release: () => {
        if (state === "done") return;
        if (state === "running") {
          this.active--;
          const ms = this.now() - started;
          this.avgMs = this.avgMs === undefined ? ms : 0.8 * this.avgMs + 0.2 * ms;
          state = "done";
          this.next();
          return;
        }
        if (state === "waiting") {
          waiter!.fail(new Error("released while waiting"));
          return;
        }
        state = "done";
        leaveQueue();
      },
    };
  }

  private next(): void {
    while (this.active < this.slots && this.waiters.length > 0) this.waiters.shift()!.grant();
  }
}
