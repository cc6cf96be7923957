// Tokenization and detokenization through the model's vocabulary (llama_tokenize & co. are thread-safe and
// do not touch the context). The vocab pointer belongs to the model: callers must not use this after freeing it.
import type { LlamaFunctions, VocabPtr } from "./ffi.js";

const INT32_MIN = -2147483648;

export interface TokenizeOptions {
  /** Add BOS/EOS as the model's metadata asks (default true). */
  addSpecial?: boolean;
  /** Turn special-token text such as `<|im_end|>` into the special token (default false). */
  parseSpecial?: boolean;
}

export class Vocab {
  private readonly pieces = new Map<number, Uint8Array>();

  constructor(
    private readonly fn: LlamaFunctions,
    private readonly ptr: VocabPtr,
    readonly size: number,
  ) {}

  tokenize(text: string, options: TokenizeOptions = {}): number[] {
    const bytes = Buffer.from(text, "utf8");
    const addSpecial = options.addSpecial ?? true;
    const parseSpecial = options.parseSpecial ?? false;
    let out = new Int32Array(bytes.length + 8);
    let n = this.fn.llama_tokenize(this.ptr, bytes, bytes.length, out, out.length, addSpecial, parseSpecial);
    if (n === INT32_MIN) throw new RangeError(`text of ${bytes.length} bytes is too long to tokenize`);
    if (n < 0) {
      out = new Int32Array(-n);
      n = this.fn.llama_tokenize(this.ptr, bytes, bytes.length, out, out.length, addSpecial, parseSpecial);
      if (n < 0) throw new Error(`llama_tokenize failed (${n})`);
    }
    return Array.from(out.subarray(0, n));
  }

  /** The UTF-8 bytes of one token as generated text (control tokens render as nothing). */
  piece(token: number): Uint8Array {
    const cached = this.pieces.get(token);
    if (cached) return cached;
    let buf = new Uint8Array(32);
    let n = this.fn.llama_token_to_piece(this.ptr, token, buf, buf.length, 0, false);
    if (n < 0) {
      buf = new Uint8Array(-n);
      n = this.fn.llama_token_to_piece(this.ptr, token, buf, buf.length, 0, false);
      if (n < 0) throw new Error(`llama_token_to_piece failed for token ${token}`);
    }
    const piece = buf.slice(0, n);
    this.pieces.set(token, piece);
    return piece;
  }

  detokenize(
    tokens: readonly number[],
    options: { removeSpecial?: boolean; unparseSpecial?: boolean } = {},
  ): string {
    for (const t of tokens) {
      if (!Number.isInteger(t) || t < 0 || t >= this.size) {
        throw new RangeError(`token ${t} is outside the vocabulary (0..${this.size - 1})`);
      }
    }
    const ids = Int32Array.from(tokens);
    const removeSpecial = options.removeSpecial ?? false;
    const unparseSpecial = options.unparseSpecial ?? false;
    let buf = new Uint8Array(ids.length * 16 + 16);
    let n = this.fn.llama_detokenize(
      this.ptr,
      ids,
      ids.length,
      buf,
      buf.length,
      removeSpecial,
      unparseSpecial,
    );
    if (n < 0) {
      buf = new Uint8Array(-n);
      n = this.fn.llama_detokenize(this.ptr, ids, ids.length, buf, buf.length, removeSpecial, unparseSpecial);
      if (n < 0) throw new Error(`llama_detokenize failed (${n})`);
    }
    return Buffer.from(buf.buffer, buf.byteOffset, n).toString("utf8");
  }

  isEog(token: number): boolean {
    return this.fn.llama_vocab_is_eog(this.ptr, token);
  }
}
