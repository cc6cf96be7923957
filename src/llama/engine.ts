// LlamaEngine: one GGUF model + one llama_context, driven directly through libllama. Generation, hidden-state
// capture, control vectors and continuation scoring all share the context, so every operation runs under a
// mutex, starts from an empty KV cache, and is synchronous FFI on the main thread (yielding to the event loop
// between generated tokens).
//
// Layer numbering (checked in test/llama-steering.test.ts): layer `il` is llama.cpp's 0-based block index,
// as in the graph tensor `l_out-<il>` = the residual stream after block il (Hugging Face `hidden_states[il+1]`).
// Control vectors use the same il: `setControlVector` with layer L adds to `l_out-L`; layer 0 cannot be
// steered (llama.cpp keeps no vector for it), so steerable layers are 1 … nLayer − 1.
import { randomInt } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import koffi from "koffi";
import { z } from "zod";
import type { ChatMessage } from "../types.js";
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
  type RawPtr,
} from "./ffi.js";
import { EvalHooks } from "./hooks.js";
import { clearLog, recentProblems } from "./log.js";
import { tokenLogProb } from "./logprob.js";
import { Mutex } from "./mutex.js";
import { createSampler } from "./sampler.js";
import { StopMatcher } from "./stop.js";
import { type TokenizeOptions, Vocab } from "./vocab.js";

// ---------------------------------------------------------------------------------------------------------
// Public types.

export interface LlamaEngineOptions {
  /** CPU threads for decoding (default: os.availableParallelism()). */
  threads?: number;
  /** Context window in tokens (default: min(training context, 4096)). */
  contextSize?: number;
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
  /** The context size actually allocated (llama.cpp may round the request). */
  contextSize: number;
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

export type GenerateRequest = PromptInput & {
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
};

export type FinishReason = "eog" | "stop_string" | "max_tokens" | "context_full";

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
    chatTemplate: z.string().min(1).optional(),
    hooks: z.boolean().optional(),
    gpu: z.union([z.enum(["auto", "cuda", "vulkan", "metal"]), z.literal(false)]).optional(),
    gpuLayers: z.number().int().min(0).optional(),
  })
  .strict();
const MessageSchema = z
  .object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })
  .strict();
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
  })
  .strict();
const CaptureSchema = z
  .object({
    ...promptFields,
    tokens: z.array(z.number().int().min(0)).min(1).optional(),
    layers: z.array(z.number().int().min(0)).min(1),
    positions: z.union([z.literal("last"), z.literal("all"), z.array(z.number().int()).min(1)]).optional(),
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

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error("generation aborted");
  e.name = "AbortError";
  return e;
}

// ---------------------------------------------------------------------------------------------------------

export class LlamaEngine {
  readonly info: LlamaModelInfo;
  private readonly fn: LlamaFunctions;
  private readonly vocab: Vocab;
  private readonly mutex = new Mutex();
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
  private logitsType: ReturnType<typeof koffi.array> | undefined;

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
      const threads = opts.threads ?? availableParallelism();
      const contextSize = opts.contextSize ?? Math.min(nCtxTrain > 0 ? nCtxTrain : 4096, 4096);
      const batchSize = Math.min(opts.batchSize ?? 512, contextSize);
      if (opts.hooks !== false) hooks = new EvalHooks(fn, nEmbd);

      const cp = fn.llama_context_default_params();
      cp.n_ctx = contextSize;
      // n_batch = n_ubatch: one llama_decode call is one graph evaluation, which the hooks' row mapping needs.
      cp.n_batch = batchSize;
      cp.n_ubatch = batchSize;
      cp.n_seq_max = 1;
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
        contextSize: fn.llama_n_ctx(ctx),
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

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const req = parse(GenerateSchema, request, "generate request");
    exactlyOneSource(req, ["prompt", "messages"], "generate request");
    return this.exclusive(() => this.runGenerate(req));
  }

  private async runGenerate(req: z.infer<typeof GenerateSchema>): Promise<GenerateResult> {
    const t0 = performance.now();
    const { text: promptText, tokens: promptTokens } = this.promptTokens(req);
    const maxTokens = req.maxTokens ?? 256;
    const temperature = req.temperature ?? 1;
    const seed = temperature === 0 ? undefined : (req.seed ?? this.defaultSeed ?? randomInt(0, 0xffffffff));
    const stops = new StopMatcher(req.stop ?? []);
    const nCtx = this.info.contextSize;
    if (promptTokens.length >= nCtx) {
      throw new RangeError(`the prompt has ${promptTokens.length} tokens; the context holds ${nCtx}`);
    }
    if (req.signal?.aborted) throw abortError(req.signal);

    this.clearMemory();
    this.decodeRange(promptTokens, 0, (p) => p === promptTokens.length - 1);
    const t1 = performance.now();

    const ctx = this.ctx!;
    const sampler = createSampler(this.fn, { temperature, topP: req.topP ?? 1, seed: seed ?? 0 });
    const generated: number[] = [];
    const decoder = new TextDecoder("utf-8");
    let text = "";
    let emitted = 0;
    const emit = (upTo: number) => {
      if (req.onText && upTo > emitted) {
        req.onText(text.slice(emitted, upTo));
        emitted = upTo;
      }
    };
    let finishReason: FinishReason = "max_tokens";
    let nPast = promptTokens.length;
    const all = [...promptTokens];
    try {
      for (;;) {
        if (generated.length >= maxTokens) break;
        const token = this.fn.llama_sampler_sample(sampler, ctx, -1);
        if (this.vocab.isEog(token)) {
          finishReason = "eog";
          break;
        }
        generated.push(token);
        all.push(token);
        const before = text.length;
        text += decoder.decode(this.vocab.piece(token), { stream: true });
        const at = stops.find(text, before);
        if (at !== -1) {
          text = text.slice(0, at);
          finishReason = "stop_string";
          break;
        }
        emit(text.length - stops.holdback);
        if (generated.length >= maxTokens) break;
        if (nPast >= nCtx) {
          finishReason = "context_full";
          break;
        }
        this.decodeRange(all, nPast, () => true);
        nPast++;
        // Let timers and I/O run between tokens (the decode itself blocks the thread).
        await yieldToEventLoop();
        if (req.signal?.aborted) throw abortError(req.signal);
      }
      if (finishReason !== "stop_string") text += decoder.decode();
      emit(text.length);
    } finally {
      this.fn.llama_sampler_free(sampler);
    }
    const t2 = performance.now();
    const promptMs = t1 - t0;
    const generationMs = t2 - t1;
    return {
      text,
      tokens: generated,
      prompt: promptText,
      promptTokens: promptTokens.length,
      completionTokens: generated.length,
      finishReason,
      seed,
      timings: {
        promptMs,
        generationMs,
        totalMs: t2 - t0,
        promptTokensPerSecond: promptMs > 0 ? (promptTokens.length * 1000) / promptMs : 0,
        generationTokensPerSecond: generationMs > 0 ? (generated.length * 1000) / generationMs : 0,
      },
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // Hidden states.

  /**
   * Runs the prompt through the model and returns, per requested layer il, the `l_out-<il>` row (nEmbd floats)
   * at each requested position, in the order asked. With a control vector set, rows include it.
   */
  async captureHiddenStates(request: CaptureRequest): Promise<Map<number, Float32Array[]>> {
    const req = parse(CaptureSchema, request, "captureHiddenStates request");
    exactlyOneSource(req, ["prompt", "messages", "tokens"], "captureHiddenStates request");
    return this.exclusive(async () => {
      const hooks = this.hooks;
      if (!hooks) throw new Error("captureHiddenStates needs the engine loaded with hooks: true");
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
      // The last block only computes output rows, so make the wanted positions outputs when it is asked for.
      const lastLayer = this.info.nLayer - 1;
      const outputs = new Set<number>([n - 1, ...(layers.includes(lastLayer) ? positions : [])]);
      this.clearMemory();
      hooks.beginCapture(layers, positions);
      let rows: Map<number, Map<number, Float32Array>>;
      try {
        this.decodeRange(tokens, 0, (p) => outputs.has(p));
      } finally {
        rows = hooks.endCapture();
      }
      const result = new Map<number, Float32Array[]>();
      for (const il of layers) {
        const byPos = rows.get(il);
        result.set(
          il,
          positions.map((p) => {
            const row = byPos?.get(p);
            if (!row) throw new Error(`layer ${il} produced no hidden state for position ${p}`);
            return row;
          }),
        );
      }
      return result;
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Control vectors.

  /**
   * Sets (replaces) the control vector: `l_out-<il> += strength × data.get(il)` for layerStart ≤ il ≤ layerEnd,
   * at every position, for all later calls until cleared.
   */
  async setControlVector(spec: ControlVectorSpec): Promise<void> {
    return this.exclusive(() => {
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
    return this.exclusive(() => {
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
   */
  async scoreContinuations(prompt: string | ChatMessage[], continuations: string[]): Promise<number[]> {
    const input = parse(
      z.object({
        prompt: z.union([z.string(), z.array(MessageSchema).min(1)]),
        continuations: z.array(z.string()),
      }),
      { prompt, continuations },
      "scoreContinuations arguments",
    );
    return this.exclusive(async () => {
      const {
        text,
        tokens: promptTokens,
        parseSpecial,
      } = this.promptTokens(
        typeof input.prompt === "string" ? { prompt: input.prompt } : { messages: input.prompt },
      );
      if (promptTokens.length === 0) throw new RangeError("the prompt has no tokens to condition on");
      this.clearMemory();
      let cached: number[] = [];
      const scores: number[] = [];
      for (const [ci, continuation] of input.continuations.entries()) {
        let full = this.vocab.tokenize(text + continuation, { addSpecial: true, parseSpecial });
        if (!startsWith(full, promptTokens)) {
          full = [
            ...promptTokens,
            ...this.vocab.tokenize(continuation, { addSpecial: false, parseSpecial: false }),
          ];
        }
        const from = promptTokens.length;
        if (full.length === from) {
          scores.push(0);
          continue;
        }
        if (full.length - 1 > this.info.contextSize) {
          throw new RangeError(
            `continuation ${ci}: prompt + continuation is ${full.length} tokens; the context holds ${this.info.contextSize}`,
          );
        }
        // Reuse the cached prefix, but re-run at least the token before the continuation for its logits.
        let keep = Math.min(commonPrefix(cached, full), from - 1);
        if (!this.fn.llama_memory_seq_rm(this.mem, 0, keep, -1)) {
          this.clearMemory();
          keep = 0;
        }
        const upTo = full.slice(0, full.length - 1);
        let logProb = 0;
        this.decodeRange(
          upTo,
          keep,
          (p) => p >= from - 1,
          (outputs) => {
            const logits = this.fn.llama_get_logits(this.ctx!);
            if (logits === null) throw new Error("llama_get_logits returned NULL");
            // Rows are the batch's outputs in batch order; row j predicts the token after outputs[j].
            for (const [j, p] of outputs.entries())
              logProb += tokenLogProb(this.logitsRow(logits, j), full[p + 1]!);
          },
        );
        cached = upTo;
        scores.push(logProb);
        await yieldToEventLoop();
      }
      return scores;
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Lifecycle.

  /** Frees the context and model (after any running operation). Later calls throw. Safe to call twice. */
  dispose(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    return this.mutex.run(() => {
      if (this.disposed) return;
      this.disposed = true;
      this.batch.free();
      if (this.ctx) this.fn.llama_free(this.ctx);
      this.ctx = undefined;
      // The callback may only go after the context that calls it.
      this.hooks?.dispose();
      this.hooks = undefined;
      if (this.model) this.fn.llama_model_free(this.model);
      this.model = undefined;
    });
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  // -------------------------------------------------------------------------------------------------------
  // Internals.

  private assertLive(): void {
    if (this.disposed) throw new Error("this LlamaEngine has been disposed");
  }

  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    this.assertLive();
    return this.mutex.run(() => {
      this.assertLive();
      return fn();
    });
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

  private clearMemory(): void {
    this.fn.llama_memory_clear(this.mem, true);
  }

  /**
   * Decodes tokens[from…] at positions from… (position = index), in batches of at most batchSize, asking for
   * logits where `output(pos)`; `afterBatch(outputs)` gets each batch's output positions while its logits are
   * valid.
   */
  private decodeRange(
    tokens: readonly number[],
    from: number,
    output: (pos: number) => boolean,
    afterBatch?: (outputs: number[]) => void,
  ): void {
    const ctx = this.ctx!;
    for (let start = from; start < tokens.length; start += this.batch.capacity) {
      const count = Math.min(this.batch.capacity, tokens.length - start);
      const value = this.batch.fill(tokens, start, count, output);
      const outs: number[] = [];
      for (let p = start; p < start + count; p++) if (output(p)) outs.push(p);
      if (this.hooks?.active) this.hooks.beginBatch(start, count, outs);
      clearLog();
      const rc = this.fn.llama_decode(ctx, value);
      const hookError = this.hooks?.takeError();
      if (rc !== 0) {
        const why =
          rc === 1
            ? "no room in the KV cache"
            : rc === 2
              ? "aborted"
              : rc === -1
                ? "invalid batch"
                : "fatal error";
        throw new Error(`llama_decode failed (${rc}: ${why}) at position ${start}: ${recentProblems()}`);
      }
      if (hookError) throw new Error(`eval callback failed: ${hookError.message}`);
      afterBatch?.(outs);
    }
  }

  /** A copy of logits row j of the last decode (decoded, not viewed: see batch.ts). */
  private logitsRow(logits: RawPtr, j: number): Float32Array {
    this.logitsType ??= koffi.array("float", this.info.nVocab, "Typed");
    return koffi.decode(logits, j * this.info.nVocab * 4, this.logitsType) as Float32Array;
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

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
