// The graph eval callback (`llama_context_params.cb_eval`): how we read and rewrite the residual stream.
//
// ggml's scheduler calls it twice per node: with ask = true ("do you want this node's data?") and, for nodes
// we said yes to, with ask = false once the node is computed and before any later node runs. We want only a
// few named nodes (il = 0-based block index), as llama.cpp v0.5.0's Llama graph names them:
// - `l_out-<il>`: the block's output (after the control vector was added): capture, add, rotate;
// - `attn_out-<il>` and `ffn_out-<il>`: what the block writes into the residual stream (the attention and
//   FFN outputs, before their residual adds), and `embd`: the token embedding rows (block 0's input).
//   Directional ablation works on these, the same tensors `vectors bake --mode ablate` edits the weights of.
//   (With a global control vector the residual sum is also named `ffn_out-<il>`; per-sequence steering is
//   refused beside a global vector, so an ablation never meets that name twice.)
// In the data phase we copy the rows out (capture) and/or rewrite them in place: later nodes read the
// rewritten values, since the scheduler computes the graph in pieces split at the nodes we asked for (a node
// we ask for always ends a piece, so it is neither computed in place of a later node nor fused with one).
//
// Rows: a layer tensor is [n_embd, rows]. Normally rows = the tokens of the current batch, but llama.cpp
// drops non-output rows in the last block (`inp_out_ids`: after `attn_out`, before `ffn_inp`), so from there
// rows = the batch's output tokens.
// A batch holds several sequences, each a contiguous run of tokens (the engine stages them so); `beginBatch`
// gets the batch's sequence ids and positions, and each sequence's steering and capture touch only its rows.
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
import { type PreparedSteering, steerRows } from "./steer-ops.js";

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
export const ATTN_OUT_PREFIX = "attn_out-";
export const FFN_OUT_PREFIX = "ffn_out-";
export const EMBD_TENSOR = "embd";
// The first 4 name bytes as a little-endian uint32: most nodes are rejected on this number alone, because
// decoding every node's name as a JS string costs a little native memory each time (and time).
// The writers' names share their first 4 bytes with many other nodes (attn_norm, ffn_up, ...), so they are
// also checked on bytes 4..7 before a string is decoded: "_out" / "out-", and the NUL that ends "embd".
const name8 = (name: string) => {
  const b = Buffer.alloc(8);
  b.write(name);
  return [b.readUInt32LE(0), b.readUInt32LE(4)] as const;
};
/** First word → the second word it must have (undefined: any; `l_out-` is followed by the layer number). */
const SIGNATURES = new Map<number, number | undefined>([
  [name8(LAYER_TENSOR_PREFIX)[0], undefined],
  name8("attn_out"),
  name8("ffn_out-"),
]);
const EMBD_WORD = name8(EMBD_TENSOR)[0];

/** A node the callback acts on: a block output (`l_out`), a residual writer of block il, or the embedding. */
interface HookPoint {
  kind: "l_out" | "writer" | "embd";
  il: number;
}

interface Capture {
  layers: Set<number>;
  /** Absolute positions wanted. */
  positions: Set<number>;
  rows: Map<number, Map<number, Float32Array>>;
}

/** What one sequence (a KV slot) asks of the callback. */
interface SlotHooks {
  steering: PreparedSteering | undefined;
  capture: Capture | undefined;
  /** Ablation only: the graph was seen to have every writer node this steering needs (checked once). */
  writersSeen?: boolean;
}

/** A staged batch as the engine built it: per token its sequence (slot), position and output flag. */
export interface BatchRows {
  length: number;
  seq: Int32Array;
  pos: Int32Array;
  logits: Int8Array;
}

interface SlotRange {
  slot: number;
  /** Token rows [t0, t1) and output rows [o0, o1) of the slot in this batch. */
  t0: number;
  t1: number;
  o0: number;
  o1: number;
}

export class EvalHooks {
  readonly callback: RegisteredCallback;
  /** strength × direction per layer, for norm-preserving steering of a global control vector (all rows). */
  private steer: Map<number, Float32Array> | undefined;
  private readonly slots = new Map<number, SlotHooks>();
  /** Node name → what it is, for the nodes some feature wants. */
  private wanted = new Map<string, HookPoint>();
  private batch: BatchRows | undefined;
  private ranges: SlotRange[] = [];
  private outputs: number[] = [];
  private error: Error | undefined;
  /** Wanted node names the graph asked about during this decode: ablation checks its writers were there. */
  private readonly seen = new Set<string>();

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

  /** Per-sequence steering and/or capture for KV slot `slot` (until `clearSlot`). */
  setSlot(
    slot: number,
    opts: {
      steering?: PreparedSteering;
      capture?: { layers: Iterable<number>; positions: Iterable<number> };
    },
  ): void {
    const c = opts.capture;
    const layers = c ? new Set(c.layers) : undefined;
    this.slots.set(slot, {
      steering: opts.steering && opts.steering.layers.size > 0 ? opts.steering : undefined,
      capture:
        c && layers
          ? { layers, positions: new Set(c.positions), rows: new Map([...layers].map((l) => [l, new Map()])) }
          : undefined,
    });
    this.refreshWanted();
  }

  /** Forgets slot `slot` and returns what it captured (layer → position → row). */
  clearSlot(slot: number): Map<number, Map<number, Float32Array>> {
    const rows = this.slots.get(slot)?.capture?.rows ?? new Map();
    if (this.slots.delete(slot)) this.refreshWanted();
    return rows;
  }

  /** Must be called before each llama_decode (cheap when nothing is wanted). */
  beginBatch(rows: BatchRows): void {
    this.batch = rows;
    this.ranges = [];
    this.outputs = [];
    this.seen.clear();
    if (!this.active) return;
    let o = 0;
    let cur: SlotRange | undefined;
    for (let i = 0; i < rows.length; i++) {
      const slot = rows.seq[i]!;
      if (!cur || cur.slot !== slot) {
        if (this.ranges.some((r) => r.slot === slot))
          throw new Error(`sequence ${slot} is not contiguous in the batch`);
        cur = { slot, t0: i, t1: i, o0: o, o1: o };
        this.ranges.push(cur);
      }
      cur.t1 = i + 1;
      if (rows.logits[i]) {
        this.outputs.push(i);
        o++;
        cur.o1 = o;
      }
    }
  }

  /** The first error raised inside the callback since the last call, if any. */
  takeError(): Error | undefined {
    const e = this.error;
    this.error = undefined;
    return e;
  }

  /**
   * Sequences of the last decode whose ablation met a graph without one of its writer nodes, each with its
   * error. llama.cpp names `attn_out-<il>`, `ffn_out-<il>` and `embd` in some architectures' graphs only
   * (v0.5.0: llama and mistral3; not qwen2/3, gemma or MoE FFNs); elsewhere the ablation would silently skip
   * those writers, so the sequence fails by name instead.
   */
  takeUncovered(): Map<number, Error> {
    const out = new Map<number, Error>();
    if (!this.active) return out;
    for (const range of this.ranges) {
      const hooks = this.slots.get(range.slot);
      const steering = hooks?.steering;
      if (steering?.mode !== "ablate" || hooks!.writersSeen) continue;
      const missing: string[] = [];
      for (const il of steering.layers.keys()) {
        for (const name of [`${ATTN_OUT_PREFIX}${il}`, `${FFN_OUT_PREFIX}${il}`]) {
          if (!this.seen.has(name)) missing.push(name);
        }
      }
      if (steering.embedding && !this.seen.has(EMBD_TENSOR)) missing.push(EMBD_TENSOR);
      if (missing.length === 0) {
        // The graph's node names do not change between decodes of one model.
        hooks!.writersSeen = true;
        continue;
      }
      const shown =
        missing.slice(0, 4).join(", ") + (missing.length > 4 ? `, … (${missing.length} in all)` : "");
      out.set(
        range.slot,
        new Error(
          `activation mode ablate: this model's compute graph has no node ${shown}, so runtime ablation cannot ` +
            "reach every residual-stream writer (llama.cpp names attn_out-<il>, ffn_out-<il> and embd in the " +
            "llama and mistral3 graphs); apply the same edit to the weights instead: steerbench vectors bake --mode ablate",
        ),
      );
    }
    return out;
  }

  dispose(): void {
    this.slots.clear();
    this.steer = undefined;
    this.wanted.clear();
    koffi.unregister(this.callback);
  }

  private refreshWanted(): void {
    this.wanted.clear();
    const want = (il: number) => this.wanted.set(`${LAYER_TENSOR_PREFIX}${il}`, { kind: "l_out", il });
    for (const il of this.steer?.keys() ?? []) want(il);
    for (const s of this.slots.values()) {
      for (const il of s.capture?.layers ?? []) want(il);
      const steering = s.steering;
      if (!steering) continue;
      if (steering.mode !== "ablate") {
        for (const il of steering.layers.keys()) want(il);
        continue;
      }
      for (const il of steering.layers.keys()) {
        this.wanted.set(`${ATTN_OUT_PREFIX}${il}`, { kind: "writer", il });
        this.wanted.set(`${FFN_OUT_PREFIX}${il}`, { kind: "writer", il });
      }
      if (steering.embedding) this.wanted.set(EMBD_TENSOR, { kind: "embd", il: 0 });
    }
  }

  private onEval(t: TensorPtr, ask: boolean): boolean {
    // Fast path: with nothing wanted, every node is declined without decoding its name.
    if (this.wanted.size === 0) return !ask;
    try {
      const name = this.maybeWanted(t) ? (koffi.decode(t, OFF_NAME, "char", -1) as string) : undefined;
      const point = name === undefined ? undefined : this.wanted.get(name);
      if (ask) {
        if (point !== undefined) this.seen.add(name!);
        return point !== undefined;
      }
      if (point !== undefined) this.onNode(t, point, name!);
    } catch (err) {
      this.error ??= err instanceof Error ? err : new Error(String(err));
      if (ask) return false;
    }
    // Returning false in the data phase would cancel the rest of the graph.
    return true;
  }

  /** Whether the node's name may be one we want, from its first 8 bytes (read as numbers, no string). */
  private maybeWanted(t: TensorPtr): boolean {
    const w0 = koffi.decode(t, OFF_NAME, "uint32_t") as number;
    if (w0 === EMBD_WORD) return ((koffi.decode(t, OFF_NAME + 4, "uint32_t") as number) & 0xff) === 0;
    if (!SIGNATURES.has(w0)) return false;
    const w1 = SIGNATURES.get(w0);
    return w1 === undefined || (koffi.decode(t, OFF_NAME + 4, "uint32_t") as number) === w1;
  }

  private onNode(t: TensorPtr, point: HookPoint, name: string): void {
    const il = point.il;
    const batch = this.batch;
    if (!batch) throw new Error("eval callback fired outside a batch");
    const type = koffi.decode(t, OFF_TYPE, "int") as number;
    const ne = (koffi.decode(t, OFF_NE, DIMS_I64) as (number | bigint)[]).map(Number);
    const nb = (koffi.decode(t, OFF_NB, DIMS_SIZE) as (number | bigint)[]).map(Number);
    const buffer = Number(koffi.decode(t, OFF_BUFFER, "uintptr_t") as number | bigint);
    if (type !== GGML_TYPE_F32) throw new Error(`${name} has ggml type ${type}, expected F32`);
    if (ne[0] !== this.nEmbd || ne[2] !== 1 || ne[3] !== 1) {
      throw new Error(`${name} has shape [${ne.join(", ")}], expected [${this.nEmbd}, rows, 1, 1]`);
    }
    if (nb[0] !== 4 || nb[1] !== 4 * this.nEmbd)
      throw new Error(`${name} is not contiguous (nb ${nb.join(", ")})`);
    if (buffer === 0) throw new Error(`${name} has no backend buffer`);
    const rows = ne[1]!;
    if (rows === 0) return;
    const allRows = rows === batch.length;
    if (!allRows && rows !== this.outputs.length) {
      throw new Error(
        `${name} has ${rows} rows but the batch has ${batch.length} tokens and ${this.outputs.length} outputs`,
      );
    }
    const rowBytes = 4 * this.nEmbd;

    const v = point.kind === "l_out" ? this.steer?.get(il) : undefined;
    if (v) {
      // ggml_backend_tensor_get works whatever backend holds the tensor (a plain memcpy on the CPU).
      const data = new Float32Array(rows * this.nEmbd);
      this.fn.ggml_backend_tensor_get(t, data, 0, data.byteLength);
      rescaleToPreSteerNorm(data, v, this.nEmbd);
      this.fn.ggml_backend_tensor_set(t, data, 0, data.byteLength);
    }

    // One read (and one write) of the rows of every sequence that wants this layer, not one per sequence:
    // the per-call cost dominates at small row counts. Rows in the span that nobody changes are written back
    // as they were read, bit for bit.
    const work: { r0: number; r1: number; steering?: PreparedSteering; capture?: Capture }[] = [];
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (const range of this.ranges) {
      const hooks = this.slots.get(range.slot);
      if (!hooks) continue;
      const steering = acts(hooks.steering, point) ? hooks.steering : undefined;
      const capture = point.kind === "l_out" && hooks.capture?.layers.has(il) ? hooks.capture : undefined;
      if (!steering && !capture) continue;
      const r0 = allRows ? range.t0 : range.o0;
      const r1 = allRows ? range.t1 : range.o1;
      if (r1 <= r0) continue;
      work.push({ r0, r1, steering, capture });
      lo = Math.min(lo, r0);
      hi = Math.max(hi, r1);
    }
    if (work.length === 0) return;
    const span = new Float32Array((hi - lo) * this.nEmbd);
    this.fn.ggml_backend_tensor_get(t, span, lo * rowBytes, span.byteLength);
    let changed = false;
    for (const { r0, r1, steering, capture } of work) {
      const data = span.subarray((r0 - lo) * this.nEmbd, (r1 - lo) * this.nEmbd);
      if (steering) {
        // The embedding is ablated with block 0's direction (an ablation that starts at block 0 has one).
        steerRows(data, this.nEmbd, steering, il);
        changed = true;
      }
      if (!capture) continue;
      const store = capture.rows.get(il)!;
      for (let r = r0; r < r1; r++) {
        const pos = batch.pos[allRows ? r : this.outputs[r]!]!;
        if (capture.positions.has(pos)) {
          const k = r - r0;
          store.set(pos, data.slice(k * this.nEmbd, (k + 1) * this.nEmbd));
        }
      }
    }
    if (changed) this.fn.ggml_backend_tensor_set(t, span, lo * rowBytes, span.byteLength);
  }
}

/** Whether a sequence's steering acts on this node: ablation on the writers and embedding, the rest on l_out. */
function acts(s: PreparedSteering | undefined, point: HookPoint): boolean {
  if (!s) return false;
  if (point.kind === "embd") return s.embedding;
  return (point.kind === "writer") === (s.mode === "ablate") && s.layers.has(point.il);
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
