// Write-behind for a run's results: the answers, verdicts and judge-cache entries that complete in one
// turn of the event loop are committed together, in one transaction at the next turn (setImmediate),
// instead of one commit each; at high concurrency the per-row commits were a quarter of the harness's CPU.
//
// Kill -9 safety is unchanged: a write's promise resolves only after its transaction has committed, and
// the runner waits for it before it judges the answer or counts the item done. What a kill can lose is
// only what no one was told is stored, and a resume redoes exactly that (as with a call in flight).
import { type Store, StoreError } from "./store.js";

/** Where the runner's per-item results go: a Store (each write its own commit) or a WriteBehind. */
export interface ResultWriter {
  saveResponse(r: Parameters<Store["saveResponse"]>[0]): void | Promise<void>;
  saveJudgement(j: Parameters<Store["saveJudgement"]>[0]): void | Promise<void>;
}

interface Write {
  run: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class WriteBehind implements ResultWriter {
  private queue: Write[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly store: Store) {}

  /** Resolves once the answer is committed. */
  saveResponse(r: Parameters<Store["saveResponse"]>[0]): Promise<void> {
    return this.enqueue(() => this.store.saveResponse(r));
  }

  /** Resolves once the verdict is committed; rejects as Store.saveJudgement throws. */
  saveJudgement(j: Parameters<Store["saveJudgement"]>[0]): Promise<void> {
    return this.enqueue(() => this.store.saveJudgement(j));
  }

  /** A judge-cache entry, not waited for: losing one costs only a repeated judge call. */
  setCachedReply(key: string, reply: string): void {
    this.enqueue(() => this.store.setCachedReply(key, reply)).catch(() => {});
  }

  /** Writes waiting for the next commit. */
  get pending(): number {
    return this.queue.length;
  }

  /** Commits everything queued now (the runner calls it before it ends). */
  flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let refused: (StoreError | undefined)[];
    try {
      refused = this.store.transaction(() =>
        batch.map((w) => {
          // A StoreError refuses one write before it touches the database (a verdict whose answer
          // changed): that write alone fails. Any other error aborts the transaction, below.
          try {
            w.run();
            return undefined;
          } catch (err) {
            if (err instanceof StoreError) return err;
            throw err;
          }
        }),
      );
    } catch {
      // SQLite failed inside the batch and rolled it back: each write on its own, so only the
      // failing ones fail, with their own error.
      for (const w of batch) {
        try {
          this.store.transaction(w.run);
          w.resolve();
        } catch (err) {
          w.reject(err);
        }
      }
      return;
    }
    batch.forEach((w, i) => {
      const err = refused[i];
      if (err === undefined) w.resolve();
      else w.reject(err);
    });
  }

  private enqueue(run: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      this.scheduled ??= setImmediate(() => {
        this.scheduled = undefined;
        this.flush();
      });
    });
  }
}
