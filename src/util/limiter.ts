// A counting semaphore: at most `limit` holders at once, FIFO for waiters. One per endpoint bounds
// the requests in flight there, whatever the number of workers.
export class Limiter {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`concurrency must be a positive integer, got ${limit}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get capacity(): number {
    return this.limit;
  }

  /** Changes the limit; waiters are released if it grew (adaptive concurrency). */
  setLimit(limit: number): void {
    this.limit = Math.max(1, Math.floor(limit));
    this.drain();
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    this.active--;
    this.drain();
  }

  private drain(): void {
    while (this.active < this.limit && this.waiters.length > 0) {
      this.active++;
      this.waiters.shift()!();
    }
  }
}

/**
 * Runs `worker` over `items` with `concurrency` workers pulling from one shared iterator, so memory
 * stays flat however many items there are (no promise per item up front).
 */
export async function forEachConcurrent<T>(
  items: Iterable<T>,
  concurrency: number,
  worker: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const it = items[Symbol.iterator]();
  let failure: unknown;
  const runOne = async (): Promise<void> => {
    for (;;) {
      if (signal?.aborted || failure !== undefined) return;
      const next = it.next();
      if (next.done) return;
      try {
        await worker(next.value);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, runOne));
  if (failure !== undefined) throw failure;
}
