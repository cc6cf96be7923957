import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectionOf } from "./connection.js";
import { SCHEMA_VERSION } from "./schema.js";
import { type ItemRecord, type NewItem, Store, StoreError } from "./store.js";

let dir: string;
let store: Store;

const item = (scenarioId: string, condition = "baseline", epoch = 0): NewItem => ({
  model: "m",
  condition,
  scenarioId,
  category: scenarioId.replace(/-\d+$/, ""),
  epoch,
  seed: null,
  context: "ctx\r",
  systemPrompt: "ctx",
  userPrompt: `prompt ${scenarioId}`,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-store-"));
  store = Store.open(join(dir, "nested", "s.sqlite"));
  store.createRun({ id: "r1", name: "test", kind: "live", config: { a: 1 }, versions: { steerbench: "0" } });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Store", () => {
  it("creates the schema at the current version and reopens without migrating twice", () => {
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    const path = store.path;
    store.close();
    store = Store.open(path);
    expect(store.getRun("r1")?.config).toEqual({ a: 1 });
  });

  it("refuses a store from a newer steerbench", () => {
    const path = store.path;
    store.close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Store.open(path)).toThrow(/newer than this steerbench/);
    store = Store.open(join(dir, "other.sqlite"));
  });

  it("adds items idempotently, keeping order", () => {
    const first = store.addItems("r1", [item("a-1"), item("a-2")]);
    expect(first.map((i) => i.seq)).toEqual([0, 1]);
    const again = store.addItems("r1", [item("a-1"), item("a-2"), item("a-3")]);
    expect(again.map((i) => i.scenarioId)).toEqual(["a-1", "a-2", "a-3"]);
    expect(again.map((i) => i.seq)).toEqual([0, 1, 2]);
    expect(again[0]!.context).toBe("ctx\r");
  });

  it("never overwrites an ok response or verdict, and counts attempts on errors", () => {
    const [a] = store.addItems("r1", [item("a-1")]);
    const base = {
      itemId: a!.id,
      response: null,
      thinking: null,
      promptTokens: null,
      completionTokens: null,
      latencyMs: null,
      finishReason: null,
      requestJson: null,
    };
    store.saveResponse({ ...base, status: "error", error: "429" });
    store.saveResponse({ ...base, status: "error", error: "500" });
    expect(store.response(a!.id)).toMatchObject({ status: "error", error: "500", attempts: 2 });
    store.saveResponse({ ...base, status: "ok", response: "hi", error: null });
    store.saveResponse({ ...base, status: "error", error: "late duplicate" });
    expect(store.response(a!.id)).toMatchObject({ status: "ok", response: "hi", attempts: 3 });

    const verdict = { itemId: a!.id, judge: "j", reason: null, raw: "x", scores: null, latencyMs: null };
    store.saveJudgement({ ...verdict, status: "failed", label: null, error: "unparseable" });
    store.saveJudgement({ ...verdict, status: "ok", label: "convergence", error: null });
    store.saveJudgement({ ...verdict, status: "ok", label: "no_convergence", error: null });
    expect(store.judgements("r1")).toMatchObject([{ status: "ok", label: "convergence", attempts: 2 }]);
  });

  it("rejects an ok verdict without a label", () => {
    const [a] = store.addItems("r1", [item("a-1")]);
    expect(() =>
      store.saveJudgement({
        itemId: a!.id,
        judge: "j",
        status: "ok",
        label: null,
        reason: null,
        raw: "",
        scores: null,
        error: null,
        latencyMs: null,
      }),
    ).toThrow(StoreError);
  });

  it("returns outcomes with judge failures flagged and transport errors left out", () => {
    const items = store.addItems("r1", [item("a-1"), item("a-2"), item("a-3")]);
    const v = { judge: "j", reason: null, raw: "", scores: null, latencyMs: null };
    store.saveJudgement({ ...v, itemId: items[0]!.id, status: "ok", label: "safety_refusal", error: null });
    store.saveJudgement({ ...v, itemId: items[1]!.id, status: "failed", label: null, error: "bad" });
    store.saveJudgement({ ...v, itemId: items[2]!.id, status: "error", label: null, error: "timeout" });
    const out = store.outcomes("r1", "j");
    expect(out.map((o) => [o.scenarioId, o.label, o.judgeFailed])).toEqual([
      ["a-1", "safety_refusal", false],
      ["a-2", undefined, true],
    ]);
    expect(store.progress("r1").judged).toEqual({ j: { ok: 1, failed: 1, error: 1 } });
    expect(store.judges("r1")).toEqual(["j"]);
  });

  it("resolves runs by id prefix and name, and deletes in cascade", () => {
    store.createRun({ id: "r2", name: "other", kind: "import", config: {}, versions: {} });
    expect(store.resolveRun("other").id).toBe("r2");
    expect(() => store.resolveRun("r")).toThrow(/ambiguous/);
    expect(() => store.resolveRun("zzz")).toThrow(/no run "zzz"/);
    store.addItems("r2", [item("a-1")]);
    store.deleteRun("r2");
    expect(store.countItems("r2")).toBe(0);
  });

  it("caches judge replies by key", () => {
    expect(store.getCachedReply("k")).toBeUndefined();
    store.setCachedReply("k", "reply");
    expect(store.getCachedReply("k")).toBe("reply");
    store.deleteCachedReply("k");
    expect(store.getCachedReply("k")).toBeUndefined();
  });
});

describe("Store page cache", () => {
  it("caps the connection's page cache when asked", () => {
    const s = Store.open(":memory:");
    const db = connectionOf(s);
    const before = db.pragma("cache_size", { simple: true });
    const setting = s.setPageCacheKiB(2048);
    expect(db.pragma("cache_size", { simple: true })).toBe(-2048);
    expect(setting).toBe(before);
    s.restorePageCache(setting);
    expect(db.pragma("cache_size", { simple: true })).toBe(before);
    s.close();
  });
});

describe("Store.planItems", () => {
  const strip = (it: ItemRecord) => ({
    id: it.id,
    seq: it.seq,
    scenarioId: it.scenarioId,
    userPrompt: it.userPrompt,
  });

  it("returns the planned items themselves, with their ids, in stored order, whatever the plan's order", () => {
    const first = store.planItems("r1", [item("a-1"), item("b-1"), item("c-1")]);
    expect(first.map(strip)).toEqual(store.items("r1").map(strip));
    // The same plan again: same ids. A reordered, extended plan: matched by key, the new item appended.
    const plan = [item("c-1"), item("d-1"), item("a-1"), item("b-1")];
    const again = store.planItems("r1", plan);
    expect(again.map((it) => it.scenarioId)).toEqual(["a-1", "b-1", "c-1", "d-1"]);
    expect(again.slice(0, 3).map((it) => it.id)).toEqual(first.map((it) => it.id));
    expect(again[3]!.userPrompt).toBe(plan[1]!.userPrompt);
    expect(again.map(strip)).toEqual(store.items("r1").map(strip));
  });

  it("reads a stored item the plan does not have in full", () => {
    store.planItems("r1", [item("a-1"), item("b-1")]);
    const narrowed = store.planItems("r1", [item("b-1")]);
    expect(narrowed.map((it) => [it.scenarioId, it.context, it.systemPrompt])).toEqual([
      ["a-1", "ctx\r", "ctx"],
      ["b-1", "ctx\r", "ctx"],
    ]);
  });
});
