import type { ModelConfig } from "../config/run-config.js";
import type { GpuRequest } from "../llama/backend.js";
import { defaultThreads, LlamaEngine, type LlamaEngineOptions } from "../llama/engine.js";
import { resolveModelFile } from "../llama/model-source.js";
import type { SequenceSteeringSpec } from "../llama/steer-ops.js";
import type { BoundJudgePrompt } from "../protocol/judge-prompts.js";
import type { ActivationSteering, Generation, Label } from "../types.js";
import type { GenerateRequest, ModelProvider } from "./provider.js";
import { pyStrip, splitThinking } from "./thinking.js";

interface SharedEngine {
  engine: LlamaEngine;
  users: number;
}

const engines = new Map<string, Promise<SharedEngine>>();

/** What an engine is loaded with; engines are shared only between users asking for the same. */
type EngineOptions = Pick<
  LlamaEngineOptions,
  "threads" | "contextSize" | "gpu" | "gpuLayers" | "parallel" | "chatTemplate"
>;

function engineKey(path: string, o: EngineOptions): string {
  return [
    path,
    o.threads ?? "",
    o.contextSize ?? "",
    o.gpu ?? "",
    o.gpuLayers ?? "",
    o.chatTemplate ?? "",
  ].join("\u0000");
}

export { defaultThreads } from "../llama/engine.js";

/**
 * The shared engine for a model file. Its parallelism is fixed when it is loaded (the first user's, normally
 * the run's subject model); later users with a different `parallel` share it and queue in its slots.
 */
async function acquireEngine(path: string, o: EngineOptions): Promise<SharedEngine> {
  const key = engineKey(path, o);
  let entry = engines.get(key);
  if (!entry) {
    entry = LlamaEngine.load(path, o).then((engine) => ({
      engine,
      users: 0,
    }));
    engines.set(key, entry);
    entry.catch(() => engines.delete(key));
  }
  const shared = await entry;
  shared.users++;
  return shared;
}

async function releaseEngine(path: string, o: EngineOptions, shared: SharedEngine) {
  shared.users--;
  if (shared.users === 0) {
    engines.delete(engineKey(path, o));
    await shared.engine.dispose();
  }
}

/** A condition's activation steering as the engine's per-sequence spec (vector file read through a cache). */
async function sequenceSteering(
  steering: ActivationSteering | undefined,
  info: LlamaEngine["info"],
): Promise<SequenceSteeringSpec | undefined> {
  if (!steering) return undefined;
  const { controlVectorSpec } = await import("../llama/apply-steering.js");
  return controlVectorSpec(steering, info);
}

export interface LlamaProviderOptions {
  threads?: number;
  contextSize?: number;
  gpu?: GpuRequest;
  gpuLayers?: number;
  /** Sequences decoded together (default 1); see LlamaEngineOptions.parallel. */
  parallel?: number;
  /** See LlamaEngineOptions.chatTemplate (default: the GGUF's own). */
  chatTemplate?: string;
  thinking?: boolean;
}

/** What the llama provider's generate takes beyond the common request. */
export interface LlamaGenerateRequest extends GenerateRequest {
  /** Join the messages' contents instead of applying the chat template. */
  rawPrompt?: boolean;
  onText?: (piece: string) => void;
  /**
   * Prompt + max_tokens beyond the window: "cap" (default) caps max_tokens and says so in the result;
   * "error" refuses with a ContextOverflowError (for servers that answer 400).
   */
  contextOverflow?: "cap" | "error";
}

/** A ModelProvider over an in-process GGUF model. */
export async function createLlamaProvider(
  modelRef: string,
  opts: LlamaProviderOptions = {},
): Promise<
  ModelProvider & { engine: LlamaEngine; generate(req: LlamaGenerateRequest): Promise<Generation> }
> {
  const path = await resolveModelFile(modelRef);
  const o: EngineOptions = {
    threads: opts.threads ?? defaultThreads(path),
    contextSize: opts.contextSize,
    parallel: opts.parallel,
    ...(opts.gpu !== undefined ? { gpu: opts.gpu } : {}),
    ...(opts.gpuLayers !== undefined ? { gpuLayers: opts.gpuLayers } : {}),
    ...(opts.chatTemplate !== undefined ? { chatTemplate: opts.chatTemplate } : {}),
  };
  const shared = await acquireEngine(path, o);
  let closed = false;
  return {
    id: `llama:${path}`,
    model: modelRef,
    engine: shared.engine,
    async generate(req: LlamaGenerateRequest): Promise<Generation> {
      const started = performance.now();
      const engine = shared.engine;
      const input = req.rawPrompt ? req.messages.map((m) => m.content).join("\n\n") : req.messages;
      // Context-length honesty: the prompt is never cut to make room for the answer; max_tokens is capped to
      // the room left (reported). Only a prompt that alone fills the window is cut, from the front, inside
      // the message texts (never the template's markup), keeping the steering text and the turn (reported).
      const result = await engine.generate({
        ...(typeof input === "string" ? { prompt: input } : { messages: input }),
        maxTokens: req.maxTokens ?? 256,
        temperature: req.temperature ?? 0,
        topP: req.topP,
        seed: req.seed,
        stop: req.stop,
        signal: req.signal,
        onText: req.onText,
        steering: await sequenceSteering(req.steering, engine.info),
        truncatePrompt: req.contextOverflow !== "error",
        contextOverflow: req.contextOverflow ?? "cap",
      });
      // As the paper's runner: the answer is stripped; thinking models are split at the last </think>.
      const split = opts.thinking
        ? splitThinking(result.text)
        : { thinking: undefined, response: pyStrip(result.text) };
      return {
        response: split.response,
        thinking: split.thinking ?? undefined,
        promptTokens: result.promptTokens,
        completionTokens: result.completionTokens,
        latencyMs: performance.now() - started,
        finishReason: result.finishReason,
        ...(result.maxTokensCapped ? { maxTokensCapped: result.maxTokensCapped } : {}),
        ...(result.promptTruncated ? { promptTruncated: result.promptTruncated } : {}),
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await releaseEngine(path, o, shared);
    },
  };
}

/** Where the label goes in each judge format, so scoring asks the model exactly one question. */
export function labelCue(format: BoundJudgePrompt["format"]): {
  cue: string;
  continuation: (l: Label) => string;
} {
  return format === "json"
    ? { cue: '{"decision": "', continuation: (l) => `${l}"` }
    : { cue: "DECISION: ", continuation: (l) => `${l}\n` };
}

/** The provider for a config's `provider: llama` model; `parallel` sequences decode together. */
export async function createLlamaModel(m: ModelConfig, parallel: number): Promise<ModelProvider> {
  return createLlamaProvider(m.model, {
    threads: m.threads,
    contextSize: m.contextSize,
    gpu: m.gpu,
    gpuLayers: m.gpuLayers,
    parallel,
    chatTemplate: m.chatTemplate,
    thinking: m.thinking,
  });
}
