// The OpenAI request bodies `steerbench serve` takes, validated and normalised. The rule: every field is
// either honoured or refused with a 400 that names it. Fields that OpenAI defines but the engine cannot do
// (tools, penalties, logprobs, JSON mode, …) are refused with the reason, and only when the value asks for
// the behaviour (`logprobs: false`, `n: 1`, `response_format: {type: "text"}` are what the server does
// anyway); unknown fields are refused as unknown.
import { z } from "zod";
import type { ChatMessage } from "../types.js";

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param?: string,
    /** OpenAI's machine-readable `error.code` (e.g. "context_length_exceeded"). */
    readonly code?: string,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

/** Most choices one request may ask for. */
export const MAX_N = 16;
/** Most tokens one request may ask for (also capped by the context). */
export const MAX_TOKENS_LIMIT = 1 << 20;

export interface SteeringRequest {
  vector: string;
  layers?: [number, number];
  strength: number;
  normPreserving?: boolean;
}

export interface ParsedRequest {
  kind: "chat" | "completion";
  model: string | undefined;
  /** Chat turns (developer already mapped to system), or the completion prompt as one user turn. */
  messages: ChatMessage[];
  /** True for /completions: the prompt is raw text, no chat template. */
  raw: boolean;
  /** Undefined: as many as the context leaves. */
  maxTokens: number | undefined;
  temperature: number;
  topP: number | undefined;
  seed: number | undefined;
  stop: string[] | undefined;
  n: number;
  stream: boolean;
  includeUsage: boolean;
  steering: SteeringRequest | undefined;
}

// Known OpenAI fields the engine cannot honour: a reason when the value asks for that behaviour.
type Refusal = (value: unknown) => string | undefined;
const isNone = (v: unknown) =>
  v === null ||
  v === undefined ||
  v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
const refuseUnlessNone =
  (why: string): Refusal =>
  (v) =>
    isNone(v) ? undefined : why;
const refuseUnlessZero =
  (why: string): Refusal =>
  (v) =>
    v === null || v === undefined || v === 0 ? undefined : why;

const NO_TOOLS = "tool and function calling is not supported by steerbench serve";
const NO_LOGPROBS =
  "log-probabilities are not returned yet: the engine's generate() does not report per-token log-probabilities";
const NO_PENALTY =
  "repetition penalties are not supported (the engine's sampler is temperature → top-p only)";

const COMMON_REFUSALS: Record<string, Refusal> = {
  frequency_penalty: refuseUnlessZero(NO_PENALTY),
  presence_penalty: refuseUnlessZero(NO_PENALTY),
  logit_bias: refuseUnlessNone("logit_bias is not supported"),
  response_format: (v) => {
    if (v === null || v === undefined) return undefined;
    const type = typeof v === "object" && v !== null ? (v as { type?: unknown }).type : undefined;
    if (type === "text") return undefined;
    return `response_format ${JSON.stringify(type ?? v)} is not supported: constrained JSON output needs llama.cpp's grammar sampler (llama_sampler_init_grammar), which the embedded engine does not bind yet`;
  },
};

const CHAT_REFUSALS: Record<string, Refusal> = {
  ...COMMON_REFUSALS,
  logprobs: refuseUnlessNone(NO_LOGPROBS),
  top_logprobs: refuseUnlessZero(NO_LOGPROBS),
  tools: refuseUnlessNone(NO_TOOLS),
  tool_choice: (v) => (v === null || v === undefined || v === "none" ? undefined : NO_TOOLS),
  parallel_tool_calls: refuseUnlessNone(NO_TOOLS),
  functions: refuseUnlessNone(NO_TOOLS),
  function_call: (v) => (v === null || v === undefined || v === "none" ? undefined : NO_TOOLS),
  modalities: (v) =>
    v === null || v === undefined || (Array.isArray(v) && v.every((m) => m === "text"))
      ? undefined
      : "only text output is supported",
  audio: refuseUnlessNone("audio output is not supported"),
  prediction: refuseUnlessNone("predicted outputs are not supported"),
  reasoning_effort: refuseUnlessNone("reasoning_effort is not supported (steer thinking with the prompt)"),
  verbosity: refuseUnlessNone("verbosity is not supported"),
  web_search_options: refuseUnlessNone("web search is not supported"),
  store: refuseUnlessNone("stored completions are not supported"),
  metadata: refuseUnlessNone("metadata is only stored with `store`, which is not supported"),
  service_tier: (v) =>
    v === null || v === undefined || v === "auto" || v === "default"
      ? undefined
      : "service tiers are not supported",
};

const COMPLETION_REFUSALS: Record<string, Refusal> = {
  ...COMMON_REFUSALS,
  logprobs: refuseUnlessZero(NO_LOGPROBS),
  echo: refuseUnlessNone("echo is not supported"),
  suffix: (v) =>
    v === null || v === undefined || v === "" ? undefined : "suffix (insertion) is not supported",
  best_of: (v) => (v === null || v === undefined || v === 1 ? undefined : "best_of is not supported (use n)"),
};

const optional = <T extends z.ZodType>(t: T) => t.nullish();

const steeringSchema = z.strictObject({
  vector: z.string().min(1).max(4096),
  layers: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
  strength: z.number().finite(),
  normPreserving: z.boolean().optional(),
});

const commonFields = {
  model: optional(z.string().max(1024)),
  max_tokens: optional(z.number().int().min(1).max(MAX_TOKENS_LIMIT)),
  temperature: optional(z.number().min(0).max(2)),
  top_p: optional(z.number().gt(0).max(1)),
  // The engine takes 32-bit seeds below LLAMA_DEFAULT_SEED (0xffffffff, which llama.cpp reads as "random").
  seed: optional(z.number().int().min(0).max(0xfffffffe)),
  stop: optional(z.union([z.string(), z.array(z.string()).max(16)])),
  n: optional(z.number().int().min(1).max(MAX_N)),
  stream: optional(z.boolean()),
  stream_options: optional(z.strictObject({ include_usage: optional(z.boolean()) })),
  // An end-user id for the provider's abuse monitoring: accepted, and not used for anything.
  user: optional(z.string().max(1024)),
  steering: optional(steeringSchema),
};

const textPart = z.strictObject({ type: z.literal("text"), text: z.string() });
const content = z.union([z.string(), z.array(z.unknown())]);

const chatSchema = z.strictObject({
  ...commonFields,
  max_completion_tokens: optional(z.number().int().min(1).max(MAX_TOKENS_LIMIT)),
  messages: z.array(z.unknown()).min(1),
  ...Object.fromEntries(Object.keys(CHAT_REFUSALS).map((k) => [k, z.unknown().optional()])),
});

const completionSchema = z.strictObject({
  ...commonFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  ...Object.fromEntries(Object.keys(COMPLETION_REFUSALS).map((k) => [k, z.unknown().optional()])),
});

function fail(path: (string | number)[], message: string, status = 400): never {
  const param = path.join(".");
  throw new RequestError(status, param ? `${param}: ${message}` : message, param || undefined);
}

function check<T>(schema: z.ZodType<T>, value: unknown, base: (string | number)[] = []): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = issue.path.map((k) => (typeof k === "symbol" ? String(k) : k));
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    fail(
      [...base, ...at, key],
      "unknown parameter: steerbench serve refuses parameters it does not implement rather than ignore them",
    );
  }
  fail([...base, ...at], issue.message);
}

function refuse(body: Record<string, unknown>, table: Record<string, Refusal>): void {
  for (const [key, rule] of Object.entries(table)) {
    if (!(key in body)) continue;
    const why = rule(body[key]);
    if (why) fail([key], `not supported: ${why}`);
  }
}

/** Text parts are joined with "\n", as vLLM does for templates that take string content. */
export const TEXT_PART_JOINER = "\n";

function contentText(value: unknown, path: (string | number)[], nullable: boolean): string {
  if (value === null && nullable) return "";
  const c = check(content, value, path);
  if (typeof c === "string") return c;
  return c
    .map((part, i) => {
      const type = (part as { type?: unknown } | null)?.type;
      if (type !== "text")
        fail(
          [...path, i, "type"],
          `${JSON.stringify(type ?? null)} content parts are not supported (text parts only)`,
        );
      return check(textPart, part, [...path, i]).text;
    })
    .join(TEXT_PART_JOINER);
}

const messageBase = z.object({ role: z.string() }).loose();
const systemMessage = z.strictObject({ role: z.enum(["system", "developer"]), content });
const userMessage = z.strictObject({ role: z.literal("user"), content });
const assistantMessage = z.strictObject({
  role: z.literal("assistant"),
  content: content.nullish(),
  // Echoed back by clients that pass a previous reply on as-is.
  refusal: z.null().optional(),
  tool_calls: z.array(z.unknown()).max(0, "tool calls are not supported").optional(),
  annotations: z.array(z.unknown()).max(0, "annotations are not supported").optional(),
});

function parseMessage(value: unknown, i: number): ChatMessage {
  const path = ["messages", i];
  const base = check(messageBase, value, path);
  switch (base.role) {
    case "system":
    case "developer": {
      const m = check(systemMessage, value, path);
      // Chat templates know "system"; OpenAI's "developer" is its successor with the same place.
      return { role: "system", content: contentText(m.content, [...path, "content"], false) };
    }
    case "user": {
      const m = check(userMessage, value, path);
      return { role: "user", content: contentText(m.content, [...path, "content"], false) };
    }
    case "assistant": {
      const m = check(assistantMessage, value, path);
      return { role: "assistant", content: contentText(m.content ?? null, [...path, "content"], true) };
    }
    case "tool":
    case "function":
      fail([...path, "role"], `"${base.role}" messages are not supported: ${NO_TOOLS}`);
      break;
    default:
      fail(
        [...path, "role"],
        `unknown role ${JSON.stringify(base.role)} (expected system, developer, user or assistant)`,
      );
  }
}

function stopList(stop: string | string[] | null | undefined): string[] | undefined {
  if (stop === null || stop === undefined) return undefined;
  const list = typeof stop === "string" ? [stop] : stop;
  return list.length > 0 ? list : undefined;
}

/** Validates a /chat/completions or /completions body; throws RequestError naming the bad field. */
export function parseOpenAIRequest(kind: "chat" | "completion", json: unknown): ParsedRequest {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new RequestError(400, "the request body must be a JSON object");
  const body = json as Record<string, unknown>;
  refuse(body, kind === "chat" ? CHAT_REFUSALS : COMPLETION_REFUSALS);
  const common = (b: z.infer<z.ZodObject<typeof commonFields>>) => {
    if (b.stream_options && b.stream !== true) fail(["stream_options"], "only allowed when stream is true");
    return {
      model: b.model ?? undefined,
      temperature: b.temperature ?? 1,
      topP: b.top_p ?? undefined,
      seed: b.seed ?? undefined,
      stop: stopList(b.stop),
      n: b.n ?? 1,
      stream: b.stream ?? false,
      includeUsage: b.stream_options?.include_usage ?? false,
      steering: b.steering
        ? {
            vector: b.steering.vector,
            strength: b.steering.strength,
            ...(b.steering.layers ? { layers: b.steering.layers } : {}),
            ...(b.steering.normPreserving !== undefined ? { normPreserving: b.steering.normPreserving } : {}),
          }
        : undefined,
    };
  };
  if (kind === "chat") {
    const b = check(chatSchema, body);
    const a = b.max_tokens ?? undefined;
    const c = b.max_completion_tokens ?? undefined;
    if (a !== undefined && c !== undefined && a !== c)
      fail(["max_completion_tokens"], `differs from max_tokens (${c} vs ${a}); give one of them`);
    return {
      kind,
      ...common(b),
      messages: b.messages.map(parseMessage),
      raw: false,
      maxTokens: c ?? a,
    };
  }
  const b = check(completionSchema, body);
  const prompt = typeof b.prompt === "string" ? b.prompt : b.prompt[0]!;
  return {
    kind,
    ...common(b),
    messages: [{ role: "user", content: prompt }],
    raw: true,
    maxTokens: b.max_tokens ?? undefined,
  };
}

/** Total UTF-8 bytes of the prompt texts (the cheap size check before any tokenizing). */
export function promptBytes(req: Pick<ParsedRequest, "messages">): number {
  return req.messages.reduce((n, m) => n + Buffer.byteLength(m.content, "utf8"), 0);
}
