import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ReportDelta } from "../report/html/types.js";
import { Store } from "../store/store.js";
import { startViewer, VIEWER_CSP, type ViewerServer } from "./server.js";

// A tiny stand-in bundle: these tests are about the HTTP layer, the browser tests use the real one.
const assets = { js: "/* app */", css: "/* css */" };

let dir: string;
let store: Store;
let writer: Store;
let viewer: ViewerServer;

function seed(s: Store): number[] {
  s.createRun({ id: "run-a", name: "run a", kind: "live", config: {}, versions: {} });
  const items = s.addItems(
    "run-a",
    ["baseline", "pro_ic"].flatMap((condition) =>
      [1, 2, 3].map((i) => ({
        model: "m",
        condition,
        scenarioId: `cat-${i}`,
        category: "cat",
        epoch: 0,
        seed: null,
        context: "ctx",
        systemPrompt: "sys",
        userPrompt: `task ${i}${condition === "pro_ic" ? " suffix" : ""}`,
      })),
    ),
  );
  for (const item of items) {
    s.saveResponse({
      itemId: item.id,
      status: "ok",
      response: `answer ${item.id}`,
      thinking: null,
      promptTokens: 1,
      completionTokens: 2,
      latencyMs: 3,
      finishReason: "stop",
      requestJson: null,
      error: null,
    });
  }
  return items.map((i) => i.id);
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(path: string, init: { method?: string; host?: string } = {}): Promise<Reply> {
  const url = new URL(path, viewer.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: init.method ?? "GET",
        headers: init.host ? { host: init.host } : {},
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

let itemIds: number[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "steerbench-viewer-"));
  store = Store.open(join(dir, "s.sqlite"));
  itemIds = seed(store);
  // A second connection plays the part of a run writing from another process.
  writer = Store.open(join(dir, "s.sqlite"));
  viewer = await startViewer({ store, assets, port: 0 });
});

afterAll(async () => {
  await viewer?.close();
  writer?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("steerbench view server", () => {
  test("listens on 127.0.0.1 and serves the shell, bundle and API with a strict CSP", async () => {
    expect(viewer.host).toBe("127.0.0.1");
    for (const path of [
      "/",
      "/app.js",
      "/app.css",
      "/api/runs",
      "/api/runs/run-a/delta",
      "/nope",
      "/api/runs/nope/delta",
    ]) {
      const res = await get(path);
      expect(res.headers["content-security-policy"], path).toBe(VIEWER_CSP);
      expect(res.headers["x-content-type-options"], path).toBe("nosniff");
    }
    expect(VIEWER_CSP).toMatch(/default-src 'none'/);
    expect(VIEWER_CSP).toMatch(/script-src 'self'/);
    expect(VIEWER_CSP).not.toMatch(/unsafe/);
    const shell = await get("/");
    expect(shell.status).toBe(200);
    expect(shell.body).toContain('<script src="/app.js"></script>');
    expect(shell.body).not.toMatch(/<script>/);
    expect((await get("/app.js")).headers["content-type"]).toMatch(/^text\/javascript/);
  });

  test("refuses other methods, unknown paths and foreign Host headers", async () => {
    expect((await get("/", { method: "POST" })).status).toBe(405);
    const missing = await get("/api/runs/nope/delta");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'no run "nope" in this store' });
    expect((await get("/", { host: "evil.example:80" })).status).toBe(421);
    expect((await get("/", { host: `localhost:${viewer.port}` })).status).toBe(200);
  });

  test("lists runs with item counts", async () => {
    const res = JSON.parse((await get("/api/runs")).body) as {
      runs: { id: string; items: number; status: string }[];
    };
    expect(res.runs).toEqual([expect.objectContaining({ id: "run-a", items: 6, status: "running" })]);
  });

  test("delta: full first, unchanged when nothing was written, then only what changed", async () => {
    const first = JSON.parse((await get("/api/runs/run-a/delta?since=")).body) as ReportDelta;
    expect(first.changed).toBe(true);
    expect(first.full).toBe(true);
    expect(first.items?.items).toHaveLength(6);
    expect(first.summary?.judges).toEqual([]);
    expect(first.summary?.progress).toEqual({ items: 6, responded: 6, judged: 0 });

    const same = JSON.parse(
      (await get(`/api/runs/run-a/delta?since=${encodeURIComponent(first.cursor)}`)).body,
    ) as ReportDelta;
    expect(same).toEqual({ cursor: first.cursor, changed: false, full: false });

    // Cursor times have millisecond resolution: let the clock move before writing.
    await new Promise((r) => setTimeout(r, 5));
    writer.saveJudgement({
      itemId: itemIds[0]!,
      judge: "j",
      status: "ok",
      label: "convergence",
      reason: "why",
      raw: "{}",
      scores: null,
      error: null,
      latencyMs: 1,
    });
    const next = JSON.parse(
      (await get(`/api/runs/run-a/delta?since=${encodeURIComponent(first.cursor)}`)).body,
    ) as ReportDelta;
    expect(next.changed).toBe(true);
    expect(next.full).toBe(false);
    expect(next.cursor).not.toBe(first.cursor);
    // Everything written within the safety margin comes again; the new verdict is among it.
    const judged = next.items?.items.find((i) => i.id === itemIds[0]);
    expect(judged?.verdicts.j).toEqual({ status: "ok", label: "convergence", reason: "why", error: null });
    expect(next.summary?.judges).toEqual(["j"]);
    expect(next.summary?.tables[0]?.table.rows[0]).toMatchObject({
      model: "m",
      condition: "baseline",
      convergence: 1,
      valid: 1,
    });
  });
});
