import { describe, expect, it } from "vitest";
import { tokenLogProb } from "./logprob.js";

describe("tokenLogProb", () => {
  it("matches a direct softmax and sums to one", () => {
    const logits = Float32Array.from([1, 2, 3, -1]);
    const z = [1, 2, 3, -1].reduce((s, v) => s + Math.exp(v), 0);
    expect(tokenLogProb(logits, 2)).toBeCloseTo(3 - Math.log(z), 6);
    const total = [0, 1, 2, 3].reduce((s, t) => s + Math.exp(tokenLogProb(logits, t)), 0);
    expect(total).toBeCloseTo(1, 6);
  });

  it("is stable for large logits", () => {
    const logits = Float32Array.from([1000, 999, -1000]);
    expect(tokenLogProb(logits, 0)).toBeCloseTo(-Math.log(1 + Math.exp(-1)), 6);
    expect(Number.isFinite(tokenLogProb(logits, 2))).toBe(true);
  });

  it("rejects tokens outside the vocabulary", () => {
    expect(() => tokenLogProb(Float32Array.from([0, 0]), 2)).toThrow(/outside the vocabulary/);
  });
});
