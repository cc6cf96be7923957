// Request checks that come before any route: DNS rebinding (a loopback server answers loopback Host names
// only, as `steerbench view` does), cross-origin browser requests (refused by Origin, and a POST must say
// application/json, which no page can send cross-origin without a CORS preflight this server never grants),
// and malformed HTTP that node's parser rejects (an answer with a status instead of a silently closed socket).
import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { RequestError } from "./openai-request.js";

export const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** The Host header's name part, lower-cased (IPv6 literals keep their brackets). */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header.trim());
  return m?.[1]?.toLowerCase();
}

export interface GuardOptions {
  /** The address the server is bound to. */
  bindHost: string;
}

/** Throws RequestError (421, 403 or 415) for requests this server must not execute. */
export function guardRequest(req: IncomingMessage, opts: GuardOptions): void {
  const host = req.headers.host;
  if (LOOPBACK_NAMES.has(opts.bindHost.toLowerCase())) {
    const name = hostName(host);
    if (name === undefined || !LOOPBACK_NAMES.has(name))
      throw new RequestError(
        421,
        "this server answers loopback host names only",
        undefined,
        "misdirected_request",
      );
  }
  const origin = req.headers.origin;
  // Same-origin is the only origin allowed: no CORS is ever granted, so no foreign page may drive the model.
  if (origin !== undefined && origin !== `http://${host ?? ""}`)
    throw new RequestError(
      403,
      `cross-origin requests are refused (Origin ${origin})`,
      undefined,
      "forbidden",
    );
  if (req.method === "POST") {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json")
      throw new RequestError(
        415,
        `content-type must be application/json (got ${type ? JSON.stringify(type) : "none"})`,
        undefined,
        "unsupported_media_type",
      );
  }
}

/** node's `clientError`: answer 431 for oversized headers, 400 for anything else it cannot parse. */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || err.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const status =
    err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const message =
    status === 431
      ? "request headers are larger than this server accepts"
      : status === 408
        ? "request timed out"
        : "malformed HTTP request";
  const body = JSON.stringify({ error: { message, type: "invalid_request_error", code: status } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
