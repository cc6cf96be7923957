// `steerbench serve`: the embedded engine behind an OpenAI-compatible HTTP API, with one thing llama.cpp's
// own server cannot do: a per-request `steering` object that applies a control vector to that request only.
//
// - `--parallel N` slots: up to N generations in flight (slots.ts), each an engine call with its own
//   AbortSignal, and a bounded queue behind them; a full queue answers 429 with Retry-After.
// - Every request field is honoured or refused by name (openai-request.ts). A prompt that cannot fit the
//   context with its max_tokens is refused with 400 before it takes a slot; a prompt too large to even
//   tokenize cheaply is refused with 413 before any tokenizing, so it never stalls the event loop.
// - A client that goes away aborts its generation at once (its slot goes to the next request); shutdown
//   aborts everything in flight and refuses the queue with 503.
// - Loopback Host names only on a loopback bind (DNS rebinding), no cross-origin requests, JSON bodies
//   only, and malformed HTTP answered with 400/431 (http-guard.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { GpuRequest } from "../llama/backend.js";
import { type BackendResult, createLlamaBackend, type GenerationBackend, SteeringError } from "./backend.js";
import { answerClientError, guardRequest } from "./http-guard.js";
import { type ParsedRequest, parseOpenAIRequest, promptBytes, RequestError } from "./openai-request.js";
import { QueueFullError, SlotScheduler } from "./slots.js";
import { DEFAULT_MAX_VECTOR_BYTES, resolveRequestVector } from "./vector-path.js";

const MAX_BODY = 4 * 1024 * 1024;
export const DEFAULT_MAX_PROMPT_BYTES = 1024 * 1024;
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** After SIGTERM, how long in-flight responses get to finish their abort before sockets are cut. */
const SHUTDOWN_GRACE_MS = 2000;

export interface ServeOptions {
  model: string;
  host?: string;
  port?: number;
  /** Directory where steering vectors can be named (`"vector": "honesty"` → DIR/honesty.gguf). */
  vectorsDir?: string;
  /** Accept absolute `steering.vector` paths (off by default: a request could name any file). */
  allowVectorPaths?: boolean;
  maxVectorBytes?: number;
  threads?: number;
  contextSize?: number;
  /** See LlamaEngineOptions.chatTemplate. */
  chatTemplate?: string;
  /** llama.cpp backend and offloaded layers (see src/llama/backend.ts). */
  gpu?: GpuRequest;
  gpuLayers?: number;
  /** Generations in flight at once (default 1). */
  parallel?: number;
  /** Generations waiting for a slot before new ones get 429 (default 64). */
  maxQueue?: number;
  /** Largest prompt text accepted, in UTF-8 bytes (also capped by what the context could hold). */
  maxPromptBytes?: number;
  maxHeaderBytes?: number;
  log?: (line: string) => void;
  /** The engine behind the API (tests inject faults here); default: the llama provider on `model`. */
  backend?: GenerationBackend;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting, aborts every generation in flight, refuses the queue, frees the model. */
  close(): Promise<void>;
}

class Aborted extends Error {
  constructor(
    readonly why: "client" | "shutdown",
    message: string,
  ) {
    super(message);
    this.name = "AbortError";
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new RequestError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new RequestError(400, "request body is not valid JSON");
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** OpenAI's error envelope: `type` by status class, `code` the specific reason (or null). */
function errorBody(e: RequestError) {
  const type =
    e.status === 429 ? "rate_limit_error" : e.status >= 500 ? "server_error" : "invalid_request_error";
  return { error: { message: e.message, type, param: e.param ?? null, code: e.code ?? null } };
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const parallel = opts.parallel ?? 1;
  const scheduler = new SlotScheduler({ slots: parallel, maxQueue: opts.maxQueue ?? 64 });
  const backend = opts.backend ?? (await createLlamaBackend(opts.model, opts));
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? (() => {});
  const vectorPolicy = {
    dir: opts.vectorsDir,
    allowPaths: opts.allowVectorPaths ?? false,
    maxBytes: opts.maxVectorBytes ?? DEFAULT_MAX_VECTOR_BYTES,
  };
  // A text longer than the context × the longest token cannot fit, so it is refused without tokenizing.
  const fitLimit = backend.contextSize * (backend.maxTokenBytes + 1);
  const maxPromptBytes = Math.min(opts.maxPromptBytes ?? DEFAULT_MAX_PROMPT_BYTES, fitLimit);
  const inFlight = new Set<AbortController>();
  const handlers = new Set<Promise<void>>();
  let closing = false;
  let counter = 0;

  const checkModel = (model: string | undefined) => {
    if (model !== undefined && !backend.modelNames.has(model))
      throw new RequestError(
        404,
        `model ${JSON.stringify(model)} is not served here; this server serves "${backend.modelId}"`,
        "model",
        "model_not_found",
      );
  };

  /** The context check: the prompt and its max_tokens must both fit, or the request is refused. */
  const budget = (req: ParsedRequest): { promptTokens: number; maxTokens: number } => {
    const bytes = promptBytes(req);
    if (bytes > maxPromptBytes)
      throw new RequestError(
        413,
        `the prompt is ${bytes} bytes; this server takes at most ${maxPromptBytes}` +
          (maxPromptBytes === fitLimit
            ? ` (more cannot fit its context of ${backend.contextSize} tokens)`
            : " (--max-prompt-bytes)"),
        req.raw ? "prompt" : "messages",
        "request_too_large",
      );
    let promptTokens: number;
    try {
      promptTokens = backend.countPromptTokens(req.messages, req.raw);
    } catch (err) {
      // The model's chat template refusing this conversation (e.g. Gemma 2 and a system message).
      throw new RequestError(400, err instanceof Error ? err.message : String(err), "messages");
    }
    const ctx = backend.contextSize;
    if (promptTokens >= ctx)
      throw new RequestError(
        400,
        `the prompt is ${promptTokens} tokens; the context holds ${ctx}, leaving no room to generate`,
        req.raw ? "prompt" : "messages",
        "context_length_exceeded",
      );
    if (req.maxTokens !== undefined && promptTokens + req.maxTokens > ctx)
      throw new RequestError(
        400,
        `the prompt (${promptTokens} tokens) plus max_tokens (${req.maxTokens}) is more than the context of ${ctx} tokens; ask for at most ${ctx - promptTokens} tokens`,
        "max_tokens",
        "context_length_exceeded",
      );
    return { promptTokens, maxTokens: req.maxTokens ?? ctx - promptTokens };
  };

  const steeringOf = async (req: ParsedRequest) => {
    if (!req.steering) return undefined;
    const path = await resolveRequestVector(req.steering.vector, vectorPolicy);
    const steering = { ...req.steering, vector: path };
    try {
      await backend.checkSteering(steering);
    } catch (err) {
      const name = JSON.stringify(req.steering.vector);
      if (!(err instanceof SteeringError)) {
        // A damaged file: the parser's words may quote the file, so they go to the log, not to the client.
        log(`steering.vector ${path}: ${err instanceof Error ? err.message : String(err)}`);
        throw new RequestError(
          400,
          `steering.vector ${name}: not a readable control-vector GGUF`,
          "steering.vector",
        );
      }
      // The message names the file by the request's own name, never by the server's path.
      throw new RequestError(400, `steering: ${err.message.split(path).join(name)}`, "steering");
    }
    return steering;
  };

  const handleCompletion = async (
    kind: "chat" | "completion",
    req: IncomingMessage,
    res: ServerResponse,
    note: (s: string) => void,
  ): Promise<void> => {
    const parsed = parseOpenAIRequest(kind, await readJson(req));
    checkModel(parsed.model);
    if (parsed.n > scheduler.slots + scheduler.maxQueue)
      throw new RequestError(
        400,
        `n ${parsed.n} is more than this server can hold (${scheduler.slots} slots + ${scheduler.maxQueue} queued)`,
        "n",
      );
    const steering = await steeringOf(parsed);
    const { promptTokens, maxTokens } = budget(parsed);
    const tickets = scheduler.admit(parsed.n);
    const ac = new AbortController();
    inFlight.add(ac);
    let outChars = 0;
    let generating = 0;
    const onClose = () => {
      if (!res.writableFinished) ac.abort(new Aborted("client", "the client went away"));
    };
    res.on("close", onClose);
    // The client may already have gone while the request was being checked.
    if (res.closed || res.destroyed || req.socket.destroyed) onClose();
    const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-${Date.now().toString(36)}${(counter++).toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = backend.modelId;
    const chunk = (index: number, content: string | undefined, finish: string | null) =>
      kind === "chat"
        ? {
            id,
            object: "chat.completion.chunk",
            created,
            model,
            choices: [{ index, delta: content === undefined ? {} : { content }, finish_reason: finish }],
          }
        : {
            id,
            object: "text_completion",
            created,
            model,
            choices: [{ index, text: content ?? "", finish_reason: finish, logprobs: null }],
          };
    const event = (data: unknown) => {
      if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    // Headers go out with the first piece of text, so an early failure is still a plain 4xx/5xx answer.
    let started = false;
    const start = () => {
      if (started || !parsed.stream) return;
      started = true;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      if (kind === "chat")
        for (let i = 0; i < parsed.n; i++)
          event({
            ...chunk(i, undefined, null),
            choices: [{ index: i, delta: { role: "assistant", content: "" }, finish_reason: null }],
          });
    };
    const runChoice = async (index: number): Promise<BackendResult> => {
      const ticket = tickets[index]!;
      try {
        await ticket.acquire(ac.signal);
        generating++;
        return await backend.generate({
          messages: parsed.messages,
          raw: parsed.raw,
          maxTokens,
          temperature: parsed.temperature,
          topP: parsed.topP,
          // Each choice its own draw: seed, seed+1, … (LLAMA_DEFAULT_SEED 0xffffffff means "random").
          seed: parsed.seed === undefined ? undefined : (parsed.seed + index) % 0xffffffff,
          stop: parsed.stop,
          steering,
          signal: ac.signal,
          onText: (piece) => {
            outChars += piece.length;
            if (!parsed.stream) return;
            start();
            event(chunk(index, piece, null));
          },
        });
      } catch (err) {
        // One choice failing fails the request: stop its siblings now.
        if (!ac.signal.aborted) ac.abort(err);
        throw err;
      } finally {
        ticket.release();
      }
    };
    const settled = await Promise.allSettled(Array.from({ length: parsed.n }, (_, i) => runChoice(i)));
    res.off("close", onClose);
    inFlight.delete(ac);
    const failure = settled.find((s) => s.status === "rejected");
    if (failure) {
      const err = ac.signal.reason instanceof Aborted ? ac.signal.reason : failure.reason;
      if (err instanceof Aborted && err.why === "client") {
        note(
          generating === 0
            ? "client went away while queued"
            : `client went away: generation aborted after ${outChars} characters`,
        );
        return;
      }
      const e =
        err instanceof Aborted
          ? new RequestError(503, "the server is shutting down", undefined, "server_shutting_down")
          : err instanceof RequestError
            ? err
            : new RequestError(
                500,
                `generation failed: ${err instanceof Error ? err.message : String(err)}`,
                undefined,
                "server_error",
              );
      if (!started) throw e;
      event(errorBody(e));
      res.end();
      note(`stream ended by error: ${e.message}`);
      return;
    }
    const results = settled.map((s) => (s as PromiseFulfilledResult<BackendResult>).value);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: results.reduce((n, r) => n + r.completionTokens, 0),
      total_tokens: promptTokens + results.reduce((n, r) => n + r.completionTokens, 0),
    };
    if (!parsed.stream) {
      return send(res, 200, {
        id,
        object: kind === "chat" ? "chat.completion" : "text_completion",
        created,
        model,
        choices: results.map((r, index) =>
          kind === "chat"
            ? {
                index,
                message: { role: "assistant", content: r.text, refusal: null },
                logprobs: null,
                finish_reason: r.finishReason,
              }
            : { index, text: r.text, logprobs: null, finish_reason: r.finishReason },
        ),
        usage,
      });
    }
    start();
    results.forEach((r, index) => {
      event(chunk(index, undefined, r.finishReason));
    });
    if (parsed.includeUsage)
      event({ id, object: chunk(0, undefined, null).object, created, model, choices: [], usage });
    res.end("data: [DONE]\n\n");
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, note: (s: string) => void) => {
    guardRequest(req, { bindHost: host });
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "");
    const modelObject = { id: backend.modelId, object: "model", created: 0, owned_by: "steerbench" };
    if (req.method === "GET" && (path === "/v1/models" || path === "/models"))
      return send(res, 200, { object: "list", data: [modelObject] });
    const m = /^\/(?:v1\/)?models\/(.+)$/.exec(path);
    if (req.method === "GET" && m) {
      checkModel(decodeURIComponent(m[1]!));
      return send(res, 200, modelObject);
    }
    if (req.method === "GET" && path === "/health")
      return send(res, closing ? 503 : 200, { status: closing ? "shutting down" : "ok", ...scheduler.stats });
    const kind =
      path === "/v1/chat/completions" || path === "/chat/completions"
        ? "chat"
        : path === "/v1/completions" || path === "/completions"
          ? "completion"
          : undefined;
    if (!kind) throw new RequestError(404, `no route ${req.method} ${url.pathname}`, undefined, "not_found");
    if (req.method !== "POST")
      throw new RequestError(405, `${url.pathname} takes POST`, undefined, "method_not_allowed");
    if (closing)
      throw new RequestError(503, "the server is shutting down", undefined, "server_shutting_down");
    return handleCompletion(kind, req, res, note);
  };

  const server = createServer(
    { maxHeaderSize: opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES },
    (req, res) => {
      const t0 = performance.now();
      const notes: string[] = [];
      const done = handle(req, res, (s) => notes.push(s))
        .catch((err: unknown) => {
          const e =
            err instanceof RequestError
              ? err
              : err instanceof Aborted
                ? new RequestError(503, err.message, undefined, "server_shutting_down")
                : err instanceof QueueFullError
                  ? new RequestError(429, err.message, undefined, "rate_limit_exceeded")
                  : new RequestError(
                      500,
                      err instanceof Error ? err.message : String(err),
                      undefined,
                      "server_error",
                    );
          if (res.headersSent || res.destroyed) {
            res.end();
            return;
          }
          const headers: Record<string, string> =
            err instanceof QueueFullError ? { "retry-after": String(err.retryAfterSeconds) } : {};
          if (e.status === 503) headers["retry-after"] = "5";
          // The body may still be arriving (a refused upload): answer, then close instead of draining it.
          if (!req.complete) headers.connection = "close";
          send(res, e.status, errorBody(e), headers);
        })
        .finally(() => {
          handlers.delete(done);
          // 499 (nginx's "client closed request") for a client that left, also after a stream had begun.
          const gone = notes.some((n) => n.startsWith("client went away"));
          const status = gone ? 499 : res.writableFinished || res.headersSent ? res.statusCode : 499;
          log(
            `${req.method} ${req.url} ${status} ${(performance.now() - t0).toFixed(0)}ms${notes.length ? ` (${notes.join("; ")})` : ""}`,
          );
        });
      handlers.add(done);
    },
  );
  server.on("clientError", answerClientError);
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, host, () => {
      server.off("error", reject);
      resolvePromise();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  return {
    server,
    port: address.port,
    url: `http://${urlHost}:${address.port}/v1`,
    close: () => {
      closed ??= (async () => {
        closing = true;
        const reason = new Aborted("shutdown", "the server is shutting down");
        scheduler.close(reason);
        for (const ac of inFlight) ac.abort(reason);
        const listening = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        // Aborted generations stop at their next token; their responses then end on their own.
        await Promise.race([
          Promise.allSettled([...handlers]),
          new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref()),
        ]);
        server.closeAllConnections();
        await listening;
        await backend.close();
      })();
      return closed;
    },
  };
}
