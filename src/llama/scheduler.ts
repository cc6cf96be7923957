// Continuous batching over one llama_context: up to `parallel` sequences, each in its own KV slot (seq id),
// decode together. Every step packs one token of each generating sequence and chunks of the prompts still
// being read into one llama_batch (one graph evaluation: n_batch = n_ubatch and a unified KV cache, so
// llama.cpp never splits it), then lets each sequence read its logits. A sequence that finishes frees its
// slot and its KV cells at once (llama_memory_seq_rm) and the next queued one starts in the same step.
//
// Work that needs the whole context (setting a global control vector, dispose) is queued as an exclusive job:
// it waits for the running sequences to finish, and nothing queued after it starts before it is done, so the
// order of calls is kept as a FIFO lock would keep it.
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import koffi from "koffi";
import type { TokenBatch } from "./batch.js";
import type { ContextPtr, LlamaFunctions, MemoryPtr, RawPtr } from "./ffi.js";
import type { EvalHooks } from "./hooks.js";
import { clearLog, recentProblems } from "./log.js";
import type { PreparedSteering } from "./steer-ops.js";

/** One output row of the last decode that belongs to a sequence. */
export interface DecodeOutput {
  /** Position of the token whose logits these are. */
  pos: number;
  /** Index of the token in the batch (what llama_sampler_sample takes). */
  index: number;
  /** Row in llama_get_logits (outputs in batch order). */
  row: number;
}

/** What a sequence may touch while it runs (synchronously, between decodes). */
export interface SequenceContext {
  readonly fn: LlamaFunctions;
  readonly ctx: ContextPtr;
  readonly mem: MemoryPtr;
  readonly slot: number;
  /** A copy of logits row `row` of the last decode. */
  logitsRow(row: number): Float32Array;
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error("generation aborted");
  e.name = "AbortError";
  return e;
}

/**
 * A unit of work that owns one KV slot while it runs. `tokens[0, fed)` are in the slot's KV cells at positions
 * 0…fed − 1; the scheduler feeds `tokens[fed…]`, asking for logits where `wantsOutput(pos)`, and calls
 * `afterDecode` with the outputs; the sequence may then append tokens (a sampled one) or rewind `fed` (after
 * removing cells itself), or set `done`.
 */
export abstract class Sequence<T> {
  tokens: number[] = [];
  fed = 0;
  done = false;
  readonly promise: Promise<T>;
  private settle!: { resolve: (v: T) => void; reject: (e: unknown) => void };

  constructor(
    readonly signal: AbortSignal | undefined,
    readonly steering: PreparedSteering | undefined,
    readonly capture: { layers: number[]; positions: number[] } | undefined,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  /** Called when the sequence gets its (empty) slot. */
  start(_c: SequenceContext): void {}
  abstract wantsOutput(pos: number): boolean;
  abstract afterDecode(outputs: DecodeOutput[], c: SequenceContext): void;
  /** The result once `done`, given what the hooks captured for this sequence. */
  abstract result(captured: Map<number, Map<number, Float32Array>>): T;
  /** Frees what the sequence holds (samplers); called exactly once, whatever the outcome. */
  cleanup(): void {}

  resolve(v: T): void {
    this.settle.resolve(v);
  }
  reject(e: unknown): void {
    this.settle.reject(e);
  }
}

type Job =
  | { kind: "sequence"; seq: Sequence<unknown> }
  | { kind: "exclusive"; run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void };

export class Scheduler {
  private readonly queue: Job[] = [];
  private readonly active: (Sequence<unknown> | undefined)[];
  private running = false;
  private closedWith: Error | undefined;
  private logitsType: ReturnType<typeof koffi.array> | undefined;
  /** Decode steps and tokens decoded so far (for tests and benchmarks). */
  readonly stats = { steps: 0, tokens: 0, maxSequencesInStep: 0 };

  constructor(
    private readonly fn: LlamaFunctions,
    private readonly ctx: () => ContextPtr,
    private readonly mem: MemoryPtr,
    private readonly batch: TokenBatch,
    private readonly hooks: EvalHooks | undefined,
    private readonly nVocab: number,
    readonly parallel: number,
    /** A reason to refuse a sequence when its turn comes (state may have changed since it was queued). */
    private readonly refuse: (seq: Sequence<unknown>) => Error | undefined = () => undefined,
  ) {
    this.active = new Array(parallel).fill(undefined);
  }

  /** Sequences running now. */
  get activeCount(): number {
    return this.active.filter((s) => s !== undefined).length;
  }

  /** Sequences waiting for a slot. */
  get queued(): number {
    return this.queue.filter((j) => j.kind === "sequence").length;
  }

  submit<T>(seq: Sequence<T>): Promise<T> {
    if (this.closedWith) {
      seq.cleanup();
      return Promise.reject(this.closedWith);
    }
    this.queue.push({ kind: "sequence", seq: seq as Sequence<unknown> });
    this.kick();
    return seq.promise;
  }

  /**
   * Refuses all later work with `error` (after dispose: nothing may touch the freed context). Called from an
   * exclusive job, so no sequence is active; queued jobs are rejected.
   */
  close(error: Error): void {
    this.closedWith = error;
    for (const j of this.queue.splice(0)) {
      if (j.kind === "sequence") {
        j.seq.cleanup();
        j.seq.reject(error);
      } else j.reject(error);
    }
  }

  /** Runs `run` with no sequence active, in submission order. */
  exclusive<T>(run: () => T | Promise<T>): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ kind: "exclusive", run, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    // Start on the next microtask, so that calls made in the same tick share the first step.
    queueMicrotask(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        await this.admit();
        if (this.activeCount === 0) {
          if (this.queue.length === 0) {
            this.running = false;
            return;
          }
          continue;
        }
        for (let slot = 0; slot < this.parallel; slot++) {
          const s = this.active[slot];
          if (s?.signal?.aborted) this.release(slot, abortError(s.signal));
        }
        // A waiting request whose caller gave up leaves the queue at once, not when its turn comes.
        for (let i = this.queue.length - 1; i >= 0; i--) {
          const j = this.queue[i]!;
          if (j.kind === "sequence" && j.seq.signal?.aborted) {
            this.queue.splice(i, 1);
            j.seq.cleanup();
            j.seq.reject(abortError(j.seq.signal));
          }
        }
        if (this.activeCount > 0) this.step();
        // Let timers and I/O run between steps (each decode blocks the thread).
        await yieldToEventLoop();
      }
    } catch (err) {
      // Only a bug gets here: fail everything rather than leave promises hanging.
      for (let slot = 0; slot < this.parallel; slot++) if (this.active[slot]) this.release(slot, err);
      for (const j of this.queue.splice(0)) (j.kind === "sequence" ? j.seq : j).reject(err);
      this.running = false;
    }
  }

  private async admit(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.kind === "exclusive") {
        if (this.activeCount > 0) return;
        this.queue.shift();
        try {
          head.resolve(await head.run());
        } catch (err) {
          head.reject(err);
        }
        continue;
      }
      if (head.seq.signal?.aborted) {
        this.queue.shift();
        head.seq.cleanup();
        head.seq.reject(abortError(head.seq.signal));
        continue;
      }
      const slot = this.active.indexOf(undefined);
      if (slot === -1) return;
      this.queue.shift();
      const seq = head.seq;
      this.active[slot] = seq;
      try {
        const refused = this.refuse(seq);
        if (refused) throw refused;
        if (seq.steering || seq.capture) {
          if (!this.hooks) throw new Error("per-sequence steering and capture need the engine's hooks");
          this.hooks.setSlot(slot, { steering: seq.steering, capture: seq.capture });
        }
        seq.start(this.context(slot));
        if (seq.done) this.release(slot);
      } catch (err) {
        this.release(slot, err);
      }
    }
  }

  private context(slot: number): SequenceContext {
    return {
      fn: this.fn,
      ctx: this.ctx(),
      mem: this.mem,
      slot,
      logitsRow: (row) => this.logitsRow(row),
    };
  }

  /** Frees a slot: its KV cells, its hooks, and settles its promise. */
  private release(slot: number, error?: unknown): void {
    const seq = this.active[slot];
    if (!seq) return;
    this.active[slot] = undefined;
    this.fn.llama_memory_seq_rm(this.mem, slot, -1, -1);
    // With no sequence left, reset the cache's cell placement too: the next batch then lays out its cells
    // exactly as the same batch would in a fresh context (attention sums in the same order, bit for bit).
    if (this.activeCount === 0) this.fn.llama_memory_clear(this.mem, false);
    const captured = this.hooks?.clearSlot(slot) ?? new Map();
    try {
      if (error !== undefined) seq.reject(error);
      else seq.resolve(seq.result(captured));
    } catch (err) {
      seq.reject(err);
    } finally {
      seq.cleanup();
    }
  }

  private step(): void {
    const b = this.batch;
    b.reset();
    const parts: { slot: number; seq: Sequence<unknown>; from: number; count: number }[] = [];
    const n = this.parallel;
    // Generation steps first (one token each), then prompt chunks in slot order with the room left. The order
    // is fixed (no rotation): the same requests then give the same batch layout and the same bits.
    for (const pass of [0, 1]) {
      for (let slot = 0; slot < n && b.room > 0; slot++) {
        const seq = this.active[slot];
        if (!seq) continue;
        const pending = seq.tokens.length - seq.fed;
        if (pending <= 0 || (pass === 0) !== (pending === 1)) continue;
        const count = Math.min(pending, b.room);
        b.addRange(seq.tokens, seq.fed, count, slot, (p) => seq.wantsOutput(p));
        parts.push({ slot, seq, from: seq.fed, count });
      }
    }
    for (let slot = 0; slot < n; slot++) {
      const s = this.active[slot];
      if (s && s.tokens.length === s.fed && !parts.some((p) => p.slot === slot)) {
        this.release(slot, new Error("internal: a sequence has nothing to decode and is not done"));
      }
    }
    if (parts.length === 0) return;
    // Parts are staged in slot-visiting order; the hooks need each sequence contiguous, which they are.
    this.hooks?.beginBatch(b);
    const value = b.commit();
    clearLog();
    const rc = this.fn.llama_decode(this.ctx(), value);
    const hookError = this.hooks?.takeError();
    this.stats.steps++;
    this.stats.tokens += b.length;
    this.stats.maxSequencesInStep = Math.max(this.stats.maxSequencesInStep, parts.length);
    if (rc !== 0 || hookError) {
      const why =
        rc === 1
          ? "no room in the KV cache"
          : rc === 2
            ? "aborted"
            : rc === -1
              ? "invalid batch"
              : "fatal error";
      const err =
        rc !== 0
          ? new Error(`llama_decode failed (${rc}: ${why}): ${recentProblems()}`)
          : new Error(`eval callback failed: ${hookError!.message}`);
      for (const p of parts) this.release(p.slot, err);
      return;
    }
    const uncovered = this.hooks?.takeUncovered();
    // Output rows are numbered in batch order across all sequences.
    let row = 0;
    let i = 0;
    for (const p of parts) {
      const outputs: DecodeOutput[] = [];
      for (let k = 0; k < p.count; k++, i++) {
        if (b.logits[i]) outputs.push({ pos: p.from + k, index: i, row: row++ });
      }
      const failed = uncovered?.get(p.slot);
      if (failed) {
        // Its neighbours in the batch are unaffected (their rows were not touched).
        this.release(p.slot, failed);
        continue;
      }
      p.seq.fed = p.from + p.count;
      try {
        p.seq.afterDecode(outputs, this.context(p.slot));
        if (p.seq.done) this.release(p.slot);
      } catch (err) {
        this.release(p.slot, err);
      }
    }
  }

  private logitsRow(row: number): Float32Array {
    const logits: RawPtr | null = this.fn.llama_get_logits(this.ctx());
    if (logits === null) throw new Error("llama_get_logits returned NULL");
    this.logitsType ??= koffi.array("float", this.nVocab, "Typed");
    // Decoded, not viewed: koffi.view leaks a little native memory per call (see batch.ts).
    return koffi.decode(logits, row * this.nVocab * 4, this.logitsType) as Float32Array;
  }
}
