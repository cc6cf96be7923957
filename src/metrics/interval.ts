// Shared interval type and checks for the metrics modules.

/** A closed interval `[low, high]`. */
export type Interval = [low: number, high: number];

/** 1.959963984540054 = Φ⁻¹(0.975): the two-sided 95% normal quantile. */
export const Z95 = 1.959963984540054;

/** Throws unless `z` is a positive finite number (a normal quantile). */
export function checkZ(z: number): void {
  if (!Number.isFinite(z) || z <= 0) throw new RangeError(`z must be a positive finite number, got ${z}`);
}

/** Throws unless `k` is a count with 0 ≤ k ≤ n. */
export function checkCount(k: number, n: number, what = "count"): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`${what}: n must be a non-negative integer, got ${n}`);
  if (!Number.isSafeInteger(k) || k < 0 || k > n) {
    throw new RangeError(`${what}: k must be an integer in [0, ${n}], got ${k}`);
  }
}

/** Scales a proportion interval to percent. */
export function toPercent(ci: Interval | null): Interval | null {
  return ci === null ? null : [ci[0] * 100, ci[1] * 100];
}
