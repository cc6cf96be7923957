import { describe, expect, it } from "vitest";
import { newcombeIndependent, newcombePaired } from "./newcombe.js";

describe("newcombeIndependent (hybrid score, method 10)", () => {
  // Newcombe (1998) "Interval estimation for the difference between independent proportions",
  // Table II, method 10, examples (a)-(h).
  it.each([
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [6, 7, 2, 7, 0.0582, 0.8062],
    [5, 56, 0, 29, -0.0381, 0.1926],
    [0, 10, 0, 20, -0.1611, 0.2775],
    [0, 10, 0, 10, -0.2775, 0.2775],
    [10, 10, 0, 20, 0.6791, 1],
    [10, 10, 0, 10, 0.6075, 1],
  ])("%i/%i − %i/%i matches Newcombe 1998 Table II", (k1, n1, k2, n2, low, high) => {
    const r = newcombeIndependent(k1, n1, k2, n2)!;
    expect(r.estimate).toBeCloseTo(k1 / n1 - k2 / n2, 14);
    expect(r.ci[0]).toBeCloseTo(low, 4);
    expect(r.ci[1]).toBeCloseTo(high, 4);
  });

  it("matches a full-precision python3 evaluation (58/71 − 2/71)", () => {
    const r = newcombeIndependent(58, 71, 2, 71)!;
    expect(r.ci[0]).toBeCloseTo(0.6628539836768538, 12);
    expect(r.ci[1]).toBeCloseTo(0.8643886847332661, 12);
  });

  it("is null when either sample is empty", () => {
    expect(newcombeIndependent(0, 0, 1, 2)).toBeNull();
    expect(newcombeIndependent(1, 2, 0, 0)).toBeNull();
    expect(() => newcombeIndependent(3, 2, 1, 2)).toThrow(RangeError);
  });
});

describe("newcombePaired (method 10 with corrected phi)", () => {
  it("matches Fagerland, Lydersen & Laake (2017) for Cavo et al. 2012: −0.0621 (−0.1186 to −0.0046)", () => {
    // [[59, 6], [16, 80]]: ad − bc > n/2, so phi is continuity-corrected.
    const r = newcombePaired({ a: 59, b: 6, c: 16, d: 80 })!;
    expect(r.estimate).toBeCloseTo(-0.0621, 4);
    expect(r.ci[0]).toBeCloseTo(-0.1186, 4);
    expect(r.ci[1]).toBeCloseTo(-0.0046, 4);
    expect(r.phi).toBeCloseTo((59 * 80 - 6 * 16 - 161 / 2) / Math.sqrt(65 * 96 * 75 * 86), 14);
  });

  // Full-precision values from an independent python3 implementation; one per phi branch.
  it.each([
    // 0 ≤ ad − bc ≤ n/2 → phi = 0
    [1, 1, 7, 12, -0.2857142857142857, -0.506920226686141, -0.02555912416485978, 0],
    // ad − bc < 0 → plain phi
    [36, 12, 2, 0, 0.2, 0.05692958400323869, 0.3404276029749407, -0.11470786693528089],
    // ad − bc > n/2 → corrected phi
    [10, 15, 5, 20, 0.2, 0.025838416549251064, 0.3569365716591925, 0.1745743121887939],
    [5, 0, 0, 5, 0, -0.16659315708122263, 0.16659315708122263, 0.8],
    // an empty margin → phi = 0
    [0, 0, 0, 7, 0, -0.3543304350666875, 0.3543304350666875, 0],
  ])("a=%i b=%i c=%i d=%i", (a, b, c, d, est, low, high, phi) => {
    const r = newcombePaired({ a, b, c, d })!;
    expect(r.estimate).toBeCloseTo(est, 12);
    expect(r.ci[0]).toBeCloseTo(low, 12);
    expect(r.ci[1]).toBeCloseTo(high, 12);
    expect(r.phi).toBeCloseTo(phi, 12);
  });

  it("is narrower than the independent interval when the pairs agree", () => {
    const paired = newcombePaired({ a: 40, b: 20, c: 2, d: 38 })!;
    const indep = newcombeIndependent(60, 100, 42, 100)!;
    expect(paired.estimate).toBeCloseTo(indep.estimate, 14);
    expect(paired.ci[1] - paired.ci[0]).toBeLessThan(indep.ci[1] - indep.ci[0]);
  });

  it("is null for an empty table and rejects bad cells", () => {
    expect(newcombePaired({ a: 0, b: 0, c: 0, d: 0 })).toBeNull();
    expect(() => newcombePaired({ a: -1, b: 2, c: 0, d: 0 })).toThrow(RangeError);
    expect(() => newcombePaired({ a: 0.5, b: 2, c: 0, d: 0 })).toThrow(RangeError);
  });
});
