import { describe, expect, it } from "vitest";
import { itemMajor } from "./order.js";

describe("itemMajor", () => {
  it("puts every condition of an item next to each other, keeping first-seen order, losing nothing", () => {
    const items = ["a", "b"].flatMap((condition) =>
      ["s1", "s2", "s3"].map((scenarioId) => ({ model: "m", condition, scenarioId, epoch: 0 })),
    );
    const out = itemMajor(items);
    expect(out.map((i) => `${i.scenarioId}/${i.condition}`)).toEqual([
      "s1/a",
      "s1/b",
      "s2/a",
      "s2/b",
      "s3/a",
      "s3/b",
    ]);
    expect(new Set(out)).toEqual(new Set(items));
  });
});
