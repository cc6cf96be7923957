// What `serve` needs from the embedded engine, behind one small interface: counting a prompt's tokens before
// admitting it, checking a steering vector against the model before any response starts, and generating
// with a per-request AbortSignal. Generation goes through the llama provider, which owns per-request
// steering (per sequence), so `--parallel N` keeps N `engine.generate()` calls in flight and the engine
// decodes them together in one context with N KV slots.

import { basename } from "node:path";
import { controlVectorSpec, SteeringError } from "../llama/apply-steering.js";
import { countPromptTokens } from "../llama/fit-prompt.js";
import type { LlamaGenerateRequest, LlamaProviderOptions } from "../providers/llama-provider.js";
import { createLlamaProvider } from "../providers/llama-provider.js";
import type { ActivationSteering, ChatMessage } from "../types.js";

export interface BackendRequest {
  messages: ChatMessage[];
  raw: boolean;
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  steering?: ActivationSteering;
  signal: AbortSignal;
  onText: (piece: string) => void;
}

export interface BackendResult {
  /** The answer, stripped of surrounding whitespace (the streamed pieces are the raw text). */
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: "stop" | "length";
}

export interface GenerationBackend {
  /** The id `/v1/models` lists. */
  readonly modelId: string;
  /** Model names a request may use for this model. */
  readonly modelNames: ReadonlySet<string>;
  readonly contextSize: number;
  /** Most UTF-8 bytes one token stands for (so a longer text cannot fit in the context, untokenized). */
  readonly maxTokenBytes: number;
  countPromptTokens(messages: ChatMessage[], raw: boolean): number;
  /** Loads and checks a vector against the model; throws SteeringError naming what is wrong. */
  checkSteering(steering: ActivationSteering): Promise<void>;
  generate(req: BackendRequest): Promise<BackendResult>;
  close(): Promise<void>;
}

/** As the llama provider joins a raw prompt's parts. */
const RAW_JOINER = "\n\n";

export async function createLlamaBackend(
  model: string,
  opts: Omit<LlamaProviderOptions, "thinking">,
): Promise<GenerationBackend> {
  // `parallel` KV slots: the engine batches the server's N generations in flight (continuous batching).
  const provider = await createLlamaProvider(model, {
    threads: opts.threads,
    contextSize: opts.contextSize,
    ...(opts.gpu !== undefined ? { gpu: opts.gpu } : {}),
    ...(opts.gpuLayers !== undefined ? { gpuLayers: opts.gpuLayers } : {}),
    parallel: opts.parallel ?? 1,
    ...(opts.chatTemplate !== undefined ? { chatTemplate: opts.chatTemplate } : {}),
  });
  const { engine } = provider;
  const modelId = basename(model).replace(/\.gguf$/i, "");
  let maxTokenBytes = 1;
  for (let t = 0; t < engine.info.nVocab; t++) {
    // Special tokens count with their text: templated prompts are tokenized with special-token parsing.
    const bytes = Buffer.byteLength(engine.detokenize([t], { unparseSpecial: true }), "utf8");
    if (bytes > maxTokenBytes) maxTokenBytes = bytes;
  }
  return {
    modelId,
    modelNames: new Set([modelId, basename(model), model]),
    contextSize: engine.info.contextSize,
    maxTokenBytes,
    countPromptTokens: (messages, raw) =>
      countPromptTokens(engine, raw ? messages.map((m) => m.content).join(RAW_JOINER) : messages),
    async checkSteering(steering) {
      await controlVectorSpec(steering, engine.info);
    },
    async generate(req) {
      const request: LlamaGenerateRequest & { rawPrompt: boolean; onText: (piece: string) => void } = {
        messages: req.messages,
        rawPrompt: req.raw,
        maxTokens: req.maxTokens,
        temperature: req.temperature,
        topP: req.topP,
        seed: req.seed,
        stop: req.stop,
        steering: req.steering,
        signal: req.signal,
        onText: req.onText,
      };
      const gen = await provider.generate(request);
      return {
        text: gen.response,
        promptTokens: gen.promptTokens ?? 0,
        completionTokens: gen.completionTokens ?? 0,
        finishReason:
          gen.finishReason === "max_tokens" || gen.finishReason === "context_full" ? "length" : "stop",
      };
    },
    close: () => provider.close(),
  };
}

export { SteeringError };
