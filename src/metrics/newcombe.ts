// Newcombe's hybrid score ("square-and-add" Wilson) intervals for a difference of proportions.
// Independent samples: method 10 of Newcombe (1998), Stat Med 17:873-890.
// Paired samples: method 10 of Newcombe (1998), Stat Med 17:2635-2650, with the continuity-corrected phi.
import { checkCount, checkZ, type Interval, Z95 } from "./interval.js";
import { wilson } from "./wilson.js";

export interface DifferenceInterval {
  /** p1 − p2 (proportions). */
  estimate: number;
  /** [low, high] for p1 − p2, proportions in [−1, 1]. */
  ci: Interval;
}

/**
 * Paired 2×2 table over n items, each judged under condition 1 and condition 2:
 * a = yes/yes, b = yes under 1 only, c = yes under 2 only, d = no/no.
 */
export interface PairedTable {
  a: number;
  b: number;
  c: number;
  d: number;
}

export interface PairedDifferenceInterval extends DifferenceInterval {
  /** The continuity-corrected phi used (0 when a margin is empty). */
  phi: number;
}

const clamp = (x: number): number => Math.min(1, Math.max(-1, x));

/** Hybrid score interval for p1 − p2 with p1 = k1/n1, p2 = k2/n2 independent. Null if n1 or n2 is 0. */
export function newcombeIndependent(
  k1: number,
  n1: number,
  k2: number,
  n2: number,
  z: number = Z95,
): DifferenceInterval | null {
  checkCount(k1, n1, "newcombe sample 1");
  checkCount(k2, n2, "newcombe sample 2");
  checkZ(z);
  const w1 = wilson(k1, n1, z);
  const w2 = wilson(k2, n2, z);
  if (w1 === null || w2 === null) return null;
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const d = p1 - p2;
  const low = d - Math.hypot(p1 - w1[0], w2[1] - p2);
  const high = d + Math.hypot(w1[1] - p1, p2 - w2[0]);
  return { estimate: d, ci: [clamp(low), clamp(high)] };
}

/**
 * Hybrid score interval for p1 − p2 from paired data, p1 = (a+b)/n, p2 = (a+c)/n. Null if n = 0.
 * phi is Newcombe's corrected correlation: (ad − bc − n/2)/√(margins) when ad − bc > n/2,
 * 0 when 0 ≤ ad − bc ≤ n/2, and the plain phi when ad − bc < 0.
 */
export function newcombePaired(t: PairedTable, z: number = Z95): PairedDifferenceInterval | null {
  const n = t.a + t.b + t.c + t.d;
  for (const key of ["a", "b", "c", "d"] as const) checkCount(t[key], n, `newcombe paired cell ${key}`);
  checkZ(z);
  const w1 = wilson(t.a + t.b, n, z);
  const w2 = wilson(t.a + t.c, n, z);
  if (w1 === null || w2 === null) return null;
  const p1 = (t.a + t.b) / n;
  const p2 = (t.a + t.c) / n;
  const d = p1 - p2;
  const phi = correctedPhi(t, n);
  const dl1 = p1 - w1[0];
  const du1 = w1[1] - p1;
  const dl2 = p2 - w2[0];
  const du2 = w2[1] - p2;
  // max(0, …) only guards against −0-ish rounding; with |phi| ≤ 1 the radicand is ≥ 0.
  const low = d - Math.sqrt(Math.max(0, dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2));
  const high = d + Math.sqrt(Math.max(0, du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2));
  return { estimate: d, ci: [clamp(low), clamp(high)], phi };
}

function correctedPhi(t: PairedTable, n: number): number {
  const margins = (t.a + t.b) * (t.c + t.d) * (t.a + t.c) * (t.b + t.d);
  if (margins === 0) return 0;
  const cross = t.a * t.d - t.b * t.c;
  if (cross > n / 2) return (cross - n / 2) / Math.sqrt(margins);
  if (cross >= 0) return 0;
  return cross / Math.sqrt(margins);
}
