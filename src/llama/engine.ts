// LlamaEngine: one GGUF model + one llama_context, driven directly through libllama. Generation, hidden-state
// capture and continuation scoring run as sequences of one continuously batched context (scheduler.ts): up to
// `parallel` at once, each in its own KV slot, with its own sampler, limits and steering; setting a global
// control vector and dispose wait for the running ones. All FFI is synchronous on the main thread (yielding to
// the event loop between decode steps).
//
// Layer numbering (checked in test/llama-steering.test.ts): layer `il` is llama.cpp's 0-based block index,
// as in the graph tensor `l_out-<il>` = the residual stream after block il (Hugging Face `hidden_states[il+1]`).
// Control vectors use the same il: `setControlVector` with layer L adds to `l_out-L`; layer 0 cannot be
// steered (llama.cpp keeps no vector for it), so steerable layers are 1 … nLayer − 1.
import { randomInt } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { z } from "zod";
import type { ChatMessage } from "../types.js";

/**
 * Threads for a model file, decided here for every caller (runs, extraction, perplexity, doctor). ggml's
 * workers spin at every barrier: for a small model the barriers dominate, and on a busy machine (parallel
 * tests, a judge beside the subject) two spinning threads were measured 400x slower than one (2 vs 815
 * tokens/s on the 1 MB test fixture). Small files get one thread.
 */
export function defaultThreads(path: string): number {
  return statSync(path).size < 256 * 1024 * 1024 ? 1 : availableParallelism();
}

import type { BackendKind, GpuRequest } from "./backend.js";
import { TokenBatch } from "./batch.js";
import { applyChatTemplate, type ChatFormat, resolveChatFormat } from "./chat-template.js";
import {
  type ControlVectorSpec,
  type PreparedControlVector,
  prepareControlVector,
} from "./control-vector.js";
import {
  type ContextPtr,
  type LlamaFunctions,
  type LlamaLibrary,
  loadLlamaLibrary,
  type MemoryPtr,
  type ModelPtr,
} from "./ffi.js";
import { fitPrompt } from "./fit-prompt.js";
import { EvalHooks } from "./hooks.js";
import { clearLog, recentProblems } from "./log.js";
import { createSampler } from "./sampler.js";
import { abortError, Scheduler } from "./scheduler.js";
import {
  CaptureSequence,
  type FinishReason,
  GenerateSequence,
  LogitsSequence,
  ScoreSequence,
} from "./sequences.js";
import { type PreparedSteering, prepareSteering, type SequenceSteeringSpec } from "./steer-ops.js";
import { StopMatcher } from "./stop.js";
import { type TokenizeOptions, Vocab } from "./vocab.js";

// ---------------------------------------------------------------------------------------------------------
// Public types.

export interface LlamaEngineOptions {
  /** CPU threads for decoding (default: `defaultThreads(path)`: 1 for files under 256 MB, else all cores). */
  threads?: number;
  /** Context window of each sequence in tokens (default: min(training context, 4096)). */
  contextSize?: number;
  /**
   * Sequences decoded together (default 1): concurrent calls share each decode step. The KV cache holds
   * `parallel × contextSize` cells, so every sequence always has its whole window.
   */
  parallel?: number;
  /** Tokens per llama_decode call, also the physical batch (default: min(contextSize, 512)). */
  batchSize?: number;
  /** Default sampling seed for `generate` calls that give none (default: a fresh random seed per call). */
  seed?: number;
  /**
   * "auto" (default): the model's chat template, or "none" when it has none. "none": join message contents
   * with "\n\n". Anything else: a llama.cpp built-in template name (e.g. "chatml") or template text.
   */
  chatTemplate?: string;
  /**
   * Install the graph eval callback (default true). Needed by `captureHiddenStates` and norm-preserving
   * steering; costs one JS call per graph node per decode (~1 µs each) even when idle.
   */
  hooks?: boolean;
  /**
   * Which llama.cpp build to load (once per process; see backend.ts): "auto" (default) = the best installed
   * backend with a device, CUDA > Vulkan/Metal > CPU; false = CPU only (nothing offloaded).
   */
  gpu?: GpuRequest;
  /** Layers to offload to the GPU (default: all). Ignored by the CPU build. */
  gpuLayers?: number;
}

export interface LlamaModelInfo {
  path: string;
  description: string;
  nParams: number;
  nLayer: number;
  nEmbd: number;
  nVocab: number;
  nCtxTrain: number;
  /** Each sequence's context window in tokens (llama.cpp may round the request up). */
  contextSize: number;
  /** Sequences decoded together. */
  parallel: number;
  batchSize: number;
  threads: number;
  /** "none", or where the chat template came from. */
  chatTemplate: "none" | "model" | "option";
  hooks: boolean;
  /** The llama.cpp build loaded (backend.ts) and the layers asked to be offloaded (-1 = all). */
  backend: BackendKind;
  gpuLayers: number;
}

/** Exactly one of `prompt` (raw text, tokenized with BOS as the model asks) or `messages` (chat template). */
export type PromptInput =
  | { prompt: string; messages?: undefined }
  | { messages: ChatMessage[]; prompt?: undefined };

export type EngineGenerateRequest = PromptInput & {
  /** Most tokens to generate (default 256). */
  maxTokens?: number;
  /** 0 = greedy (default 1). */
  temperature?: number;
  /** Nucleus mass in (0, 1] (default 1 = off). */
  topP?: number;
  /** 32-bit sampling seed (default: the engine's seed, else random; the one used is returned). */
  seed?: number;
  /** Generation ends before the first occurrence of any of these; the text is cut there. */
  stop?: string[];
  signal?: AbortSignal;
  /**
   * Called with each new piece of text as it is generated (streaming). Text that could still turn into a
   * stop string is held back until it can't, so the pieces always add up to the returned `text`.
   */
  onText?: (piece: string) => void;
  /** Activation steering of this request only (other sequences in the batch are not touched). */
  steering?: SequenceSteeringSpec;
  /**
   * When the prompt alone fills the context window: false (default) refuses it (ContextOverflowError); true
   * cuts it from the front to leave min(maxTokens, window / 4) tokens for the answer (`promptTruncated`).
   */
  truncatePrompt?: boolean;
  /**
   * When prompt + maxTokens exceed the window: "cap" (default) generates at most what fits
   * (`maxTokensCapped`, finish reason `context_full` if reached); "error" refuses (ContextOverflowError).
   */
  contextOverflow?: "cap" | "error";
};

export type { FinishReason };

/** A request that does not fit the context window and was refused (see `truncatePrompt`, `contextOverflow`). */
export class ContextOverflowError extends RangeError {
  constructor(
    message: string,
    readonly promptTokens: number,
    readonly maxTokens: number,
    readonly contextSize: number,
  ) {
    super(message);
    this.name = "ContextOverflowError";
  }
}

export interface GenerateResult {
  /** Generated text (cut before a stop string; EOG tokens are not included). */
  text: string;
  /** Generated token ids (including any that formed a stop string). */
  tokens: number[];
  /** The prompt text fed to the tokenizer (after the chat template). */
  prompt: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: FinishReason;
  /** The seed used, or undefined for greedy decoding. */
  seed: number | undefined;
  /** Present when max_tokens was more than the room the prompt left in the window. */
  maxTokensCapped?: { requested: number; granted: number };
  /** Present when the prompt alone did not fit and was cut from the front (`truncatePrompt`), in tokens. */
  promptTruncated?: { from: number; to: number };
  timings: GenerateTimings;
}

export interface GenerateTimings {
  promptMs: number;
  generationMs: number;
  totalMs: number;
  promptTokensPerSecond: number;
  generationTokensPerSecond: number;
}

export type HiddenStatePositions = "last" | "all" | number[];

export type CaptureRequest = (
  | PromptInput
  | { tokens: number[]; prompt?: undefined; messages?: undefined }
) & {
  /** Layers il to read (`l_out-<il>`, 0 … nLayer − 1). */
  layers: number[];
  /** Token positions: "last" (default), "all", or indices (negative counts from the end). */
  positions?: HiddenStatePositions;
  /** Steering of this capture only: rows are read after it is applied. */
  steering?: SequenceSteeringSpec;
  signal?: AbortSignal;
};

/** OpenAI-style finish reason for a provider response. */
export function openAIFinishReason(reason: FinishReason): "stop" | "length" {
  return reason === "eog" || reason === "stop_string" ? "stop" : "length";
}

// ---------------------------------------------------------------------------------------------------------
// Input validation (everything here can come from config files or HTTP bodies).

const u32Seed = z.number().int().min(0).max(0xfffffffe);
const OptionsSchema = z
  .object({
    threads: z.number().int().min(1).max(1024).optional(),
    contextSize: z
      .number()
      .int()
      .min(8)
      .max(1 << 24)
      .optional(),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .optional(),
    seed: u32Seed.optional(),
    parallel: z.number().int().min(1).max(256).optional(),
    chatTemplate: z.string().min(1).optional(),
    hooks: z.boolean().optional(),
    gpu: z.union([z.enum(["auto", "cuda", "vulkan", "metal"]), z.literal(false)]).optional(),
    gpuLayers: z.number().int().min(0).optional(),
  })
  .strict();
const MessageSchema = z
  .object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })
  .strict();
// Validated in depth by prepareSteering (shapes against the model); here only that it is an object.
const steeringSchema = z.custom<SequenceSteeringSpec>(
  (v) => typeof v === "object" && v !== null && (v as { data?: unknown }).data instanceof Map,
  { message: "expected { data: Map<layer, Float32Array>, ... }" },
);
const promptFields = {
  prompt: z.string().optional(),
  messages: z.array(MessageSchema).min(1).optional(),
};
const GenerateSchema = z
  .object({
    ...promptFields,
    maxTokens: z.number().int().min(0).optional(),
    temperature: z.number().min(0).max(100).optional(),
    topP: z.number().gt(0).max(1).optional(),
    seed: u32Seed.optional(),
    stop: z.array(z.string()).optional(),
    signal: z.instanceof(AbortSignal).optional(),
    onText: z.custom<(piece: string) => void>((v) => typeof v === "function").optional(),
    steering: steeringSchema.optional(),
    truncatePrompt: z.boolean().optional(),
    contextOverflow: z.enum(["cap", "error"]).optional(),
  })
  .strict();
const CaptureSchema = z
  .object({
    ...promptFields,
    tokens: z.array(z.number().int().min(0)).min(1).optional(),
    layers: z.array(z.number().int().min(0)).min(1),
    positions: z.union([z.literal("last"), z.literal("all"), z.array(z.number().int()).min(1)]).optional(),
    steering: steeringSchema.optional(),
    signal: z.instanceof(AbortSignal).optional(),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new TypeError(`invalid ${what}: ${issues}`);
  }
  return r.data;
}

function exactlyOneSource(req: Record<string, unknown>, fields: string[], what: string): void {
  const n = fields.filter((f) => req[f] !== undefined).length;
  if (n !== 1) throw new TypeError(`invalid ${what}: give exactly one of ${fields.join(", ")}`);
}

const COMBINED_STEERING =
  "per-request steering cannot be combined with a global control vector; clear it first";

// ---------------------------------------------------------------------------------------------------------

export class LlamaEngine {
  readonly info: LlamaModelInfo;
  private readonly fn: LlamaFunctions;
  private readonly vocab: Vocab;
  private readonly scheduler: Scheduler;
  private readonly chatFormat: ChatFormat;
  private readonly defaultSeed: number | undefined;
  /** The BOS token when the model adds one, else undefined. */
  private readonly bos: number | undefined;
  private model: ModelPtr | undefined;
  private ctx: ContextPtr | undefined;
  private mem: MemoryPtr;
  private batch: TokenBatch;
  private hooks: EvalHooks | undefined;
  private cvec: PreparedControlVector | undefined;
  private disposed = false;
  private disposing: Promise<void> | undefined;

  private constructor(init: {
    lib: LlamaLibrary;
    info: LlamaModelInfo;
    model: ModelPtr;
    ctx: ContextPtr;
    mem: MemoryPtr;
    batch: TokenBatch;
    vocab: Vocab;
    hooks: EvalHooks | undefined;
    chatFormat: ChatFormat;
    seed: number | undefined;
    bos: number | undefined;
  }) {
    this.fn = init.lib.fn;
    this.info = init.info;
    this.model = init.model;
    this.ctx = init.ctx;
    this.mem = init.mem;
    this.batch = init.batch;
    this.vocab = init.vocab;
    this.hooks = init.hooks;
    this.chatFormat = init.chatFormat;
    this.defaultSeed = init.seed;
    this.bos = init.bos;
    this.scheduler = new Scheduler(
      this.fn,
      () => {
        if (!this.ctx) throw new Error("this LlamaEngine has been disposed");
        return this.ctx;
      },
      this.mem,
      this.batch,
      this.hooks,
      this.info.nVocab,
      this.info.parallel,
      // A global control vector set while a per-request steered call waited would stack on its steering.
      (seq) => (seq.steering && this.cvec ? new Error(COMBINED_STEERING) : undefined),
    );
  }

  /** Loads a GGUF model and creates its context. Throws a clear error for a missing or unreadable file. */
  static async load(path: string, options: LlamaEngineOptions = {}): Promise<LlamaEngine> {
    if (typeof path !== "string" || path.length === 0)
      throw new TypeError("model path must be a non-empty string");
    const opts = parse(OptionsSchema, options, "LlamaEngine options");
    if (!existsSync(path)) throw new Error(`model file not found: ${path}`);
    if (!statSync(path).isFile()) throw new Error(`model path is not a file: ${path}`);

    const lib = loadLlamaLibrary(opts.gpu ?? "auto");
    const { fn } = lib;
    clearLog();
    const mp = fn.llama_model_default_params();
    // llama.cpp's default (-1) offloads every layer to the GPU devices the build found.
    const gpuLayers = opts.gpu === false ? 0 : (opts.gpuLayers ?? -1);
    mp.n_gpu_layers = gpuLayers;
    const model = fn.llama_model_load_from_file(path, mp);
    if (model === null) {
      throw new Error(`cannot load model ${path}: ${recentProblems() || "llama.cpp gave no reason"}`);
    }
    let hooks: EvalHooks | undefined;
    let ctx: ContextPtr | null = null;
    let batch: TokenBatch | undefined;
    try {
      if (fn.llama_model_has_encoder(model) || !fn.llama_model_has_decoder(model)) {
        throw new Error(`${path} is not a decoder-only model; the engine supports decoder-only models`);
      }
      const nCtxTrain = fn.llama_model_n_ctx_train(model);
      const nEmbd = fn.llama_model_n_embd(model);
      const nLayer = fn.llama_model_n_layer(model);
      const threads = opts.threads ?? defaultThreads(path);
      const contextSize = opts.contextSize ?? Math.min(nCtxTrain > 0 ? nCtxTrain : 4096, 4096);
      const parallel = opts.parallel ?? 1;
      const batchSize = Math.min(opts.batchSize ?? 512, contextSize * parallel);
      // Every generating sequence must fit in each step, or slot order would starve the last ones.
      if (batchSize < parallel) {
        throw new RangeError(
          `batchSize ${batchSize} is smaller than parallel ${parallel}: give batchSize ≥ parallel`,
        );
      }
      if (opts.hooks !== false) hooks = new EvalHooks(fn, nEmbd);

      const cp = fn.llama_context_default_params();
      // llama.cpp pads the whole cache to a multiple of 256 cells; padding each sequence's window first gives
      // every `parallel` the same window a single sequence gets (and node-llama-cpp's per-sequence size).
      cp.n_ctx = Math.ceil(contextSize / 256) * 256 * parallel;
      // n_batch = n_ubatch: one llama_decode call is one graph evaluation, which the hooks' row mapping needs.
      cp.n_batch = batchSize;
      cp.n_ubatch = batchSize;
      // One KV stream shared by all sequences: llama.cpp then cuts a batch into ubatches in order
      // (split_simple), where per-sequence streams would regroup mixed batches (split_equal).
      cp.n_seq_max = parallel;
      cp.kv_unified = true;
      cp.n_threads = threads;
      cp.n_threads_batch = threads;
      cp.cb_eval = hooks?.callback ?? null;
      cp.cb_eval_user_data = null;
      cp.no_perf = true;
      if (opts.gpu === false) {
        // CPU only: no KV cache or large-batch matmuls on a GPU either.
        cp.offload_kqv = false;
        cp.op_offload = false;
      }
      clearLog();
      ctx = fn.llama_init_from_model(model, cp);
      if (ctx === null) {
        throw new Error(
          `cannot create a llama.cpp context for ${path}: ${recentProblems() || "no reason given"}`,
        );
      }
      const mem = fn.llama_get_memory(ctx);
      if (mem === null) throw new Error("the llama.cpp context has no memory (KV cache)");
      const nBatch = fn.llama_n_batch(ctx);
      batch = new TokenBatch(fn, nBatch);
      const vocabPtr = fn.llama_model_get_vocab(model);
      const vocab = new Vocab(fn, vocabPtr, fn.llama_vocab_n_tokens(vocabPtr));
      const chatFormat = resolveChatFormat(fn, model, opts.chatTemplate);
      const desc = new Uint8Array(256);
      const dn = fn.llama_model_desc(model, desc, desc.length);
      const info: LlamaModelInfo = {
        path,
        description: Buffer.from(desc.subarray(0, Math.max(0, Math.min(dn, desc.length - 1)))).toString(
          "utf8",
        ),
        nParams: Number(fn.llama_model_n_params(model)),
        nLayer,
        nEmbd,
        nVocab: vocab.size,
        nCtxTrain,
        contextSize: Math.floor(fn.llama_n_ctx(ctx) / parallel),
        parallel,
        batchSize: nBatch,
        threads,
        chatTemplate: chatFormat.kind === "none" ? "none" : chatFormat.source,
        hooks: hooks !== undefined,
        backend: lib.files.backend,
        gpuLayers,
      };
      return new LlamaEngine({
        lib,
        info,
        model,
        ctx,
        mem,
        batch,
        vocab,
        hooks,
        chatFormat,
        seed: opts.seed,
        bos: fn.llama_vocab_get_add_bos(vocabPtr) ? fn.llama_vocab_bos(vocabPtr) : undefined,
      });
    } catch (err) {
      batch?.free();
      if (ctx !== null) fn.llama_free(ctx);
      hooks?.dispose();
      fn.llama_model_free(model);
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Text.

  /** Tokenizes text (defaults: add BOS as the model asks, do not parse special-token text). */
  tokenize(text: string, options?: TokenizeOptions): number[] {
    this.assertLive();
    return this.vocab.tokenize(text, options);
  }

  detokenize(
    tokens: readonly number[],
    options?: { removeSpecial?: boolean; unparseSpecial?: boolean },
  ): string {
    this.assertLive();
    return this.vocab.detokenize(tokens, options);
  }

  /** The prompt text for a conversation (see chat-template.ts for "none"), ending with the assistant opener. */
  applyChatTemplate(messages: readonly ChatMessage[]): string {
    this.assertLive();
    return applyChatTemplate(
      this.fn,
      this.chatFormat,
      parse(z.array(MessageSchema).min(1), messages, "messages"),
    );
  }
  // -------------------------------------------------------------------------------------------------------
  // Generation.

  /**
   * Generates a completion. Concurrent calls run as separate sequences of one batch (up to `parallel` at
   * once; the rest queue), each with its own sampler, stops, limits, seed, signal and steering.
   */
  async generate(request: EngineGenerateRequest): Promise<GenerateResult> {
    const req = parse(GenerateSchema, request, "generate request");
    exactlyOneSource(req, ["prompt", "messages"], "generate request");
    this.assertLive();
    const t0 = performance.now();
    const steering = this.prepareRequestSteering(req.steering);
    const fitted = this.fitGeneration(req);
    const temperature = req.temperature ?? 1;
    const seed = temperature === 0 ? undefined : (req.seed ?? this.defaultSeed ?? randomInt(0, 0xffffffff));
    if (req.signal?.aborted) throw abortError(req.signal);
    const fn = this.fn;
    const seq = new GenerateSequence({
      promptTokens: fitted.tokens,
      maxTokens: fitted.granted,
      limitReason: fitted.capped ? "context_full" : "max_tokens",
      vocab: this.vocab,
      stops: new StopMatcher(req.stop ?? []),
      makeSampler: () => createSampler(fn, { temperature, topP: req.topP ?? 1, seed: seed ?? 0 }),
      freeSampler: (s) => fn.llama_sampler_free(s),
      onText: req.onText,
      signal: req.signal,
      steering,
    });
    const out = await this.scheduler.submit(seq);
    const promptMs = out.promptDoneAt - t0;
    const generationMs = out.doneAt - out.promptDoneAt;
    const promptTokens = fitted.tokens.length;
    return {
      text: out.text,
      tokens: out.tokens,
      prompt: fitted.text,
      promptTokens,
      completionTokens: out.tokens.length,
      finishReason: out.finishReason,
      seed,
      ...(fitted.capped ? { maxTokensCapped: { requested: fitted.requested, granted: fitted.granted } } : {}),
      ...(fitted.truncated ? { promptTruncated: fitted.truncated } : {}),
      timings: {
        promptMs,
        generationMs,
        totalMs: out.doneAt - t0,
        promptTokensPerSecond: promptMs > 0 ? (promptTokens * 1000) / promptMs : 0,
        generationTokensPerSecond: generationMs > 0 ? (out.tokens.length * 1000) / generationMs : 0,
      },
    };
  }

  /**
   * Context-length honesty: the prompt is never cut to make room for generation. max_tokens is capped to the
   * room the prompt leaves (reported); a prompt that alone fills the window is refused, or with
   * `truncatePrompt` cut from the front (inside message texts, never template markup) to leave
   * min(max_tokens, window / 4) tokens for the answer (reported).
   */
  private fitGeneration(req: z.infer<typeof GenerateSchema>): {
    text: string;
    tokens: number[];
    requested: number;
    granted: number;
    capped: boolean;
    truncated: { from: number; to: number } | undefined;
  } {
    const window = this.info.contextSize;
    const requested = req.maxTokens ?? 256;
    let { text, tokens } = this.promptTokens(req);
    let truncated: { from: number; to: number } | undefined;
    if (tokens.length >= window) {
      if (!req.truncatePrompt || req.contextOverflow === "error") {
        throw new ContextOverflowError(
          `the prompt has ${tokens.length} tokens; the context holds ${window}`,
          tokens.length,
          requested,
          window,
        );
      }
      const reserve = Math.max(1, Math.min(requested, Math.floor(window / 4)));
      const input = req.messages ?? req.prompt ?? "";
      const { prompt } = fitPrompt(this, input, window - reserve);
      const again = this.promptTokens(typeof prompt === "string" ? { prompt } : { messages: prompt });
      truncated = { from: tokens.length, to: again.tokens.length };
      ({ text, tokens } = again);
    }
    const granted = Math.min(requested, window - tokens.length);
    if (granted < requested && req.contextOverflow === "error") {
      throw new ContextOverflowError(
        `the prompt has ${tokens.length} tokens and max_tokens is ${requested}; the context holds ${window}`,
        tokens.length,
        requested,
        window,
      );
    }
    if (tokens.length === 0) throw new RangeError("nothing to run: the prompt has no tokens");
    return { text, tokens, requested, granted, capped: granted < requested, truncated };
  }

  // -------------------------------------------------------------------------------------------------------
  // Hidden states.

  /**
   * Runs the prompt through the model and returns, per requested layer il, the `l_out-<il>` row (nEmbd floats)
   * at each requested position, in the order asked. With a control vector set, rows include it; with
   * `steering`, rows are after this request's own steering. Concurrent captures share batches.
   */
  async captureHiddenStates(request: CaptureRequest): Promise<Map<number, Float32Array[]>> {
    const req = parse(CaptureSchema, request, "captureHiddenStates request");
    exactlyOneSource(req, ["prompt", "messages", "tokens"], "captureHiddenStates request");
    this.assertLive();
    if (!this.hooks) throw new Error("captureHiddenStates needs the engine loaded with hooks: true");
    const tokens = req.tokens ?? this.promptTokens(req).tokens;
    const n = tokens.length;
    if (n === 0) throw new RangeError("nothing to run: the prompt has no tokens");
    if (n > this.info.contextSize) {
      throw new RangeError(`the input has ${n} tokens; the context holds ${this.info.contextSize}`);
    }
    const bad = tokens.find((t) => t >= this.info.nVocab);
    if (bad !== undefined)
      throw new RangeError(`token ${bad} is outside the vocabulary (0..${this.info.nVocab - 1})`);
    const layers = [...new Set(req.layers)];
    const badLayer = layers.find((l) => l >= this.info.nLayer);
    if (badLayer !== undefined) {
      throw new RangeError(`layer ${badLayer} is outside 0..${this.info.nLayer - 1}`);
    }
    const positions = resolvePositions(req.positions ?? "last", n);
    const steering = this.prepareRequestSteering(req.steering);
    return this.scheduler.submit(
      new CaptureSequence([...tokens], layers, positions, this.info.nLayer - 1, req.signal, steering),
    );
  }

  // -------------------------------------------------------------------------------------------------------
  // Control vectors.

  /**
   * Sets (replaces) the global control vector: `l_out-<il> += strength × data.get(il)` for
   * layerStart ≤ il ≤ layerEnd, at every position, for every later call until cleared. It waits for running
   * sequences to finish. (Per-request steering, `generate({ steering })`, needs no global state.)
   */
  async setControlVector(spec: ControlVectorSpec): Promise<void> {
    this.assertLive();
    return this.scheduler.exclusive(() => {
      this.assertLive();
      // A per-request spec (SequenceSteeringSpec) fits this type too: its mode must not be dropped silently.
      const mode = (spec as { mode?: unknown }).mode;
      if (mode !== undefined && mode !== "add") {
        throw new Error(
          `setControlVector only adds the vector; mode "${String(mode)}" works per request (generate / captureHiddenStates({ steering }))`,
        );
      }
      const prepared = prepareControlVector(spec, this.info.nEmbd, this.info.nLayer);
      if (prepared.normPreserving && !this.hooks) {
        throw new Error("norm-preserving steering needs the engine loaded with hooks: true");
      }
      const { buffer, layerStart, layerEnd } = prepared;
      const rc = this.fn.llama_set_adapter_cvec(
        this.ctx!,
        buffer,
        buffer.length,
        this.info.nEmbd,
        layerStart,
        layerEnd,
      );
      if (rc !== 0) throw new Error(`llama_set_adapter_cvec failed (${rc}): ${recentProblems()}`);
      this.cvec = prepared;
      this.hooks?.setSteer(prepared.normPreserving ? prepared.applied : undefined);
    });
  }

  async clearControlVector(): Promise<void> {
    this.assertLive();
    return this.scheduler.exclusive(() => {
      this.assertLive();
      // A NULL buffer disables the vector (llama.cpp keeps the tensors allocated for reuse).
      const rc = this.fn.llama_set_adapter_cvec(this.ctx!, null, 0, this.info.nEmbd, -1, -1);
      if (rc !== 0) throw new Error(`llama_set_adapter_cvec(NULL) failed (${rc})`);
      this.cvec = undefined;
      this.hooks?.setSteer(undefined);
    });
  }

  /** The active control vector's range and options, if any. */
  get controlVector():
    | { layerStart: number; layerEnd: number; strength: number; normPreserving: boolean }
    | undefined {
    const c = this.cvec;
    return (
      c && {
        layerStart: c.layerStart,
        layerEnd: c.layerEnd,
        strength: c.strength,
        normPreserving: c.normPreserving,
      }
    );
  }

  // -------------------------------------------------------------------------------------------------------
  // Scoring.

  /**
   * For each continuation, the sum of the log-probabilities of its tokens given the prompt (natural log).
   * The continuation's tokens are those of tokenize(prompt + continuation) after the prompt's own tokens (so
   * merges across the boundary are handled as the tokenizer would); if the prompt's tokens are not a prefix
   * of that, the continuation is tokenized alone and appended. An empty continuation scores 0.
   * `prompt` is raw text, or messages that go through the chat template (assistant turn opened).
   * Runs as one sequence beside any generations; `options.steering` steers only this scoring.
   */
  async scoreContinuations(
    prompt: string | ChatMessage[],
    continuations: string[],
    options: { steering?: SequenceSteeringSpec; signal?: AbortSignal } = {},
  ): Promise<number[]> {
    const input = parse(
      z.object({
        prompt: z.union([z.string(), z.array(MessageSchema).min(1)]),
        continuations: z.array(z.string()),
      }),
      { prompt, continuations },
      "scoreContinuations arguments",
    );
    this.assertLive();
    const {
      text,
      tokens: promptTokens,
      parseSpecial,
    } = this.promptTokens(
      typeof input.prompt === "string" ? { prompt: input.prompt } : { messages: input.prompt },
    );
    if (promptTokens.length === 0) throw new RangeError("the prompt has no tokens to condition on");
    const fulls = input.continuations.map((continuation, ci) => {
      let full = this.vocab.tokenize(text + continuation, { addSpecial: true, parseSpecial });
      if (!startsWith(full, promptTokens)) {
        full = [
          ...promptTokens,
          ...this.vocab.tokenize(continuation, { addSpecial: false, parseSpecial: false }),
        ];
      }
      if (full.length - 1 > this.info.contextSize) {
        throw new RangeError(
          `continuation ${ci}: prompt + continuation is ${full.length} tokens; the context holds ${this.info.contextSize}`,
        );
      }
      return full;
    });
    const steering = this.prepareRequestSteering(options.steering);
    return this.scheduler.submit(new ScoreSequence(fulls, promptTokens.length, options.signal, steering));
  }

  /**
   * The raw next-token logits (nVocab floats) after `tokens`, decoded as one sequence from an empty slot.
   * For log-probabilities and for checking how close two candidate tokens were.
   */
  async nextTokenLogits(
    tokens: readonly number[],
    options: { steering?: SequenceSteeringSpec; signal?: AbortSignal } = {},
  ): Promise<Float32Array> {
    this.assertLive();
    const ts = parse(z.array(z.number().int().min(0)).min(1), [...tokens], "nextTokenLogits tokens");
    if (ts.length > this.info.contextSize) {
      throw new RangeError(`the input has ${ts.length} tokens; the context holds ${this.info.contextSize}`);
    }
    const bad = ts.find((t) => t >= this.info.nVocab);
    if (bad !== undefined)
      throw new RangeError(`token ${bad} is outside the vocabulary (0..${this.info.nVocab - 1})`);
    const steering = this.prepareRequestSteering(options.steering);
    return this.scheduler.submit(new LogitsSequence(ts, options.signal, steering));
  }

  /** Sequences running and waiting now (for servers and tests). */
  get load(): { active: number; queued: number; parallel: number } {
    return {
      active: this.scheduler.activeCount,
      queued: this.scheduler.queued,
      parallel: this.scheduler.parallel,
    };
  }

  /** Decode steps and tokens so far, and the most sequences one step held. */
  get batchStats(): { steps: number; tokens: number; maxSequencesInStep: number } {
    return { ...this.scheduler.stats };
  }

  // -------------------------------------------------------------------------------------------------------
  // Lifecycle.

  /** Frees the context and model (after any running operation). Later calls throw. Safe to call twice. */
  dispose(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.disposing ??= this.scheduler.exclusive(() => {
      if (this.disposed) return;
      this.disposed = true;
      this.scheduler.close(new Error("this LlamaEngine has been disposed"));
      this.batch.free();
      if (this.ctx) this.fn.llama_free(this.ctx);
      this.ctx = undefined;
      // The callback may only go after the context that calls it.
      this.hooks?.dispose();
      this.hooks = undefined;
      if (this.model) this.fn.llama_model_free(this.model);
      this.model = undefined;
    });
    return this.disposing;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  // -------------------------------------------------------------------------------------------------------
  // Internals.

  private assertLive(): void {
    if (this.disposed) throw new Error("this LlamaEngine has been disposed");
  }

  private prepareRequestSteering(spec: SequenceSteeringSpec | undefined): PreparedSteering | undefined {
    if (!spec) return undefined;
    if (!this.hooks) throw new Error("per-request steering needs the engine loaded with hooks: true");
    if (this.cvec) {
      throw new Error(COMBINED_STEERING);
    }
    return prepareSteering(spec, this.info.nEmbd, this.info.nLayer);
  }

  private promptTokens(req: { prompt?: string; messages?: ChatMessage[] }): {
    text: string;
    tokens: number[];
    parseSpecial: boolean;
  } {
    if (req.messages !== undefined) {
      const text = applyChatTemplate(this.fn, this.chatFormat, req.messages);
      // Templated text carries the template's special tokens as text; plain joining carries none.
      const parseSpecial = this.chatFormat.kind === "template";
      let tokens = this.vocab.tokenize(text, { addSpecial: true, parseSpecial });
      // Templates that spell out BOS would get a second one from add_special.
      const bos = this.bos;
      if (bos !== undefined && tokens.length > 1 && tokens[0] === bos && tokens[1] === bos)
        tokens = tokens.slice(1);
      return { text, tokens, parseSpecial };
    }
    const text = req.prompt ?? "";
    return {
      text,
      tokens: this.vocab.tokenize(text, { addSpecial: true, parseSpecial: false }),
      parseSpecial: false,
    };
  }
}

function resolvePositions(positions: HiddenStatePositions, n: number): number[] {
  if (positions === "last") return [n - 1];
  if (positions === "all") return Array.from({ length: n }, (_, i) => i);
  return positions.map((p) => {
    const abs = p < 0 ? n + p : p;
    if (abs < 0 || abs >= n) throw new RangeError(`position ${p} is outside the ${n} input tokens`);
    return abs;
  });
}

function startsWith(a: readonly number[], prefix: readonly number[]): boolean {
  if (prefix.length > a.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}
