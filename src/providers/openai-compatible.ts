// A provider for any OpenAI-compatible HTTP server: vLLM, Ollama (`http://host:11434/v1`), the llama.cpp
// server, OpenAI, OpenRouter. `baseUrl` includes the version prefix (`.../v1`); we POST to
// `{baseUrl}/chat/completions` (mode "chat") or `{baseUrl}/completions` (mode "completions").
//
// Completions mode is for base models served without a chat template: the prompt is the messages'
// contents joined by "\n\n" in order (roles are not rendered), i.e. `system + "\n\n" + user` for the usual
// pair — the same text the 2601.01584 runner builds on its non-chat path (it strips the system message,
// which BuiltPrompt already has done). Empty messages are skipped so a missing system adds no blank lines.
//
// Output: `reasoning_content` (vLLM, DeepSeek) or `reasoning` (OpenRouter, Ollama) becomes `thinking`;
// with `thinking.stripThinkTags` (default true) content containing `</think>` is split at the LAST one,
// see thinking.ts. The response is always Python-`.strip()`ed, as the paper does for every model.
//
// Undici directly (not fetch / the openai SDK): one Pool per provider with `connections = concurrency`,
// keep-alive and no pipelining; this is several times cheaper per request at high concurrency.
// Secrets: the API key is only put into the Authorization header. It is not a property of the provider,
// and every error message is built from redacted text.
import { Pool } from "undici";
import { z } from "zod";
import type { ChatMessage, Generation } from "../types.js";
import type { GenerateRequest, ModelProvider } from "./provider.js";
import { ProviderError } from "./provider.js";
import { isSecretHeader, redact } from "./redact.js";
import { parseRetryAfter } from "./retry.js";
import { pyStrip, splitThinking, THINK_CLOSE } from "./thinking.js";

export type OpenAIMode = "chat" | "completions";

export interface OpenAICompatibleOptions {
  /** e.g. `http://127.0.0.1:8000/v1`; no credentials, query or fragment. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  mode: OpenAIMode;
  /** Whole-request limit (queueing in the pool, headers and body), in milliseconds. */
  timeoutMs: number;
  /** Connections to the server; callers should not have more requests in flight than this. */
  concurrency: number;
  headers?: Record<string, string>;
  thinking?: { stripThinkTags: boolean };
}

const optionsSchema = z.object({
  baseUrl: z.string().min(1),
  model: z.string().min(1),
  apiKey: z.string().optional(),
  mode: z.enum(["chat", "completions"]),
  timeoutMs: z.number().int().positive(),
  concurrency: z.number().int().positive().max(4096),
  headers: z.record(z.string(), z.string()).optional(),
  thinking: z.object({ stripThinkTags: z.boolean() }).optional(),
});

// Only the fields we read are validated; zod ignores the rest of the (possibly large) reply.
const text = z.string().nullish();
const count = z.number().nullish();
const envelopeSchema = z.object({
  choices: z.array(z.unknown()).min(1),
  usage: z.object({ prompt_tokens: count, completion_tokens: count }).nullish(),
});
const chatChoiceSchema = z.object({
  message: z.object({ content: text, reasoning_content: text, reasoning: text }),
  finish_reason: z.string().nullish(),
});
const completionChoiceSchema = z.object({ text: z.string(), finish_reason: z.string().nullish() });

const EXCERPT_CHARS = 200;

function parseBaseUrl(baseUrl: string): { origin: string; basePath: string } {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`provider option "baseUrl": not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`provider option "baseUrl": must be http(s), got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new Error(`provider option "baseUrl": must not contain credentials; use apiKey`);
  }
  if (url.search || url.hash) {
    throw new Error(`provider option "baseUrl": must not contain a query or fragment`);
  }
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, "") };
}

/** The completions-mode prompt: message contents joined by a blank line (see the file comment). */
export function completionPrompt(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) => m.content)
    .filter((c) => c.length > 0)
    .join("\n\n");
}

function nonEmpty(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const stripped = pyStrip(value);
  return stripped.length > 0 ? stripped : undefined;
}

export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): ModelProvider {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`provider option "${issue.path.join(".")}": ${issue.message}`);
  }
  const { model, apiKey, mode, timeoutMs, concurrency } = parsed.data;
  const stripThinkTags = parsed.data.thinking?.stripThinkTags ?? true;
  const { origin, basePath } = parseBaseUrl(parsed.data.baseUrl);
  const path = `${basePath}${mode === "chat" ? "/chat/completions" : "/completions"}`;

  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const secrets: string[] = apiKey ? [apiKey] : [];
  for (const [name, value] of Object.entries(parsed.data.headers ?? {})) {
    headers[name.toLowerCase()] = value;
    if (isSecretHeader(name)) secrets.push(value);
  }

  const pool = new Pool(origin, {
    connections: concurrency,
    pipelining: 1,
    // Our own timer bounds each request; undici's are a backstop a little later.
    headersTimeout: timeoutMs + 1000,
    bodyTimeout: timeoutMs + 1000,
  });
  let closed = false;

  const excerpt = (body: string): string => {
    const clean = redact(body, secrets).replace(/\s+/g, " ").trim();
    return clean.length > EXCERPT_CHARS ? `${clean.slice(0, EXCERPT_CHARS)}…` : clean;
  };

  const buildBody = (req: GenerateRequest): Record<string, unknown> => {
    // extraBody first: it may add fields, but cannot replace the model, the input or streaming.
    const body: Record<string, unknown> = { ...req.extraBody, model, stream: false };
    if (mode === "chat") body.messages = req.messages;
    else body.prompt = completionPrompt(req.messages);
    if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
    if (req.temperature !== undefined) body.temperature = req.temperature;
    if (req.topP !== undefined) body.top_p = req.topP;
    if (req.seed !== undefined) body.seed = req.seed;
    if (req.stop !== undefined && req.stop.length > 0) body.stop = req.stop;
    return body;
  };

  const statusError = (status: number, retryAfter: string | string[] | undefined, body: string) => {
    const message = `POST ${path} → HTTP ${status}: ${excerpt(body)}`;
    const retryAfterMs = parseRetryAfter(retryAfter);
    if (status === 429) return new ProviderError("rate_limit", message, { status, retryAfterMs });
    if (status === 408) return new ProviderError("timeout", message, { status, retryAfterMs });
    if (status === 409 || status >= 500)
      return new ProviderError("server", message, { status, retryAfterMs });
    return new ProviderError("client", message, { status });
  };

  const toGeneration = (body: string, latencyMs: number): Generation => {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new ProviderError("bad_response", `POST ${path}: reply is not JSON: ${excerpt(body)}`);
    }
    const envelope = envelopeSchema.safeParse(json);
    if (!envelope.success) {
      throw new ProviderError("bad_response", `POST ${path}: reply has no choices: ${excerpt(body)}`);
    }
    const usage = envelope.data.usage;
    const first = envelope.data.choices[0];
    let content: string;
    let reasoning: string | undefined;
    let finishReason: string | undefined;
    if (mode === "chat") {
      const choice = chatChoiceSchema.safeParse(first);
      if (!choice.success) {
        throw new ProviderError("bad_response", `POST ${path}: malformed chat choice: ${excerpt(body)}`);
      }
      const message = choice.data.message;
      reasoning = nonEmpty(message.reasoning_content) ?? nonEmpty(message.reasoning);
      finishReason = choice.data.finish_reason ?? undefined;
      if (message.content === null || message.content === undefined) {
        // No answer at all (often: a thinking model that spent max_tokens thinking). Judging "" would
        // count it as a refusal; it is a generation error. Not retried: the same request gives the same.
        throw new ProviderError(
          "bad_response",
          `POST ${path}: the reply's message has content: null (finish_reason ${finishReason ?? "none"}${
            reasoning ? `, ${reasoning.length} characters of reasoning` : ""
          }): no answer to judge`,
          { retryable: false },
        );
      }
      content = message.content;
    } else {
      const choice = completionChoiceSchema.safeParse(first);
      if (!choice.success) {
        throw new ProviderError(
          "bad_response",
          `POST ${path}: malformed completion choice: ${excerpt(body)}`,
        );
      }
      content = choice.data.text;
      finishReason = choice.data.finish_reason ?? undefined;
    }
    let response: string;
    let thinking = reasoning;
    if (stripThinkTags && content.includes(THINK_CLOSE)) {
      const split = splitThinking(content);
      response = split.response;
      // A server may both return a reasoning field and leave tagged thinking in the content: keep both.
      thinking = [reasoning, split.thinking].filter((t) => t !== undefined && t.length > 0).join("\n\n");
    } else {
      response = pyStrip(content);
    }
    return {
      response,
      thinking,
      promptTokens: usage?.prompt_tokens ?? undefined,
      completionTokens: usage?.completion_tokens ?? undefined,
      latencyMs,
      finishReason,
    };
  };

  const generate = async (req: GenerateRequest): Promise<Generation> => {
    if (closed) throw new ProviderError("client", `provider ${model} is closed`);
    if (req.signal?.aborted) throw new ProviderError("aborted", `POST ${path}: aborted by caller`);
    const payload = JSON.stringify(buildBody(req));
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    req.signal?.addEventListener("abort", onAbort, { once: true });
    const started = performance.now();
    try {
      const res = await pool.request({
        path,
        method: "POST",
        headers,
        body: payload,
        signal: controller.signal,
      });
      const body = await res.body.text();
      const latencyMs = performance.now() - started;
      if (res.statusCode < 200 || res.statusCode >= 300) {
        throw statusError(res.statusCode, res.headers["retry-after"], body);
      }
      return toGeneration(body, latencyMs);
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      if (req.signal?.aborted) throw new ProviderError("aborted", `POST ${path}: aborted by caller`);
      const code = (error as { code?: unknown }).code;
      if (timedOut || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
        throw new ProviderError("timeout", `POST ${path}: no complete reply within ${timeoutMs} ms`);
      }
      const detail = redact(error instanceof Error ? error.message : String(error), secrets);
      throw new ProviderError(
        "connection",
        `POST ${path}: connection failed${typeof code === "string" ? ` (${code})` : ""}: ${detail}`,
      );
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", onAbort);
    }
  };

  const preflight = async (signal?: AbortSignal): Promise<void> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(timeoutMs, 15_000));
    const onAbort = () => controller.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await pool.request({
        path: `${basePath}/models`,
        method: "GET",
        headers,
        signal: controller.signal,
      });
      const body = await res.body.text();
      // 401/403: the key is wrong for every request to come. Anything else answered (200, or a server
      // without /models) shows the endpoint is there.
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new ProviderError(
          "client",
          `${origin}${basePath}: the API key was rejected (GET /models → HTTP ${res.statusCode}: ${excerpt(body)})`,
          { status: res.statusCode },
        );
      }
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      if (signal?.aborted) throw new ProviderError("aborted", "preflight aborted by caller");
      const code = (error as { code?: unknown }).code;
      const detail = redact(error instanceof Error ? error.message : String(error), secrets);
      throw new ProviderError(
        "connection",
        `cannot reach ${origin}${basePath}${typeof code === "string" ? ` (${code})` : ""}: ${detail}`,
      );
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  };

  return {
    id: `openai-${mode}:${model}@${origin}${basePath}`,
    model,
    generate,
    preflight,
    async close() {
      if (closed) return;
      closed = true;
      await pool.close();
    },
  };
}
