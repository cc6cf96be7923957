// A full live run spread over three loopback servers, one of which is closed mid-run: the run finishes,
// every item has exactly one response and one verdict, and the dead server sees nothing after its death
// but probes spaced by the (doubling) cooldown.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRunConfig } from "../src/config/run-config.js";
import { createMultiEndpointProvider, type EndpointEvent } from "../src/providers/multi-endpoint.js";
import type { ModelProvider } from "../src/providers/provider.js";
import { setMultiEndpointFactory } from "../src/runner/connect.js";
import { runEvaluation } from "../src/runner/run.js";
import { Store } from "../src/store/store.js";
import type { FakeOpenAIServer } from "./helpers/fake-openai-server.js";
import { expectedLabel, JUDGE, SUBJECT, startScriptedEvalServer } from "./helpers/scripted-eval-server.js";
import { packDir } from "./paths.js";

const COOLDOWN_MS = 25;

interface Call {
  pool: number;
  endpoint: string;
  start: number;
  end: number;
  ok: boolean;
}

let dir: string;
let servers: FakeOpenAIServer[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-multi-"));
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  rmSync(dir, { recursive: true, force: true });
});

/** Records every call a provider gets (start, end, outcome); it changes nothing about the call. */
function observe(p: ModelProvider, pool: number, calls: Call[], onCall: () => void): ModelProvider {
  return {
    id: p.id,
    model: p.model,
    close: () => p.close(),
    async generate(req) {
      const call: Call = { pool, endpoint: p.id, start: performance.now(), end: Number.NaN, ok: false };
      calls.push(call);
      onCall();
      try {
        const g = await p.generate(req);
        call.ok = true;
        return g;
      } finally {
        call.end = performance.now();
      }
    },
  };
}

describe("a live run over several endpoints", () => {
  it("finishes with every item answered and judged once when one server dies mid-run", async () => {
    servers = await Promise.all([0, 1, 2].map(() => startScriptedEvalServer({ latencyMs: 10 })));
    const victim = servers[1]!;
    const calls: Call[] = [];
    const events: Array<EndpointEvent & { pool: number; t: number }> = [];
    let diedAt = Number.NaN;
    let pools = 0;
    setMultiEndpointFactory((providers, concurrency) => {
      const pool = pools++;
      const onCall = () => {
        // Close the victim once it has served a fair share of the work.
        if (Number.isNaN(diedAt) && calls.filter((c) => c.endpoint.includes(victim.origin)).length === 60) {
          diedAt = performance.now();
          void victim.close();
        }
      };
      return createMultiEndpointProvider(
        providers.map((p) => observe(p, pool, calls, onCall)),
        {
          concurrencyPerEndpoint: concurrency,
          cooldownMs: COOLDOWN_MS,
          onEvent: (e) => events.push({ ...e, pool, t: performance.now() }),
        },
      );
    });

    const baseUrls = servers.map((s) => s.baseUrl);
    const config = parseRunConfig({
      selection: "paper",
      models: [{ name: "subject", model: SUBJECT, baseUrls }],
      judges: [{ name: "judge", model: JUDGE, baseUrls }],
      retry: { retries: 3, baseDelayMs: 5, maxDelayMs: 50 },
      concurrency: 4,
    });
    const store = Store.open(join(dir, "s.sqlite"));
    const summary = await runEvaluation({ config, store, packDir });
    const endedAt = performance.now();

    expect(Number.isNaN(diedAt)).toBe(false);
    expect(summary.items).toBe(213);
    expect(summary.generated).toBe(213);
    expect(summary.judged).toBe(213);
    expect(summary.generationErrors + summary.judgeErrors + summary.judgeFailures).toBe(0);

    // The store: exactly one ok response and one ok verdict per item, with the right label.
    const runId = summary.run.id;
    const db = new Database(store.path, { readonly: true });
    const count = (sql: string) => (db.prepare(sql).get(runId) as { n: number }).n;
    expect(count("SELECT COUNT(*) AS n FROM items WHERE run_id = ?")).toBe(213);
    expect(
      count(
        "SELECT COUNT(*) AS n FROM responses r JOIN items i ON i.id = r.item_id WHERE i.run_id = ? AND r.status = 'ok'",
      ),
    ).toBe(213);
    expect(
      count(
        "SELECT COUNT(DISTINCT j.item_id) AS n FROM judgements j JOIN items i ON i.id = j.item_id WHERE i.run_id = ?",
      ),
    ).toBe(213);
    expect(
      count(
        "SELECT COUNT(*) AS n FROM judgements j JOIN items i ON i.id = j.item_id WHERE i.run_id = ? AND j.status = 'ok'",
      ),
    ).toBe(213);
    for (const j of store.judgements(runId))
      expect(j.label).toBe(expectedLabel(store.response(j.itemId)!.response!));
    // The engine saw no failure: the calls that died with the server were redone on the others.
    expect(
      count(
        "SELECT COALESCE(MAX(r.attempts), 0) AS n FROM responses r JOIN items i ON i.id = r.item_id WHERE i.run_id = ?",
      ),
    ).toBe(1);
    db.close();
    store.close();

    // Both pools (subject and judge) used all three servers, and the live ones carried the rest.
    for (const s of servers)
      expect(calls.filter((c) => c.endpoint.includes(s.origin) && c.ok).length).toBeGreaterThan(0);
    const failedOnVictim = calls.filter((c) => c.endpoint.includes(victim.origin) && !c.ok);
    expect(failedOnVictim.length).toBeGreaterThan(0);

    // After the provider took the victim out, its calls are probes: one at a time, the first one no
    // sooner than the cooldown, and no more than a doubling cooldown allows.
    for (const pool of [0, 1]) {
      const down = events.find(
        (e) => e.pool === pool && e.kind === "down" && e.endpoint.includes(victim.origin),
      );
      if (!down) continue; // this pool had nothing in flight there when it died, and never went back
      expect(down.t).toBeGreaterThanOrEqual(diedAt);
      const after = calls.filter(
        (c) => c.pool === pool && c.endpoint.includes(victim.origin) && c.start > down.t,
      );
      expect(after.every((c) => !c.ok)).toBe(true);
      for (let k = 1; k < after.length; k++)
        expect(after[k]!.start).toBeGreaterThanOrEqual(after[k - 1]!.end);
      if (after.length > 0) expect(after[0]!.start - down.t).toBeGreaterThanOrEqual(COOLDOWN_MS - 2);
      const span = endedAt - down.t;
      expect(after.length).toBeLessThanOrEqual(Math.floor(Math.log2(span / COOLDOWN_MS + 1)) + 1);
    }
    // At least one pool noticed the death and probed during the rest of the run.
    const probes = calls.filter((c) =>
      events.some(
        (e) => e.kind === "down" && e.pool === c.pool && c.endpoint.includes(victim.origin) && c.start > e.t,
      ),
    );
    expect(events.some((e) => e.kind === "down")).toBe(true);
    expect(probes.length).toBeGreaterThan(0);
  });
});
