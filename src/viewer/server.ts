// `steerbench view`: a small HTTP server on the loopback interface that serves the report UI and a
// JSON API over the SQLite store. The store is read in WAL mode, so a run writing to it in another
// process is never blocked, and the UI polls /delta to show its progress live.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ConditionPair } from "../metrics/index.js";
import { loadWebAssets, type WebAssets } from "../report/html/assets.js";
import { escapeHtml } from "../report/html/embed.js";
import { loadItems, parseCursor, runCursor } from "../report/html/items.js";
import { buildSummary } from "../report/html/summary.js";
import type { ReportData, ReportDelta, RunListEntry } from "../report/html/types.js";
import type { Store } from "../store/store.js";
import { STEERBENCH_VERSION } from "../version.js";

export const VIEWER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // PNG export draws the chart's SVG (a data: URL) onto a canvas; downloads use blob: URLs.
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": VIEWER_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};

// Writes carry their own time stamps, taken before they commit; a delta re-reads this much before the
// cursor so a write that committed late is never missed (items seen twice are merged by id).
const CURSOR_MARGIN_MS = 5000;

export interface ViewerOptions {
  store: Store;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** The UI bundle (default: dist/web). */
  assets?: WebAssets;
  /** Gap pairs for Table 1 (default: as in the report). */
  pairs?: readonly ConditionPair[];
}

export interface ViewerServer {
  url: string;
  host: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function shellHtml(): string {
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`steerbench view ${STEERBENCH_VERSION}`)}</title>`,
    '<link rel="stylesheet" href="/app.css">',
    "</head>",
    "<body>",
    '<div id="app"></div>',
    '<script src="/app.js"></script>',
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function isoMinus(time: string, ms: number): string {
  const t = Date.parse(time);
  return Number.isNaN(t) ? "" : new Date(t - ms).toISOString();
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** The Host header's name part (DNS-rebinding guard: a loopback server answers loopback names only). */
function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header.trim());
  return m?.[1]?.toLowerCase();
}

export function runList(store: Store): RunListEntry[] {
  const counts = store.itemCountsByRun();
  return store.listRuns().map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    status: r.status,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    items: counts.get(r.id) ?? 0,
  }));
}

/** The viewer's poll answer: unchanged, or the new summary with the items changed since `since`. */
export function runDelta(
  store: Store,
  runId: string,
  since: string,
  pairs?: readonly ConditionPair[],
): ReportDelta {
  // One read transaction: summary, cursor and items come from the same snapshot of the store.
  return store.readSnapshot((): ReportDelta => {
    const run = store.getRun(runId);
    if (!run) throw new HttpError(404, `no run "${runId}" in this store`);
    const cursor = runCursor(store, runId);
    if (since === cursor) return { cursor, changed: false, full: false };
    const summary = buildSummary(store, run, pairs ? { pairs } : {});
    const prev = parseCursor(since);
    const full = prev === undefined || prev.items !== summary.progress.items;
    const items = full
      ? loadItems(store, runId)
      : loadItems(store, runId, isoMinus(prev.time, CURSOR_MARGIN_MS));
    return { cursor, changed: true, full, summary, items };
  });
}

export async function startViewer(opts: ViewerOptions): Promise<ViewerServer> {
  const { store } = opts;
  const host = opts.host ?? "127.0.0.1";
  const assets = opts.assets ?? loadWebAssets();
  const shell = shellHtml();
  const loopbackOnly = LOOPBACK.has(host);

  const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean) => {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      "content-type": type,
      "content-length": Buffer.byteLength(body),
    });
    res.end(head ? undefined : body);
  };
  const json = (res: ServerResponse, status: number, value: unknown, head: boolean) =>
    send(res, status, "application/json; charset=utf-8", JSON.stringify(value), head);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const head = req.method === "HEAD";
    try {
      if (req.method !== "GET" && !head) {
        res.setHeader("allow", "GET, HEAD");
        throw new HttpError(405, `method ${req.method ?? "?"} not allowed`);
      }
      if (loopbackOnly) {
        const name = hostName(req.headers.host);
        if (name === undefined || !LOOPBACK.has(name))
          throw new HttpError(421, "this server answers loopback host names only");
      }
      const url = new URL(req.url ?? "/", "http://localhost");
      const path = url.pathname;
      if (path === "/" || path === "/index.html")
        return send(res, 200, "text/html; charset=utf-8", shell, head);
      if (path === "/app.js") return send(res, 200, "text/javascript; charset=utf-8", assets.js, head);
      if (path === "/app.css") return send(res, 200, "text/css; charset=utf-8", assets.css, head);
      // Browsers ask for it on their own; answer without a 404 in the console.
      if (path === "/favicon.ico") return send(res, 204, "image/x-icon", "", head);
      if (path === "/api/runs") return json(res, 200, { runs: runList(store) }, head);
      const m = /^\/api\/runs\/([^/]+)\/(delta|report)$/.exec(path);
      if (m) {
        const runId = decodeURIComponent(m[1]!);
        if (m[2] === "delta")
          return json(
            res,
            200,
            runDelta(store, runId, url.searchParams.get("since") ?? "", opts.pairs),
            head,
          );
        const run = store.getRun(runId);
        if (!run) throw new HttpError(404, `no run "${runId}" in this store`);
        const data: ReportData = {
          summary: buildSummary(store, run, opts.pairs ? { pairs: opts.pairs } : {}),
          items: loadItems(store, runId),
        };
        return json(res, 200, data, head);
      }
      throw new HttpError(404, `not found: ${path}`);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      json(res, status, { error: message }, head);
    }
  };

  const server = createServer(handle);
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolvePromise();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}/`,
    host: address.address,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolvePromise, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolvePromise()));
      }),
  };
}
