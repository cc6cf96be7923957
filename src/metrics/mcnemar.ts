// Exact (binomial) McNemar test on the discordant pairs of a paired 2×2 table.
import { halfBinomialLowerTail } from "./binomial.js";

/**
 * Two-sided exact McNemar p-value: min(1, 2·P(X ≤ min(b, c))) with X ~ Bin(b + c, 1/2).
 * b and c are the discordant counts (yes under the first condition only, yes under the second only).
 * b + c = 0 gives 1. Accurate to about 1e-13 relative for b + c up to 100,000 and beyond; a p-value
 * below ~1e-308 underflows to 0.
 */
export function mcnemarExact(b: number, c: number): number {
  for (const [name, v] of [
    ["b", b],
    ["c", c],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`mcnemarExact: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  const n = b + c;
  const k = Math.min(b, c);
  // b = c: the tail holds half the mass plus the middle term. |b − c| = 1: the tail is exactly half
  // by symmetry. Either way p = 1 exactly, which summation would only approximate.
  if (n === 0 || 2 * k + 1 >= n) return 1;
  return Math.min(1, 2 * halfBinomialLowerTail(k, n));
}
