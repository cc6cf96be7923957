import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ItemRecord, type NewItem, Store, StoreError } from "./store.js";
import { WriteBehind } from "./write-behind.js";

let dir: string;
let store: Store;
let items: ItemRecord[];
/** A second connection to the same file: it sees only what is committed. */
let reader: Database.Database;

const newItem = (i: number): NewItem => ({
  model: "m",
  condition: "baseline",
  scenarioId: `s-${i}`,
  category: "s",
  epoch: 0,
  seed: null,
  context: "ctx",
  systemPrompt: undefined,
  userPrompt: `prompt ${i}`,
});

const answer = (itemId: number, text = `answer ${itemId}`) => ({
  itemId,
  status: "ok" as const,
  response: text,
  thinking: null,
  promptTokens: 1,
  completionTokens: 1,
  latencyMs: 1,
  finishReason: "stop",
  requestJson: null,
  error: null,
});

const verdict = (itemId: number, ofResponse: string) => ({
  itemId,
  judge: "j",
  status: "ok" as const,
  label: "no_convergence" as const,
  reason: null,
  raw: "{}",
  scores: null,
  error: null,
  latencyMs: 1,
  ofResponse,
});

const committed = (table: "responses" | "judgements" | "judge_cache"): number =>
  (reader.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-wb-"));
  store = Store.open(join(dir, "s.sqlite"));
  store.createRun({ id: "r", name: "r", kind: "live", config: {}, versions: {} });
  items = store.addItems(
    "r",
    Array.from({ length: 20 }, (_, i) => newItem(i)),
  );
  reader = new Database(store.path, { readonly: true });
});
afterEach(() => {
  reader.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("WriteBehind", () => {
  it("commits one turn's writes together at the next turn, and resolves each only once it is committed", async () => {
    const wb = new WriteBehind(store);
    const seenAtResolve: number[] = [];
    const writes = items.map((it) =>
      wb.saveResponse(answer(it.id)).then(() => seenAtResolve.push(committed("responses"))),
    );
    wb.setCachedReply("k", "reply");
    // Queued, not yet written: another connection sees nothing.
    expect(wb.pending).toBe(21);
    expect(committed("responses")).toBe(0);
    await Promise.all(writes);
    // Every write was already visible to the other connection when its promise resolved.
    expect(seenAtResolve).toEqual(items.map(() => 20));
    expect(committed("judge_cache")).toBe(1);
    expect(wb.pending).toBe(0);
  });

  it("fails a refused verdict alone; the rest of its batch is committed", async () => {
    const wb = new WriteBehind(store);
    await Promise.all(items.slice(0, 3).map((it) => wb.saveResponse(answer(it.id))));
    const [a, b, c] = items;
    const results = await Promise.allSettled([
      wb.saveJudgement(verdict(a!.id, `answer ${a!.id}`)),
      wb.saveJudgement(verdict(b!.id, "a different answer")),
      wb.saveJudgement(verdict(c!.id, `answer ${c!.id}`)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
    expect(committed("judgements")).toBe(2);
  });

  it("fails a write SQLite rejects alone, with SQLite's error; the others are committed", async () => {
    const wb = new WriteBehind(store);
    const results = await Promise.allSettled([
      wb.saveResponse(answer(items[0]!.id)),
      wb.saveResponse(answer(999_999)), // no such item: foreign key
      wb.saveResponse(answer(items[1]!.id)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(committed("responses")).toBe(2);
  });

  it("flush() commits what is queued at once", async () => {
    const wb = new WriteBehind(store);
    const write = wb.saveResponse(answer(items[0]!.id));
    wb.flush();
    expect(committed("responses")).toBe(1);
    await write;
  });
});
