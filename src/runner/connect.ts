// Turns model and judge entries of a run config into live providers and judges. API keys are read
// here, from the environment or a key file, and go no further than the provider's headers.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { providerKind } from "../config/provider-kinds.js";
import type { JudgeConfig, ModelConfig } from "../config/run-config.js";
import { modelLabel } from "../config/run-config.js";
import type { ConnectedJudge } from "../judge/connected.js";
import { createJudge, type JudgeCache } from "../judge/index.js";
import { bindJudgePrompt } from "../protocol/judge-prompts.js";
import { multiEndpointFactory } from "../providers/multi-endpoint.js";
import { createOpenAICompatibleProvider } from "../providers/openai-compatible.js";
import { ConnectError, type ModelProvider } from "../providers/provider.js";
import type { Store } from "../store/store.js";
import type { ProtocolStrings } from "../types.js";
import { Limiter } from "../util/limiter.js";

export type { ConnectedJudge } from "../judge/connected.js";
export { ConnectError } from "../providers/provider.js";

export interface Connected {
  provider: ModelProvider;
  limiter: Limiter;
}

export interface ConnectContext {
  strings: ProtocolStrings;
  /** Where judge replies are cached by content (the run's store). */
  cache?: JudgeCache;
  /** Default requests in flight per endpoint. */
  concurrency: number;
  env?: Readonly<Record<string, string | undefined>>;
}

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

export async function connectModel(m: ModelConfig, ctx: ConnectContext): Promise<Connected> {
  const concurrency = m.concurrency ?? ctx.concurrency;
  const kind = providerKind(m.provider);
  if (kind?.canGenerate !== true) {
    throw new ConnectError(
      `${modelLabel(m)}: "${m.provider}" is a judge provider; it cannot generate responses`,
    );
  }
  if (m.provider === "llama") {
    // Loaded lazily: HTTP-only runs never load the native engine. One llama.cpp context decodes up to
    // `parallel` requests together (continuous batching).
    const { createLlamaModel } = await import("../providers/llama-provider.js");
    const parallel = m.concurrency ?? kind.defaultConcurrency?.(ctx.concurrency) ?? ctx.concurrency;
    return { provider: await createLlamaModel(m, parallel), limiter: new Limiter(parallel) };
  }
  const provider = httpProvider(m, ctx, m.thinking);
  const urls = m.baseUrls?.length ?? 1;
  return { provider, limiter: new Limiter(concurrency * urls) };
}

export async function connectJudge(j: JudgeConfig, ctx: ConnectContext): Promise<ConnectedJudge> {
  if (providerKind(j.provider)?.canJudge !== true) {
    throw new ConnectError(`${modelLabel(j)}: "${j.provider}" cannot judge`);
  }
  // The local kinds are loaded lazily, so runs that never use them never load them.
  if (j.provider === "llama") {
    const { connectLlamaJudge } = await import("../judge/llama-judge.js");
    return connectLlamaJudge(j, ctx);
  }
  if (j.provider === "classifier") {
    const { connectClassifierJudge } = await import("../judge/classifier/connect.js");
    return connectClassifierJudge(j);
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
