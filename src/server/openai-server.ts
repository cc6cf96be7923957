// `steerbench serve`: the embedded engine behind an OpenAI-compatible HTTP API, with one thing llama.cpp's
// own server cannot do: a per-request `steering` object that applies a control vector to that request only.
// One model, one context: requests queue on the engine's lock (a bounded queue answers 429 when full).
// Every request is validated; a bad one gets a 4xx with a clear message and never takes the server down.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import type { GpuRequest } from "../llama/backend.js";
import { createLlamaProvider } from "../providers/llama-provider.js";
import type { ActivationSteering, ChatMessage, Generation } from "../types.js";

const MAX_BODY = 4 * 1024 * 1024;

const steeringSchema = z
  .object({
    vector: z.string().min(1),
    layers: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
    strength: z.number().finite(),
    normPreserving: z.boolean().optional(),
  })
  .strict();

const common = {
  model: z.string().optional(),
  max_tokens: z.number().int().min(1).max(32_768).optional(),
  max_completion_tokens: z.number().int().min(1).max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  stop: z.union([z.string(), z.array(z.string()).max(16)]).optional(),
  stream: z.boolean().optional(),
  steering: steeringSchema.optional(),
};

const chatSchema = z.looseObject({
  ...common,
  messages: z
    .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }).loose())
    .min(1),
});

const completionSchema = z.looseObject({ ...common, prompt: z.string() });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
  ) {
    super(message);
  }
}

export interface ServeOptions {
  model: string;
  host?: string;
  port?: number;
  /** Directory where steering vectors can be named (`"vector": "honesty"` → DIR/honesty.gguf). */
  vectorsDir?: string;
  threads?: number;
  contextSize?: number;
  /** llama.cpp backend and offloaded layers (see src/llama/backend.ts). */
  gpu?: GpuRequest;
  gpuLayers?: number;
  /** Requests waiting for the engine before new ones get 429. */
  maxQueue?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
}

function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new HttpError(400, `${issue.path.join(".") || "body"}: ${issue.message}`);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const provider = await createLlamaProvider(opts.model, {
    threads: opts.threads,
    contextSize: opts.contextSize,
    gpu: opts.gpu,
    gpuLayers: opts.gpuLayers,
  });
  const modelId = basename(opts.model).replace(/\.gguf$/i, "");
  const maxQueue = opts.maxQueue ?? 64;
  const log = opts.log ?? (() => {});
  let waiting = 0;
  let counter = 0;

  const resolveSteering = (s: z.infer<typeof steeringSchema> | undefined): ActivationSteering | undefined => {
    if (!s) return undefined;
    let vector = s.vector;
    if (!vector.endsWith(".gguf") && !isAbsolute(vector)) {
      if (!opts.vectorsDir)
        throw new HttpError(400, `steering.vector "${vector}" is a name but the server has no --vectors DIR`);
      if (!/^[\w.-]+$/.test(vector))
        throw new HttpError(400, `steering.vector "${vector}" is not a valid name`);
      vector = join(opts.vectorsDir, `${vector}.gguf`);
    }
    return {
      vector: resolve(vector),
      strength: s.strength,
      ...(s.layers ? { layers: s.layers } : {}),
      ...(s.normPreserving !== undefined ? { normPreserving: s.normPreserving } : {}),
    };
  };

  const generate = async (
    messages: ChatMessage[],
    body: z.infer<typeof chatSchema> | z.infer<typeof completionSchema>,
    raw: boolean,
    onText?: (piece: string) => void,
  ): Promise<Generation> => {
    if (waiting >= maxQueue)
      throw new HttpError(429, `server busy: ${waiting} requests queued`, "rate_limit_error");
    waiting++;
    try {
      const req = {
        messages,
        maxTokens: body.max_completion_tokens ?? body.max_tokens ?? 256,
        temperature: body.temperature ?? 1,
        topP: body.top_p,
        seed: body.seed,
        stop: typeof body.stop === "string" ? [body.stop] : body.stop,
        steering: resolveSteering(body.steering),
        rawPrompt: raw,
        onText,
      };
      return await provider.generate(req);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      // Input problems the engine finds (prompt longer than the context, a vector of the wrong size) are the caller's.
      if (/context|tokens|vector|layer|n_embd|not found|dimension/i.test(msg)) throw new HttpError(400, msg);
      throw new HttpError(500, msg, "server_error");
    } finally {
      waiting--;
    }
  };

  const finish = (reason: string | undefined) =>
    reason === "max_tokens" || reason === "context_full" ? "length" : "stop";

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "");
    if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
      return send(res, 200, {
        object: "list",
        data: [{ id: modelId, object: "model", owned_by: "steerbench" }],
      });
    }
    if (req.method === "GET" && path === "/health") return send(res, 200, { status: "ok", queued: waiting });
    const isChat = path === "/v1/chat/completions" || path === "/chat/completions";
    const isCompletion = path === "/v1/completions" || path === "/completions";
    if (!isChat && !isCompletion) throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
    if (req.method !== "POST") throw new HttpError(405, `${url.pathname} takes POST`);
    const json = await readJson(req);
    const id = `${isChat ? "chatcmpl" : "cmpl"}-${Date.now().toString(36)}${(counter++).toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    let messages: ChatMessage[];
    let body: z.infer<typeof chatSchema> | z.infer<typeof completionSchema>;
    if (isChat) {
      const chat = validate(chatSchema, json);
      messages = chat.messages.map((m) => ({ role: m.role, content: m.content }));
      body = chat;
    } else {
      body = validate(completionSchema, json);
      messages = [{ role: "user", content: body.prompt }];
    }
    const usageOf = (gen: Generation) => ({
      prompt_tokens: gen.promptTokens ?? 0,
      completion_tokens: gen.completionTokens ?? 0,
      total_tokens: (gen.promptTokens ?? 0) + (gen.completionTokens ?? 0),
    });
    if (!body.stream) {
      const gen = await generate(messages, body, !isChat);
      const reason = finish(gen.finishReason);
      return send(
        res,
        200,
        isChat
          ? {
              id,
              object: "chat.completion",
              created,
              model: modelId,
              choices: [
                { index: 0, message: { role: "assistant", content: gen.response }, finish_reason: reason },
              ],
              usage: usageOf(gen),
            }
          : {
              id,
              object: "text_completion",
              created,
              model: modelId,
              choices: [{ index: 0, text: gen.response, finish_reason: reason }],
              usage: usageOf(gen),
            },
      );
    }
    // Server-sent events in OpenAI's chunk format, one chunk per piece of text as the engine produces it
    // (the raw text: the non-streaming answer is additionally stripped of surrounding whitespace).
    const chunk = (content: string | undefined, finishReason: string | null) =>
      isChat
        ? {
            id,
            object: "chat.completion.chunk",
            created,
            model: modelId,
            choices: [
              { index: 0, delta: content === undefined ? {} : { content }, finish_reason: finishReason },
            ],
          }
        : {
            id,
            object: "text_completion",
            created,
            model: modelId,
            choices: [{ index: 0, text: content ?? "", finish_reason: finishReason }],
          };
    const event = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      if (isChat)
        event({
          ...chunk(undefined, null),
          choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }],
        });
    };
    try {
      const gen = await generate(messages, body, !isChat, (piece) => {
        start();
        event(chunk(piece, null));
      });
      start();
      event({ ...chunk(undefined, finish(gen.finishReason)), usage: usageOf(gen) });
      res.end("data: [DONE]\n\n");
    } catch (err) {
      if (!started) throw err; // still a plain 4xx/5xx answer
      event({ error: { message: err instanceof Error ? err.message : String(err), type: "server_error" } });
      res.end();
    }
  };

  const server = createServer((req, res) => {
    const started = performance.now();
    handle(req, res)
      .catch((err: unknown) => {
        const e =
          err instanceof HttpError
            ? err
            : new HttpError(500, err instanceof Error ? err.message : String(err), "server_error");
        if (!res.headersSent)
          send(res, e.status, { error: { message: e.message, type: e.type, code: e.status } });
        else res.end();
      })
      .finally(() =>
        log(`${req.method} ${req.url} ${res.statusCode} ${(performance.now() - started).toFixed(0)}ms`),
      );
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8080, opts.host ?? "127.0.0.1", () => resolvePromise());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? "127.0.0.1";
  return {
    server,
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await provider.close();
    },
  };
}
