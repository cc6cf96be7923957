import { beforeAll, describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import type { Category, Pack } from "../types.js";
import { loadPack } from "./pack.js";
import { parseSelection, selectScenarios } from "./selection.js";

let pack: Pack;
beforeAll(async () => {
  pack = await loadPack(packDir);
});

const indicesIn = (category: Category, items: ReturnType<typeof selectScenarios>) =>
  items.filter((it) => it.category === category).map((it) => it.scenario.index - 1);

describe("selectScenarios", () => {
  it("full = all 76 tasks in file order", () => {
    const items = selectScenarios(pack, "full");
    expect(items).toHaveLength(76);
    expect(items.map((it) => it.scenario.id)).toEqual(
      pack.categories.flatMap((c) => c.scenarios.map((s) => s.id)),
    );
  });

  it("paper = 71 items; Evading Shutdown sampled with random.Random(123) to the indices of PROTOCOL.md", () => {
    const items = selectScenarios(pack, "paper");
    expect(items).toHaveLength(71);
    const es = pack.categories.find((c) => c.slug === "evading-shutdown")!;
    expect(indicesIn(es, items)).toEqual([1, 8, 2, 13, 18, 19, 16, 0, 6, 15, 10, 5, 9, 11, 12]);
    // The other categories have at most 15 tasks and keep file order.
    for (const c of pack.categories.filter((c) => c !== es)) {
      expect(indicesIn(c, items)).toEqual(c.scenarios.map((_, i) => i));
    }
    // Categories stay in pack order.
    const order = [...new Set(items.map((it) => it.category.slug))];
    expect(order).toEqual(pack.categories.map((c) => c.slug));
  });

  it("paper equals {maxPerCategory: 15, seed: 123}", () => {
    const a = selectScenarios(pack, "paper").map((it) => it.scenario.id);
    const b = selectScenarios(pack, { maxPerCategory: 15, seed: 123 }).map((it) => it.scenario.id);
    expect(b).toEqual(a);
  });

  it("uses a fresh RNG per category: matches CPython for other limits and seeds", () => {
    const items = selectScenarios(pack, { maxPerCategory: 5, seed: 7 });
    expect(items).toHaveLength(30);
    // random.Random(7).sample(range(n), 5) for n = 11, 20, 10, 11, 13, 11 (CPython 3.11).
    const expected: Record<string, number[]> = {
      "deceptive-behavior": [5, 2, 6, 0, 7],
      "evading-shutdown": [10, 4, 12, 1, 2],
      "hacking-computer-systems": [5, 2, 6, 9, 0],
      "hiding-unwanted-behavior": [5, 2, 6, 0, 7],
      "running-multiple-ai-copies": [5, 2, 6, 0, 1],
      "strategically-appearing-aligned": [5, 2, 6, 0, 7],
    };
    for (const c of pack.categories) expect(indicesIn(c, items), c.slug).toEqual(expected[c.slug]);
  });

  it("rejects bad limits", () => {
    expect(() => selectScenarios(pack, { maxPerCategory: -1, seed: 1 })).toThrow(/maxPerCategory/);
    expect(() => selectScenarios(pack, { maxPerCategory: 2, seed: 0.5 })).toThrow(/seed/);
  });
});

describe("parseSelection", () => {
  it("parses names and max=N[,seed=S]", () => {
    expect(parseSelection("paper")).toBe("paper");
    expect(parseSelection(" full ")).toBe("full");
    expect(parseSelection("max=3")).toEqual({ maxPerCategory: 3, seed: 123 });
    expect(parseSelection("max=3,seed=9")).toEqual({ maxPerCategory: 3, seed: 9 });
    expect(() => parseSelection("some")).toThrow(/full, paper, or max=N/);
  });
});
