// The three kinds of work a KV slot runs: generating text, capturing hidden states, scoring continuations.
// Each is a `Sequence` (scheduler.ts): it says which tokens to feed and reads its outputs after each decode.
import type { SamplerPtr } from "./ffi.js";
import { tokenLogProb } from "./logprob.js";
import { type DecodeOutput, Sequence, type SequenceContext } from "./scheduler.js";
import type { PreparedSteering } from "./steer-ops.js";
import type { StopMatcher } from "./stop.js";
import type { Vocab } from "./vocab.js";

export type FinishReason = "eog" | "stop_string" | "max_tokens" | "context_full";

export interface GenerationOutcome {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
  /** performance.now() when the prompt was read (first token sampled) and when generation ended. */
  promptDoneAt: number;
  doneAt: number;
}

export class GenerateSequence extends Sequence<GenerationOutcome> {
  private readonly generated: number[] = [];
  private readonly decoder = new TextDecoder("utf-8");
  private text = "";
  private emitted = 0;
  private finishReason: FinishReason = "max_tokens";
  private sampler: SamplerPtr | undefined;
  private promptDoneAt = 0;

  constructor(
    private readonly opts: {
      promptTokens: number[];
      /** Tokens to generate at most. */
      maxTokens: number;
      /** The reason to give when `maxTokens` is reached ("context_full" when the context capped it). */
      limitReason: FinishReason;
      vocab: Vocab;
      stops: StopMatcher;
      makeSampler: () => SamplerPtr;
      freeSampler: (s: SamplerPtr) => void;
      onText?: (piece: string) => void;
      signal?: AbortSignal;
      steering?: PreparedSteering;
    },
  ) {
    super(opts.signal, opts.steering, undefined);
    this.tokens = [...opts.promptTokens];
    this.finishReason = opts.limitReason;
  }

  override start(): void {
    this.sampler = this.opts.makeSampler();
    if (this.opts.maxTokens === 0) this.finish();
  }

  wantsOutput(pos: number): boolean {
    return pos === this.tokens.length - 1;
  }

  afterDecode(outputs: DecodeOutput[], c: SequenceContext): void {
    const out = outputs[outputs.length - 1];
    if (!out || out.pos !== this.tokens.length - 1) return; // a prompt chunk: nothing to sample yet
    if (this.promptDoneAt === 0) this.promptDoneAt = performance.now();
    const { vocab, stops } = this.opts;
    const token = c.fn.llama_sampler_sample(this.sampler!, c.ctx, out.index);
    if (vocab.isEog(token)) {
      this.finishReason = "eog";
      this.finish();
      return;
    }
    this.generated.push(token);
    this.tokens.push(token);
    const before = this.text.length;
    this.text += this.decoder.decode(vocab.piece(token), { stream: true });
    const at = stops.find(this.text, before);
    if (at !== -1) {
      this.text = this.text.slice(0, at);
      this.finishReason = "stop_string";
      this.finish();
      return;
    }
    this.emit(this.text.length - stops.holdback);
    if (this.generated.length >= this.opts.maxTokens) this.finish();
  }

  private emit(upTo: number): void {
    if (this.opts.onText && upTo > this.emitted) {
      const piece = this.text.slice(this.emitted, upTo);
      this.emitted = upTo;
      this.opts.onText(piece);
    }
  }

  private finish(): void {
    if (this.finishReason !== "stop_string") this.text += this.decoder.decode();
    this.done = true;
    this.emit(this.text.length);
  }

  result(): GenerationOutcome {
    const doneAt = performance.now();
    return {
      text: this.text,
      tokens: this.generated,
      finishReason: this.finishReason,
      promptDoneAt: this.promptDoneAt || doneAt,
      doneAt,
    };
  }

  override cleanup(): void {
    if (this.sampler) this.opts.freeSampler(this.sampler);
    this.sampler = undefined;
  }
}

/** Runs tokens through the model and returns the captured `l_out` rows (layer → rows in the order asked). */
export class CaptureSequence extends Sequence<Map<number, Float32Array[]>> {
  private readonly outputs: Set<number>;

  constructor(
    tokens: number[],
    private readonly layers: number[],
    private readonly positions: number[],
    lastLayer: number,
    signal: AbortSignal | undefined,
    steering: PreparedSteering | undefined,
  ) {
    super(signal, steering, { layers, positions });
    this.tokens = tokens;
    const n = tokens.length;
    // The last block only computes output rows, so make the wanted positions outputs when it is asked for.
    this.outputs = new Set<number>([n - 1, ...(layers.includes(lastLayer) ? positions : [])]);
  }

  wantsOutput(pos: number): boolean {
    return this.outputs.has(pos);
  }

  afterDecode(): void {
    if (this.fed >= this.tokens.length) this.done = true;
  }

  result(captured: Map<number, Map<number, Float32Array>>): Map<number, Float32Array[]> {
    const result = new Map<number, Float32Array[]>();
    for (const il of this.layers) {
      const byPos = captured.get(il);
      result.set(
        il,
        this.positions.map((p) => {
          const row = byPos?.get(p);
          if (!row) throw new Error(`layer ${il} produced no hidden state for position ${p}`);
          return row;
        }),
      );
    }
    return result;
  }
}

/**
 * Σ ln p(continuation tokens | prompt) for each continuation, one after the other in one slot, reusing the
 * KV cells of the longest common prefix between consecutive ones.
 */
export class ScoreSequence extends Sequence<number[]> {
  private ci = -1;
  private cached: number[] = [];
  private full: number[] = [];
  private logProb = 0;
  private readonly scores: number[] = [];

  constructor(
    /** Prompt + continuation tokens for each continuation (the prompt is the first `from` tokens). */
    private readonly fulls: number[][],
    private readonly from: number,
    signal: AbortSignal | undefined,
    steering: PreparedSteering | undefined,
  ) {
    super(signal, steering, undefined);
  }

  override start(c: SequenceContext): void {
    this.next(c);
  }

  wantsOutput(pos: number): boolean {
    return pos >= this.from - 1;
  }

  afterDecode(outputs: DecodeOutput[], c: SequenceContext): void {
    // Row j predicts the token after outputs[j].pos.
    for (const o of outputs) this.logProb += tokenLogProb(c.logitsRow(o.row), this.full[o.pos + 1]!);
    if (this.fed < this.tokens.length) return;
    this.scores.push(this.logProb);
    this.cached = this.tokens;
    this.next(c);
  }

  /** Moves to the next continuation that needs decoding (empty ones score 0), or finishes. */
  private next(c: SequenceContext): void {
    for (;;) {
      this.ci++;
      if (this.ci >= this.fulls.length) {
        this.done = true;
        return;
      }
      const full = this.fulls[this.ci]!;
      if (full.length === this.from) {
        this.scores.push(0);
        continue;
      }
      // Reuse the cached prefix, but re-run at least the token before the continuation for its logits.
      let keep = Math.min(commonPrefix(this.cached, full), this.from - 1);
      if (!c.fn.llama_memory_seq_rm(c.mem, c.slot, keep, -1)) {
        c.fn.llama_memory_seq_rm(c.mem, c.slot, -1, -1);
        keep = 0;
      }
      this.full = full;
      this.tokens = full.slice(0, full.length - 1);
      this.fed = keep;
      this.logProb = 0;
      return;
    }
  }

  result(): number[] {
    return this.scores;
  }
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The logits after the last of `tokens` (a copy of the nVocab row). */
export class LogitsSequence extends Sequence<Float32Array> {
  private row: Float32Array | undefined;

  constructor(tokens: number[], signal: AbortSignal | undefined, steering: PreparedSteering | undefined) {
    super(signal, steering, undefined);
    this.tokens = tokens;
  }

  wantsOutput(pos: number): boolean {
    return pos === this.tokens.length - 1;
  }

  afterDecode(outputs: DecodeOutput[], c: SequenceContext): void {
    const o = outputs.find((x) => x.pos === this.tokens.length - 1);
    if (o) {
      this.row = c.logitsRow(o.row);
      this.done = true;
    }
  }

  result(): Float32Array {
    if (!this.row) throw new Error("no logits were produced");
    return this.row;
  }
}
