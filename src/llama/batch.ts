// A reusable llama_batch for one sequence (seq 0), allocated by llama.cpp and filled through typed-array views
// over its native arrays. The views die with the batch: `free()` drops them before releasing the memory.
import koffi from "koffi";
import type { LlamaBatchValue, LlamaFunctions, RawPtr } from "./ffi.js";

function view(ptr: RawPtr | null, bytes: number, what: string): ArrayBuffer {
  if (ptr === null) throw new Error(`llama_batch_init returned no ${what} array`);
  return koffi.view(ptr, bytes);
}

export class TokenBatch {
  readonly capacity: number;
  private value: LlamaBatchValue | undefined;
  private token: Int32Array;
  private pos: Int32Array;
  private logits: Int8Array;

  constructor(
    private readonly fn: LlamaFunctions,
    capacity: number,
  ) {
    this.capacity = capacity;
    const b = fn.llama_batch_init(capacity, 0, 1);
    this.value = b;
    try {
      this.token = new Int32Array(view(b.token, capacity * 4, "token"));
      this.pos = new Int32Array(view(b.pos, capacity * 4, "pos"));
      this.logits = new Int8Array(view(b.logits, capacity, "logits"));
      new Int32Array(view(b.n_seq_id, capacity * 4, "n_seq_id")).fill(1);
      // seq_id is an array of per-token int32 arrays (n_seq_max = 1 each); every token belongs to sequence 0.
      if (b.seq_id === null) throw new Error("llama_batch_init returned no seq_id array");
      const seqIds = koffi.decode(b.seq_id, "void *", capacity) as RawPtr[];
      for (const p of seqIds) new Int32Array(view(p, 4, "seq_id[i]"))[0] = 0;
    } catch (err) {
      fn.llama_batch_free(b);
      this.value = undefined;
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
    if (!this.value) throw new Error("batch used after free");
    if (count < 1 || count > this.capacity)
      throw new RangeError(`batch of ${count} tokens (capacity ${this.capacity})`);
    for (let i = 0; i < count; i++) {
      const p = from + i;
      this.token[i] = tokens[p]!;
      this.pos[i] = p;
      this.logits[i] = output(p) ? 1 : 0;
    }
    return { ...this.value, n_tokens: count };
  }

  free(): void {
    if (!this.value) return;
    const b = this.value;
    this.value = undefined;
    this.token = new Int32Array(0);
    this.pos = new Int32Array(0);
    this.logits = new Int8Array(0);
    this.fn.llama_batch_free(b);
  }
}
