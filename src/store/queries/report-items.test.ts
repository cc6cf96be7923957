import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type NewItem, Store } from "../store.js";

let dir: string;
let store: Store;

const item = (scenarioId: string): NewItem => ({
  model: "m",
  condition: "baseline",
  scenarioId,
  category: "c",
  epoch: 0,
  seed: null,
  context: "ctx",
  systemPrompt: undefined,
  userPrompt: `prompt ${scenarioId}`,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-queries-"));
  store = Store.open(join(dir, "s.sqlite"));
  store.createRun({ id: "r1", name: "r1", kind: "live", config: {}, versions: {} });
  store.addItems("r1", [item("c-1"), item("c-2")]);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the viewer's reads", () => {
  it("readSnapshot sees one snapshot while another process writes", () => {
    const writer = Store.open(store.path);
    try {
      const seen = store.readSnapshot(() => {
        const before = store.runWriteMarks("r1").n;
        writer.addItems("r1", [item("c-3")]);
        return { before, after: store.itemsWithVerdicts("r1").rows.length };
      });
      expect(seen).toEqual({ before: 2, after: 2 });
      // Outside the snapshot the new item is there.
      expect(store.itemCountsByRun().get("r1")).toBe(3);
    } finally {
      writer.close();
    }
  });

  it("itemsWithVerdicts with a time returns only items written since", () => {
    const [a] = store.items("r1");
    const since = new Date(Date.now() - 1).toISOString();
    store.saveResponse({
      itemId: a!.id,
      status: "ok",
      response: "text",
      thinking: null,
      promptTokens: null,
      completionTokens: null,
      latencyMs: null,
      finishReason: null,
      requestJson: null,
      error: null,
    });
    const changed = store.itemsWithVerdicts("r1", since);
    expect(changed.rows.map((r) => [r.id, r.r_status, r.response])).toEqual([[a!.id, "ok", "text"]]);
    expect(store.itemsWithVerdicts("r1").rows.map((r) => r.r_status)).toEqual(["ok", null]);
    expect(store.runWriteMarks("r1").r).not.toBeNull();
  });
});
