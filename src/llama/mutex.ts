// One engine owns one llama_context, which is not re-entrant: every operation that touches it runs under
// this FIFO lock, so overlapping async calls queue instead of interleaving decodes.
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = false;

  /** True while an operation holds the lock. */
  get locked(): boolean {
    return this.held;
  }

  /** Runs `fn` once every earlier caller has finished (whether it resolved or threw). */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(async () => {
      this.held = true;
      try {
        return await fn();
      } finally {
        this.held = false;
      }
    });
    // The chain must survive a rejected operation.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
