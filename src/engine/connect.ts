// Turns model and judge entries of a run config into live providers and judges. API keys are read
// here, from the environment or a key file, and go no further than the provider's headers.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import type { JudgeConfig, ModelConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import { createJudge, type JudgeCache, type JudgeInput } from "../judge/index.js";
import { bindJudgePrompt } from "../protocol/judge-prompts.js";
import { multiEndpointFactory } from "../providers/multi-endpoint.js";
import { createOpenAICompatibleProvider } from "../providers/openai-compatible.js";
import type { GenerateRequest, ModelProvider } from "../providers/provider.js";
import type { Store } from "../store/store.js";
import type { ActivationSteering, ProtocolStrings, Verdict } from "../types.js";
import { Limiter } from "./limiter.js";

/** A generation request as the engine makes it: activation steering travels with it for in-process engines. */
export interface EngineRequest extends GenerateRequest {
  steering?: ActivationSteering;
}

export interface EngineProvider extends Omit<ModelProvider, "generate"> {
  generate(req: EngineRequest): ReturnType<ModelProvider["generate"]>;
}

export interface Connected {
  provider: EngineProvider;
  limiter: Limiter;
}

export interface ConnectedJudge {
  judge(input: JudgeInput, signal?: AbortSignal): Promise<Verdict>;
  limiter: Limiter;
  /** One cheap request before the run starts (see ModelProvider.preflight). */
  preflight?(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectContext {
  strings: ProtocolStrings;
  /** Where judge replies are cached by content (the run's store). */
  cache?: JudgeCache;
  /** Default requests in flight per endpoint. */
  concurrency: number;
  env?: Readonly<Record<string, string | undefined>>;
}

export class ConnectError extends Error {}

/** The API key for an endpoint: apiKeyFile, else apiKeyEnv, else OPENAI_API_KEY if set; none is fine for local servers. */
export function resolveApiKey(
  e: { apiKeyEnv?: string | undefined; apiKeyFile?: string | undefined },
  label: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  if (e.apiKeyFile) {
    const path = e.apiKeyFile.startsWith("~/") ? `${homedir()}${e.apiKeyFile.slice(1)}` : e.apiKeyFile;
    try {
      const key = readFileSync(path, "utf8").trim();
      if (key === "") throw new ConnectError(`${label}: key file ${path} is empty`);
      return key;
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      throw new ConnectError(
        `${label}: cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
      );
    }
  }
  if (e.apiKeyEnv) {
    const key = env[e.apiKeyEnv];
    if (key === undefined || key === "") {
      throw new ConnectError(`${label}: environment variable ${e.apiKeyEnv} is not set`);
    }
    return key;
  }
  const fallback = env.OPENAI_API_KEY;
  return fallback === undefined || fallback === "" ? undefined : fallback;
}

type Endpoint = ModelConfig | JudgeConfig;

function httpProvider(e: Endpoint, ctx: ConnectContext, thinking: boolean): ModelProvider {
  const label = modelLabel(e);
  const urls = e.baseUrls ?? (e.baseUrl ? [e.baseUrl] : []);
  if (urls.length === 0) throw new ConnectError(`${label}: no baseUrl`);
  const concurrency = e.concurrency ?? ctx.concurrency;
  const apiKey = resolveApiKey(e, label, ctx.env);
  const make = (baseUrl: string) =>
    createOpenAICompatibleProvider({
      baseUrl,
      model: e.model,
      apiKey,
      mode: e.provider === "openai-completions" ? "completions" : "chat",
      timeoutMs: e.timeoutMs,
      concurrency,
      headers: e.headers,
      thinking: { stripThinkTags: thinking },
    });
  if (urls.length === 1) return make(urls[0]!);
  return createMultiEndpoint(urls.map(make), concurrency);
}

/** Several endpoints serving one model: least-loaded routing, failover, adaptive concurrency. Overridable. */
let createMultiEndpoint: (providers: ModelProvider[], concurrency: number) => ModelProvider =
  multiEndpointFactory;

export function setMultiEndpointFactory(
  factory: (providers: ModelProvider[], concurrency: number) => ModelProvider,
): void {
  createMultiEndpoint = factory;
}

/**
 * In-process providers register here (the embedded llama.cpp engine), so HTTP-only users never load them.
 * `parallel` is how many requests the run keeps in flight on the model (its limiter's size).
 */
export type LocalModelFactory = (m: ModelConfig, parallel: number) => Promise<EngineProvider>;
export type LocalJudgeFactory = (j: JudgeConfig, ctx: ConnectContext) => Promise<ConnectedJudge>;
const localModels = new Map<string, LocalModelFactory>();
const localJudges = new Map<string, LocalJudgeFactory>();

export function registerLocalProvider(
  kind: string,
  model: LocalModelFactory,
  judge?: LocalJudgeFactory,
): void {
  localModels.set(kind, model);
  if (judge) localJudges.set(kind, judge);
}

async function loadLocal(kind: string): Promise<void> {
  if (localModels.has(kind)) return;
  if (kind === "llama") await import("../providers/llama-provider.js");
  if (kind === "classifier") await import("../reliability/classifier/provider.js");
}

/**
 * Sequences in flight on a local model whose config gives no `concurrency`: the run's, at most 4. Every
 * sequence reserves a whole context window of KV cache, and with one unified cache each token attends over
 * every active sequence's cells, so 16 slots of a large context cost memory and time.
 */
export function localParallel(runConcurrency: number): number {
  return Math.max(1, Math.min(runConcurrency, 4));
}

export async function connectModel(m: ModelConfig, ctx: ConnectContext): Promise<Connected> {
  const concurrency = m.concurrency ?? ctx.concurrency;
  if (m.provider === "llama") {
    await loadLocal("llama");
    const factory = localModels.get("llama");
    if (!factory) throw new ConnectError(`${modelLabel(m)}: the llama provider is not available`);
    // One llama.cpp context decodes up to `parallel` requests together (continuous batching).
    const parallel = m.concurrency ?? localParallel(ctx.concurrency);
    return { provider: await factory(m, parallel), limiter: new Limiter(parallel) };
  }
  const provider = httpProvider(m, ctx, m.thinking);
  const urls = m.baseUrls?.length ?? 1;
  return { provider, limiter: new Limiter(concurrency * urls) };
}

export async function connectJudge(j: JudgeConfig, ctx: ConnectContext): Promise<ConnectedJudge> {
  if (j.provider === "llama" || j.provider === "classifier") {
    await loadLocal(j.provider);
    const factory = localJudges.get(j.provider);
    if (!factory) throw new ConnectError(`${modelLabel(j)}: the ${j.provider} judge is not available`);
    return factory(j, ctx);
  }
  const provider = httpProvider(j, ctx, true);
  const preset = bindJudgePrompt(j.prompt, ctx.strings);
  const judge = createJudge({
    provider,
    preset,
    retries: j.retries,
    maxTokens: j.maxTokens,
    temperature: j.temperature,
    cache: ctx.cache,
  });
  const urls = j.baseUrls?.length ?? 1;
  return {
    judge: (input, signal) => judge.judge(input, signal),
    preflight: (signal) => provider.preflight?.(signal) ?? Promise.resolve(),
    limiter: new Limiter((j.concurrency ?? ctx.concurrency) * urls),
    close: () => provider.close(),
  };
}

/** The store as the judge cache: replies survive restarts, so re-judging never repeats a call. */
export function storeJudgeCache(store: Store): JudgeCache {
  return {
    get: (key) => store.getCachedReply(key),
    set: (key, reply) => store.setCachedReply(key, reply),
  };
}
