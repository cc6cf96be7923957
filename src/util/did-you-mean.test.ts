import { describe, expect, it } from "vitest";
import { closest, didYouMean, editDistance } from "./did-you-mean.js";

describe("did you mean", () => {
  it("measures edits", () => {
    expect(editDistance("papr", "paper")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("Kitten", "sitting")).toBe(3);
  });

  it("suggests only close candidates", () => {
    expect(closest("papr", ["paper", "full"])).toBe("paper");
    expect(closest("selecton", ["selection", "models"])).toBe("selection");
    expect(closest("zzzzz", ["paper", "full"])).toBeUndefined();
    expect(didYouMean("pro-ic", ["baseline", "pro_ic", "anti_ic"])).toBe(' (did you mean "pro_ic"?)');
    expect(didYouMean("xyz", ["baseline"])).toBe("");
  });
});
