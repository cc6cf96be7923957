import { describe, expect, it } from "vitest";
import { Z95 } from "./interval.js";
import { wilson } from "./wilson.js";

describe("wilson", () => {
  // Newcombe (1998) "Two-sided confidence intervals for the single proportion", Table I, method 3.
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
    [29, 29, 0.883, 1],
  ])("matches Newcombe 1998 Table I for %i/%i", (k, n, low, high) => {
    const ci = wilson(k, n)!;
    expect(ci[0]).toBeCloseTo(low, 4);
    expect(ci[1]).toBeCloseTo(high, 4);
  });

  // Full-precision values from an independent python3 evaluation of the closed form.
  it.each([
    [58, 71, 0.7115182772560875, 0.8897527389571511],
    [2, 71, 0.007759263582683515, 0.0970150011664947],
    [29, 44, 0.5113914121793823, 0.7812418048065555],
    [0, 1, 0, 0.7934506856227626],
  ])("matches the closed form to 1e-12 for %i/%i", (k, n, low, high) => {
    const ci = wilson(k, n)!;
    expect(ci[0]).toBeCloseTo(low, 12);
    expect(ci[1]).toBeCloseTo(high, 12);
  });

  it("takes another z (90%: 1.6448536269514722)", () => {
    const ci = wilson(81, 263, 1.6448536269514722)!;
    expect(ci[0]).toBeCloseTo(0.2633136171884814, 12);
    expect(ci[1]).toBeCloseTo(0.35656634960848815, 12);
    expect(Z95).toBe(1.959963984540054);
  });

  it("returns null for n = 0 and brackets p̂ inside [0, 1] otherwise", () => {
    expect(wilson(0, 0)).toBeNull();
    for (let n = 1; n <= 60; n++) {
      for (let k = 0; k <= n; k++) {
        const [low, high] = wilson(k, n)!;
        expect(low).toBeGreaterThanOrEqual(0);
        expect(high).toBeLessThanOrEqual(1);
        expect(low).toBeLessThanOrEqual(k / n);
        expect(high).toBeGreaterThanOrEqual(k / n);
      }
    }
  });

  it("rejects impossible counts and z", () => {
    expect(() => wilson(3, 2)).toThrow(/k must be an integer in \[0, 2\]/);
    expect(() => wilson(-1, 2)).toThrow(RangeError);
    expect(() => wilson(1.5, 2)).toThrow(RangeError);
    expect(() => wilson(1, 2, 0)).toThrow(/z must be/);
    expect(() => wilson(1, 2, Number.NaN)).toThrow(/z must be/);
  });
});
