// Wilson (1927) score interval for a binomial proportion, without continuity correction
// (method 3 of Newcombe 1998, "Two-sided confidence intervals for the single proportion").
import { checkCount, checkZ, type Interval, Z95 } from "./interval.js";

/**
 * Wilson score interval for k successes out of n, as proportions in [0, 1].
 * Returns null for n = 0: there is no information, and callers show "n/a".
 */
export function wilson(k: number, n: number, z: number = Z95): Interval | null {
  checkCount(k, n, "wilson");
  checkZ(z);
  if (n === 0) return null;
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At k = 0 (k = n) the bound is exactly 0 (1); pin it so rounding noise never leaves [0, 1].
  const low = k === 0 ? 0 : Math.max(0, centre - half);
  const high = k === n ? 1 : Math.min(1, centre + half);
  return [low, high];
}
