// The graph eval callback (`llama_context_params.cb_eval`): how we read and rewrite the residual stream.
//
// ggml's scheduler calls it twice per node: with ask = true ("do you want this node's data?") and, for nodes
// we said yes to, with ask = false once the node is computed and before any later node runs. We want only
// the per-layer outputs `l_out-<il>` (il = 0-based block index; llama.cpp names them after the control vector
// was added). In the data phase we copy the rows out (capture) and/or rescale them in place (norm-preserving
// steering): later nodes read the rewritten values, since the scheduler computes the graph in pieces split at
// the nodes we asked for.
//
// Rows: a layer tensor is [n_embd, rows]. Normally rows = the tokens of the current batch, but llama.cpp
// drops non-output rows before the last block (`inp_out_ids`), so there rows = the batch's output tokens.
// `beginBatch` tells us which, and we map rows to absolute positions either way.
//
// The callback runs on the thread that called llama_decode: always the JS main thread (our decodes are
// synchronous). It must never throw into C, so errors are stored and re-raised after the decode.
import koffi from "koffi";
import {
  EvalCallbackProto,
  GGML_MAX_DIMS,
  GGML_TYPE_F32,
  GgmlTensor,
  type LlamaFunctions,
  type RegisteredCallback,
  type TensorPtr,
} from "./ffi.js";

const OFF_TYPE = koffi.offsetof(GgmlTensor, "type");
const OFF_BUFFER = koffi.offsetof(GgmlTensor, "buffer");
const OFF_NE = koffi.offsetof(GgmlTensor, "ne");
const OFF_NB = koffi.offsetof(GgmlTensor, "nb");
const OFF_NAME = koffi.offsetof(GgmlTensor, "name");
// Decoded as plain numbers: koffi wraps every decoded pointer in an External that costs ~200 B of native
// memory which is never returned (koffi 2.14.1), and this runs for every layer of every decode.
const DIMS_I64 = koffi.array("int64_t", GGML_MAX_DIMS, "Array");
const DIMS_SIZE = koffi.array("size_t", GGML_MAX_DIMS, "Array");

export const LAYER_TENSOR_PREFIX = "l_out-";
// The first 4 name bytes as a little-endian uint32: most nodes are rejected on this number alone, because
// decoding every node's name as a JS string costs a little native memory each time (and time).
const PREFIX_WORD = Buffer.from(LAYER_TENSOR_PREFIX).readUInt32LE(0);

interface Capture {
  layers: Set<number>;
  /** Absolute positions wanted. */
  positions: Set<number>;
  rows: Map<number, Map<number, Float32Array>>;
}

interface BatchInfo {
  start: number;
  nTokens: number;
  /** Absolute positions flagged as outputs in this batch, ascending. */
  outputs: number[];
}

export class EvalHooks {
  readonly callback: RegisteredCallback;
  private capture: Capture | undefined;
  /** strength × direction per layer, for norm-preserving steering. */
  private steer: Map<number, Float32Array> | undefined;
  /** `l_out-<il>` → il for the layers some feature wants. */
  private wanted = new Map<string, number>();
  private batch: BatchInfo | undefined;
  private error: Error | undefined;

  constructor(
    private readonly fn: LlamaFunctions,
    private readonly nEmbd: number,
  ) {
    this.callback = koffi.register(this, this.onEval, koffi.pointer(EvalCallbackProto));
  }

  get active(): boolean {
    return this.wanted.size > 0;
  }

  setSteer(applied: Map<number, Float32Array> | undefined): void {
    this.steer = applied && applied.size > 0 ? applied : undefined;
    this.refreshWanted();
  }

  beginCapture(layers: Iterable<number>, positions: Iterable<number>): void {
    const ls = new Set(layers);
    this.capture = {
      layers: ls,
      positions: new Set(positions),
      rows: new Map([...ls].map((l) => [l, new Map()])),
    };
    this.refreshWanted();
  }

  /** Ends the capture and returns layer → position → row. */
  endCapture(): Map<number, Map<number, Float32Array>> {
    const rows = this.capture?.rows ?? new Map();
    this.capture = undefined;
    this.refreshWanted();
    return rows;
  }

  /** Must be called before each llama_decode while active. */
  beginBatch(start: number, nTokens: number, outputs: number[]): void {
    this.batch = { start, nTokens, outputs };
  }

  /** The first error raised inside the callback since the last call, if any. */
  takeError(): Error | undefined {
    const e = this.error;
    this.error = undefined;
    return e;
  }

  dispose(): void {
    this.capture = undefined;
    this.steer = undefined;
    this.wanted.clear();
    koffi.unregister(this.callback);
  }

  private refreshWanted(): void {
    this.wanted.clear();
    for (const il of this.capture?.layers ?? []) this.wanted.set(`${LAYER_TENSOR_PREFIX}${il}`, il);
    for (const il of this.steer?.keys() ?? []) this.wanted.set(`${LAYER_TENSOR_PREFIX}${il}`, il);
  }

  private onEval(t: TensorPtr, ask: boolean): boolean {
    // Fast path: with nothing wanted, every node is declined without decoding its name.
    if (this.wanted.size === 0) return !ask;
    try {
      const il =
        (koffi.decode(t, OFF_NAME, "uint32_t") as number) === PREFIX_WORD
          ? this.wanted.get(koffi.decode(t, OFF_NAME, "char", -1) as string)
          : undefined;
      if (ask) return il !== undefined;
      if (il !== undefined) this.onLayer(t, il);
    } catch (err) {
      this.error ??= err instanceof Error ? err : new Error(String(err));
      if (ask) return false;
    }
    // Returning false in the data phase would cancel the rest of the graph.
    return true;
  }

  private onLayer(t: TensorPtr, il: number): void {
    const batch = this.batch;
    if (!batch) throw new Error("eval callback fired outside a batch");
    const type = koffi.decode(t, OFF_TYPE, "int") as number;
    const ne = (koffi.decode(t, OFF_NE, DIMS_I64) as (number | bigint)[]).map(Number);
    const nb = (koffi.decode(t, OFF_NB, DIMS_SIZE) as (number | bigint)[]).map(Number);
    const buffer = Number(koffi.decode(t, OFF_BUFFER, "uintptr_t") as number | bigint);
    const name = `${LAYER_TENSOR_PREFIX}${il}`;
    if (type !== GGML_TYPE_F32) throw new Error(`${name} has ggml type ${type}, expected F32`);
    if (ne[0] !== this.nEmbd || ne[2] !== 1 || ne[3] !== 1) {
      throw new Error(`${name} has shape [${ne.join(", ")}], expected [${this.nEmbd}, rows, 1, 1]`);
    }
    if (nb[0] !== 4 || nb[1] !== 4 * this.nEmbd)
      throw new Error(`${name} is not contiguous (nb ${nb.join(", ")})`);
    if (buffer === 0) throw new Error(`${name} has no backend buffer`);
    const rows = ne[1]!;
    if (rows === 0) return;
    const data = new Float32Array(rows * this.nEmbd);
    // ggml_backend_tensor_get works whatever backend holds the tensor (a plain memcpy on the CPU).
    this.fn.ggml_backend_tensor_get(t, data, 0, data.byteLength);

    const v = this.steer?.get(il);
    if (v) {
      rescaleToPreSteerNorm(data, v, this.nEmbd);
      this.fn.ggml_backend_tensor_set(t, data, 0, data.byteLength);
    }

    const capture = this.capture;
    if (!capture?.layers.has(il)) return;
    let positionOf: (r: number) => number;
    if (rows === batch.nTokens) positionOf = (r) => batch.start + r;
    else if (rows === batch.outputs.length) positionOf = (r) => batch.outputs[r]!;
    else {
      throw new Error(
        `${name} has ${rows} rows but the batch has ${batch.nTokens} tokens and ${batch.outputs.length} outputs`,
      );
    }
    const store = capture.rows.get(il)!;
    for (let r = 0; r < rows; r++) {
      const pos = positionOf(r);
      if (capture.positions.has(pos)) store.set(pos, data.slice(r * this.nEmbd, (r + 1) * this.nEmbd));
    }
  }
}

/**
 * Each row h' = h + v (v = strength × direction, already added by llama.cpp) is scaled back to ‖h‖ = ‖h' − v‖,
 * keeping the steered direction but the original magnitude.
 */
export function rescaleToPreSteerNorm(data: Float32Array, v: Float32Array, nEmbd: number): void {
  for (let off = 0; off < data.length; off += nEmbd) {
    let steered = 0;
    let original = 0;
    for (let i = 0; i < nEmbd; i++) {
      const x = data[off + i]!;
      const h = x - v[i]!;
      steered += x * x;
      original += h * h;
    }
    if (steered === 0) continue;
    const scale = Math.sqrt(original / steered);
    for (let i = 0; i < nEmbd; i++) data[off + i] = data[off + i]! * scale;
  }
}
