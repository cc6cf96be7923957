// A reusable llama_batch for one sequence (seq 0), allocated by llama.cpp. Its arrays are filled with
// koffi.encode from JS-side buffers rather than through koffi.view: every koffi.view leaks a little native
// memory (~200 B each, measured with koffi 2.14.1), which adds up over thousands of decodes.
import koffi from "koffi";
import type { LlamaBatchValue, LlamaFunctions, RawPtr } from "./ffi.js";

export class TokenBatch {
  readonly capacity: number;
  private value: LlamaBatchValue | undefined;
  private readonly token: Int32Array;
  private readonly pos: Int32Array;
  private readonly logits: Int8Array;

  constructor(
    private readonly fn: LlamaFunctions,
    capacity: number,
  ) {
    this.capacity = capacity;
    this.token = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
    this.logits = new Int8Array(capacity);
    const b = fn.llama_batch_init(capacity, 0, 1);
    this.value = b;
    try {
      if (!b.token || !b.pos || !b.logits || !b.n_seq_id || !b.seq_id) {
        throw new Error("llama_batch_init returned a batch with missing arrays");
      }
      // Every token belongs to exactly one sequence, sequence 0; these never change.
      koffi.encode(b.n_seq_id, "int32_t", new Int32Array(capacity).fill(1), capacity);
      const seqIds = koffi.decode(b.seq_id, "void *", capacity) as (RawPtr | null)[];
      for (const p of seqIds) {
        if (p === null) throw new Error("llama_batch_init returned a NULL seq_id entry");
        koffi.encode(p, "int32_t", 0);
      }
    } catch (err) {
      this.free();
      throw err;
    }
  }

  /**
   * Fills the batch with `tokens[from, from + count)` at positions `from…` (position = index in `tokens`) and
   * returns the struct to pass to llama_decode. `output(pos)` says which positions need logits.
   */
  fill(
    tokens: readonly number[],
    from: number,
    count: number,
    output: (pos: number) => boolean,
  ): LlamaBatchValue {
    const b = this.value;
    if (!b) throw new Error("batch used after free");
    if (count < 1 || count > this.capacity)
      throw new RangeError(`batch of ${count} tokens (capacity ${this.capacity})`);
    for (let i = 0; i < count; i++) {
      const p = from + i;
      this.token[i] = tokens[p]!;
      this.pos[i] = p;
      this.logits[i] = output(p) ? 1 : 0;
    }
    koffi.encode(b.token, "int32_t", this.token, count);
    koffi.encode(b.pos, "int32_t", this.pos, count);
    koffi.encode(b.logits, "int8_t", this.logits, count);
    return { ...b, n_tokens: count };
  }

  free(): void {
    if (!this.value) return;
    const b = this.value;
    this.value = undefined;
    this.fn.llama_batch_free(b);
  }
}
