// A reusable llama_batch, allocated by llama.cpp, that carries tokens of several sequences at once. Its
// arrays are filled with koffi.encode from JS-side buffers rather than through koffi.view: every koffi.view
// leaks a little native memory (~200 B each, measured with koffi 2.14.1), which adds up over thousands of
// decodes. Every token belongs to exactly one sequence; a slot's sequence id is only rewritten when it
// changes, so steady decoding of the same sequences costs no per-token FFI call.
import koffi from "koffi";
import type { LlamaBatchValue, LlamaFunctions, RawPtr } from "./ffi.js";

export class TokenBatch {
  readonly capacity: number;
  /** Tokens staged since the last `reset`. */
  length = 0;
  private value: LlamaBatchValue | undefined;
  readonly token: Int32Array;
  readonly pos: Int32Array;
  readonly seq: Int32Array;
  readonly logits: Int8Array;
  private readonly seqPtrs: RawPtr[];
  /** The sequence id last written to each slot's native seq_id cell (-1: unknown). */
  private readonly written: Int32Array;

  constructor(
    private readonly fn: LlamaFunctions,
    capacity: number,
  ) {
    this.capacity = capacity;
    this.token = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
    this.seq = new Int32Array(capacity);
    this.logits = new Int8Array(capacity);
    this.written = new Int32Array(capacity).fill(-1);
    const b = fn.llama_batch_init(capacity, 0, 1);
    this.value = b;
    try {
      if (!b.token || !b.pos || !b.logits || !b.n_seq_id || !b.seq_id) {
        throw new Error("llama_batch_init returned a batch with missing arrays");
      }
      koffi.encode(b.n_seq_id, "int32_t", new Int32Array(capacity).fill(1), capacity);
      const seqIds = koffi.decode(b.seq_id, "void *", capacity) as (RawPtr | null)[];
      if (seqIds.some((p) => p === null)) throw new Error("llama_batch_init returned a NULL seq_id entry");
      this.seqPtrs = seqIds as RawPtr[];
    } catch (err) {
      this.free();
      throw err;
    }
  }

  reset(): void {
    this.length = 0;
  }

  get room(): number {
    return this.capacity - this.length;
  }

  /** Stages one token of sequence `seq` at position `pos`; `output` asks for its logits. */
  add(token: number, pos: number, seq: number, output: boolean): void {
    const i = this.length;
    if (i >= this.capacity) throw new RangeError(`batch is full (capacity ${this.capacity})`);
    this.token[i] = token;
    this.pos[i] = pos;
    this.seq[i] = seq;
    this.logits[i] = output ? 1 : 0;
    this.length = i + 1;
  }

  /**
   * Stages `tokens[from, from + count)` of sequence `seq` at positions `from…` (position = index in `tokens`);
   * `output(pos)` says which positions need logits.
   */
  addRange(
    tokens: readonly number[],
    from: number,
    count: number,
    seq: number,
    output: (pos: number) => boolean,
  ): void {
    for (let p = from; p < from + count; p++) this.add(tokens[p]!, p, seq, output(p));
  }

  /** Writes the staged tokens into the native batch and returns the struct to pass to llama_decode. */
  commit(): LlamaBatchValue {
    const b = this.value;
    if (!b) throw new Error("batch used after free");
    const count = this.length;
    if (count < 1) throw new RangeError("empty batch");
    koffi.encode(b.token, "int32_t", this.token, count);
    koffi.encode(b.pos, "int32_t", this.pos, count);
    koffi.encode(b.logits, "int8_t", this.logits, count);
    for (let i = 0; i < count; i++) {
      const s = this.seq[i]!;
      if (this.written[i] !== s) {
        koffi.encode(this.seqPtrs[i]!, "int32_t", s);
        this.written[i] = s;
      }
    }
    return { ...b, n_tokens: count };
  }

  free(): void {
    if (!this.value) return;
    const b = this.value;
    this.value = undefined;
    this.fn.llama_batch_free(b);
  }
}
