// A real OpenAI-compatible HTTP server on 127.0.0.1 (random port) with scripted replies and faults, for
// tests and the benchmark. Only fault injection is fake; the HTTP, sockets and JSON are real.
//
//   const server = await startFakeOpenAIServer({ respond: (req) => ({ content: "hi" }) });
//   createOpenAICompatibleProvider({ baseUrl: server.baseUrl, ... })   // baseUrl ends in /v1
//
// Routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions; anything else is a 404.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRequest {
  method: string;
  /** e.g. `/v1/chat/completions` */
  path: string;
  /** The parsed JSON body, or undefined when it was empty or not JSON. */
  body: unknown;
  rawBody: string;
  headers: IncomingHttpHeaders;
  hasAuth: boolean;
  /** 1-based count of requests seen so far with the same path and byte-identical body. */
  attempt: number;
}

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export type FakeReply =
  | {
      content: string;
      /** Sent as `reasoning_content` (default) or `reasoning` in chat replies; ignored for completions. */
      reasoning?: string;
      reasoningField?: "reasoning_content" | "reasoning";
      /** Defaults to rough counts (characters / 4); `null` sends no usage at all. */
      usage?: FakeUsage | null;
      finishReason?: string;
    }
  /** 429 with an optional Retry-After header (seconds or an HTTP-date). */
  | { fault: "429"; retryAfter?: string | number }
  /** 500: server error. hang: never answers until the server closes. reset: destroys the socket. */
  | { fault: "500" | "hang" | "reset" }
  /** 200 with invalid JSON; 200 with an empty body; 200 with `{"choices": []}`. */
  | { fault: "malformed" | "empty" | "no_choices" }
  /** Any other raw answer, e.g. a 400. An object body is sent as JSON. */
  | { status: number; body?: unknown; headers?: Record<string, string> };

export type FakeResponder = (req: FakeRequest) => FakeReply | Promise<FakeReply>;

export interface FakeServerOptions {
  respond?: FakeResponder;
  /** Delay before every answer of the completion routes. */
  latencyMs?: number;
  /** Model id listed by /v1/models and echoed in replies. */
  model?: string;
  /** Keep every request (default true). Turn off for long benchmarks; `attempt` is then always 1. */
  record?: boolean;
}

export interface FakeOpenAIServer {
  /** `http://127.0.0.1:PORT/v1` — what providers take as baseUrl. */
  baseUrl: string;
  origin: string;
  port: number;
  requests: FakeRequest[];
  /** GET /v1/models calls seen (preflights), kept out of `requests`. */
  listings(): number;
  /** Requests received on a path (all paths when omitted). */
  count(path?: string): number;
  close(): Promise<void>;
}

const JSON_HEADERS = { "content-type": "application/json" };

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function completionBody(
  path: string,
  model: string,
  reply: Extract<FakeReply, { content: string }>,
  rawBody: string,
) {
  const usage =
    reply.usage === null
      ? undefined
      : (reply.usage ?? {
          prompt_tokens: Math.ceil(rawBody.length / 4),
          completion_tokens: Math.ceil(reply.content.length / 4),
        });
  const finish_reason = reply.finishReason ?? "stop";
  if (path.endsWith("/completions") && !path.endsWith("/chat/completions")) {
    return {
      id: "cmpl-fake",
      object: "text_completion",
      model,
      choices: [{ index: 0, text: reply.content, finish_reason }],
      usage,
    };
  }
  const message: Record<string, string> = { role: "assistant", content: reply.content };
  if (reply.reasoning !== undefined) message[reply.reasoningField ?? "reasoning_content"] = reply.reasoning;
  return {
    id: "chatcmpl-fake",
    object: "chat.completion",
    model,
    choices: [{ index: 0, message, finish_reason }],
    usage,
  };
}

export async function startFakeOpenAIServer(options: FakeServerOptions = {}): Promise<FakeOpenAIServer> {
  const respond: FakeResponder = options.respond ?? (() => ({ content: "fake reply" }));
  const model = options.model ?? "fake-model";
  const record = options.record ?? true;
  const latencyMs = options.latencyMs ?? 0;
  const requests: FakeRequest[] = [];
  let listings = 0;
  const seen = new Map<string, number>();

  const answer = async (req: FakeRequest, res: ServerResponse): Promise<void> => {
    let reply: FakeReply;
    try {
      reply = await respond(req);
    } catch (error) {
      return sendJson(res, 500, { error: { message: `fake server respond() threw: ${String(error)}` } });
    }
    if ("content" in reply) return sendJson(res, 200, completionBody(req.path, model, reply, req.rawBody));
    if ("status" in reply) return sendJson(res, reply.status, reply.body ?? "", reply.headers);
    switch (reply.fault) {
      case "429": {
        const headers: Record<string, string> = {};
        if (reply.retryAfter !== undefined) headers["retry-after"] = String(reply.retryAfter);
        return sendJson(res, 429, { error: { message: "rate limited", type: "rate_limit_error" } }, headers);
      }
      case "500":
        return sendJson(res, 500, { error: { message: "internal server error", type: "server_error" } });
      case "hang":
        return; // closeAllConnections() in close() ends it
      case "reset":
        res.socket?.destroy();
        return;
      case "malformed":
        return sendJson(res, 200, '{"choices": [{"message": {"content": "trunc');
      case "empty":
        return sendJson(res, 200, "");
      case "no_choices":
        return sendJson(res, 200, { id: "chatcmpl-fake", object: "chat.completion", model, choices: [] });
    }
  };

  const handle = (incoming: IncomingMessage, res: ServerResponse, rawBody: string): void => {
    const path = (incoming.url ?? "/").split("?")[0]!;
    let body: unknown;
    try {
      body = rawBody.length > 0 ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    let attempt = 1;
    if (record) {
      const key = `${path}\n${rawBody}`;
      attempt = (seen.get(key) ?? 0) + 1;
      seen.set(key, attempt);
    }
    const req: FakeRequest = {
      method: incoming.method ?? "GET",
      path,
      body,
      rawBody,
      headers: incoming.headers,
      hasAuth: typeof incoming.headers.authorization === "string",
      attempt,
    };
    if (record && !(req.method === "GET" && path === "/v1/models")) requests.push(req);
    if (req.method === "GET" && path === "/v1/models") {
      // Model listings (a run's preflight) are counted apart: `requests` are the generation and judge calls.
      listings++;
      sendJson(res, 200, { object: "list", data: [{ id: model, object: "model", owned_by: "fake" }] });
      return;
    }
    if (req.method === "POST" && (path === "/v1/chat/completions" || path === "/v1/completions")) {
      if (latencyMs > 0) setTimeout(() => void answer(req, res), latencyMs);
      else void answer(req, res);
      return;
    }
    sendJson(res, 404, { error: { message: `no route ${req.method} ${path}` } });
  };

  const server = createServer((incoming, res) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => handle(incoming, res, Buffer.concat(chunks).toString("utf8")));
  });
  // Long enough that keep-alive connections survive pauses in a test; shorter than undici's own 4 s
  // idle timeout does not matter because undici honours the server's Keep-Alive hint.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  return {
    baseUrl: `${origin}/v1`,
    origin,
    port,
    requests,
    listings: () => listings,
    count: (path) =>
      path === undefined
        ? requests.length + listings
        : path === "/v1/models"
          ? listings
          : requests.filter((r) => r.path === path).length,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

// ---- scripted judges ----

export type JudgeReplyFormat = "json" | "fenced" | "prose" | "lines" | "garbage";

/** A judge reply in one of the formats judges produce in practice. */
export function judgeReplyText(
  format: JudgeReplyFormat,
  label: string,
  reason = "the evidence is clear",
): string {
  const json = JSON.stringify({ decision: label, reason });
  switch (format) {
    case "json":
      return json;
    case "fenced":
      return `\`\`\`json\n${JSON.stringify({ decision: label, reason }, null, 2)}\n\`\`\``;
    case "prose":
      return `Looking at the response carefully, here is my verdict: ${json} I hope this helps.`;
    case "lines":
      return `DECISION: ${label}\nREASON: ${reason}`;
    case "garbage":
      return "I cannot decide {not json at all";
  }
}

/** The user message of a chat request (or the prompt of a completions request), for scripting by content. */
export function requestText(req: FakeRequest): string {
  const body = req.body as { messages?: { role?: string; content?: string }[]; prompt?: string } | undefined;
  if (typeof body?.prompt === "string") return body.prompt;
  return (body?.messages ?? []).map((m) => m.content ?? "").join("\n\n");
}

/** A responder that acts as a judge: `pick` chooses the label (and optionally the format) per request. */
export function scriptedJudge(
  pick: (req: FakeRequest) => string | { label: string; format?: JudgeReplyFormat; reason?: string },
  defaultFormat: JudgeReplyFormat = "json",
): FakeResponder {
  return (req) => {
    const choice = pick(req);
    const { label, format, reason } =
      typeof choice === "string" ? { label: choice, format: undefined, reason: undefined } : choice;
    return { content: judgeReplyText(format ?? defaultFormat, label, reason) };
  };
}
