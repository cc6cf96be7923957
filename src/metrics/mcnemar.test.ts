import { describe, expect, it } from "vitest";
import { mcnemarExact } from "./mcnemar.js";

// Reference p-values: exact rational arithmetic in python3 (integer binomial sums over 2^n,
// min(1, 2·Σ_{i≤min(b,c)} C(n,i) / 2^n), converted to double at the end).
const reference: Array<[number, number, number]> = [
  [0, 1, 1],
  [0, 5, 0.0625],
  [1, 10, 0.01171875],
  [2, 56, 1.1879386363489175e-14],
  [10, 20, 0.09873714670538902],
  [30, 70, 7.85013964559367e-5],
  [480, 520, 0.21744829320414094],
  [49000, 51000, 2.588716038346898e-10],
  [49900, 50100, 0.5291572940801932],
  [49990, 50010, 0.9520893498136247],
  [45000, 55000, 8.600341645714696e-220],
];

describe("mcnemarExact", () => {
  it.each(reference)("b=%i c=%i matches the exact binomial sum", (b, c, p) => {
    expect(Math.abs(mcnemarExact(b, c) / p - 1)).toBeLessThan(1e-11);
    // The test is symmetric in b and c.
    expect(Math.abs(mcnemarExact(c, b) / p - 1)).toBeLessThan(1e-11);
  });

  it("gives 1 without discordant pairs or when b = c", () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(3, 3)).toBe(1);
    expect(mcnemarExact(50000, 50000)).toBe(1);
    expect(mcnemarExact(4, 5)).toBe(1);
  });

  it("underflows to 0, not NaN, for astronomically small p", () => {
    expect(mcnemarExact(0, 100000)).toBe(0);
    expect(mcnemarExact(100, 99900)).toBe(0);
  });

  it("rejects non-counts", () => {
    expect(() => mcnemarExact(-1, 3)).toThrow(/b must be a non-negative integer/);
    expect(() => mcnemarExact(1, 2.5)).toThrow(/c must be/);
  });
});
