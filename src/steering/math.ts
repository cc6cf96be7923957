// The linear algebra of steering-vector extraction, on plain arrays (no engine): paired differences, their
// mean, their first principal component by power iteration, projections, and how well a direction separates
// positive from negative prompts (AUC, paired accuracy). Everything is computed in float64.
import { mulberry32 } from "../metrics/random.js";

export type Vector = ArrayLike<number>;

export function dot(a: Vector, b: Vector): number {
  if (a.length !== b.length) throw new RangeError(`dot: lengths ${a.length} and ${b.length} differ`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: Vector): number {
  return Math.sqrt(dot(a, a));
}

/** Cosine similarity; 0 when either vector is zero. */
export function cosine(a: Vector, b: Vector): number {
  const d = norm(a) * norm(b);
  return d === 0 ? 0 : dot(a, b) / d;
}

/** pos[i] − neg[i] for each pair, in float64. */
export function pairDifferences(pos: readonly Vector[], neg: readonly Vector[]): Float64Array[] {
  if (pos.length !== neg.length) {
    throw new RangeError(`pairDifferences: ${pos.length} positives but ${neg.length} negatives`);
  }
  return pos.map((p, i) => {
    const n = neg[i]!;
    if (p.length !== n.length) throw new RangeError(`pair ${i}: lengths ${p.length} and ${n.length} differ`);
    const d = new Float64Array(p.length);
    for (let k = 0; k < p.length; k++) d[k] = p[k]! - n[k]!;
    return d;
  });
}

export function mean(rows: readonly Vector[]): Float64Array {
  if (rows.length === 0) throw new RangeError("mean of no rows");
  const dim = rows[0]!.length;
  const m = new Float64Array(dim);
  for (const r of rows) {
    if (r.length !== dim) throw new RangeError(`mean: row lengths ${r.length} and ${dim} differ`);
    for (let k = 0; k < dim; k++) m[k]! += r[k]!;
  }
  for (let k = 0; k < dim; k++) m[k]! /= rows.length;
  return m;
}

export interface PrincipalComponent {
  /** Unit vector. */
  direction: Float64Array;
  /** Largest eigenvalue of DᵀD / m (the mean squared projection). */
  eigenvalue: number;
  iterations: number;
  converged: boolean;
}

/**
 * First principal component of the rows of D (uncentred, as llama.cpp's cvector-generator does for paired
 * differences: the mean difference is the signal, so it must not be subtracted), by power iteration on DᵀD
 * without forming it (each step is v ← Dᵀ(Dv), O(m·n)). Starts from `start` (default: the mean row), so the
 * result is deterministic.
 */
export function firstPrincipalComponent(
  rows: readonly Vector[],
  opts: { start?: Vector; maxIterations?: number; tolerance?: number } = {},
): PrincipalComponent {
  if (rows.length === 0) throw new RangeError("principal component of no rows");
  const dim = rows[0]!.length;
  // Enough when one direction dominates; without a clear top eigenvalue the extra precision means nothing.
  const maxIterations = opts.maxIterations ?? 300;
  // 1e-9 per coordinate is far below anything float32 activations can resolve.
  const tolerance = opts.tolerance ?? 1e-9;
  let v = Float64Array.from(opts.start ?? mean(rows));
  if (norm(v) === 0) {
    // A zero mean (e.g. symmetric differences): any fixed non-degenerate start will do.
    const rand = mulberry32(1);
    v = Float64Array.from({ length: dim }, () => rand() - 0.5);
  }
  scaleInPlace(v, 1 / norm(v));
  const proj = new Float64Array(rows.length);
  let eigenvalue = 0;
  for (let it = 1; it <= maxIterations; it++) {
    for (let i = 0; i < rows.length; i++) proj[i] = dot(rows[i]!, v);
    const next = new Float64Array(dim);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const p = proj[i]!;
      for (let k = 0; k < dim; k++) next[k]! += p * r[k]!;
    }
    const len = norm(next);
    if (len === 0) return { direction: v, eigenvalue: 0, iterations: it, converged: true };
    scaleInPlace(next, 1 / len);
    eigenvalue = len / rows.length;
    // Converged when the direction stops moving (up to sign: DᵀD is positive semi-definite, so no flip).
    let change = 0;
    for (let k = 0; k < dim; k++) change = Math.max(change, Math.abs(next[k]! - v[k]!));
    v = next;
    if (change < tolerance) return { direction: v, eigenvalue, iterations: it, converged: true };
  }
  return { direction: v, eigenvalue, iterations: maxIterations, converged: false };
}

function scaleInPlace(v: Float64Array, s: number): void {
  for (let k = 0; k < v.length; k++) v[k]! *= s;
}

export type ExtractionMethod = "mean-diff" | "pca";

export interface DirectionOptions {
  /** Store a unit vector instead of the natural scale. */
  normalize?: boolean;
}

/**
 * The steering direction of paired differences.
 * - mean-diff: the mean of (pos − neg), at its natural scale (strength 1 adds the average difference).
 * - pca: the first principal component, signed so that the mean difference projects positively and scaled
 *   to the mean projection of the differences on it, so strengths mean the same thing as for mean-diff.
 */
export function steeringDirection(
  diffs: readonly Vector[],
  method: ExtractionMethod,
  opts: DirectionOptions = {},
): Float64Array {
  const m = mean(diffs);
  let v: Float64Array;
  if (method === "mean-diff") {
    v = m;
  } else {
    const { direction: pc, eigenvalue } = firstPrincipalComponent(diffs);
    const along = dot(m, pc);
    // Mean projection of the differences on the component = m·pc; its sign orients the component. With no
    // mean at all (symmetric differences) the sign is arbitrary and the RMS projection sets the scale; with
    // no variance at all (identical prompts) there is no direction.
    const scale = eigenvalue === 0 ? 0 : along !== 0 ? along : Math.sqrt(eigenvalue);
    v = Float64Array.from(pc, (x) => x * scale);
  }
  if (opts.normalize) {
    const n = norm(v);
    if (n > 0) scaleInPlace(v, 1 / n);
  }
  return v;
}

/** Scores of rows projected on a direction (scale-free: the direction is normalised). */
export function project(rows: readonly Vector[], direction: Vector): number[] {
  const n = norm(direction);
  if (n === 0) return rows.map(() => 0);
  return rows.map((r) => dot(r, direction) / n);
}

/**
 * Area under the ROC curve of `pos` scores against `neg` scores (the Mann-Whitney U statistic / (n₊·n₋)):
 * the probability that a random positive scores above a random negative, ties counting one half.
 * NaN when either side is empty.
 */
export function auc(pos: readonly number[], neg: readonly number[]): number {
  if (pos.length === 0 || neg.length === 0) return Number.NaN;
  const all = [...pos.map((s) => ({ s, positive: true })), ...neg.map((s) => ({ s, positive: false }))].sort(
    (a, b) => a.s - b.s,
  );
  // Mid-ranks for ties.
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.s === all[i]!.s) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k]!.positive) rankSumPos += midRank;
    i = j + 1;
  }
  const u = rankSumPos - (pos.length * (pos.length + 1)) / 2;
  return u / (pos.length * neg.length);
}

/** Share of pairs whose positive scores above its own negative (ties count one half); NaN for no pairs. */
export function pairAccuracy(pos: readonly number[], neg: readonly number[]): number {
  if (pos.length !== neg.length) throw new RangeError(`pairAccuracy: ${pos.length} vs ${neg.length} scores`);
  if (pos.length === 0) return Number.NaN;
  let hits = 0;
  pos.forEach((p, i) => {
    const n = neg[i]!;
    hits += p > n ? 1 : p === n ? 0.5 : 0;
  });
  return hits / pos.length;
}

/**
 * A seeded split into train and test: round(n·holdout) items go to test (at least 1 when holdout > 0 and
 * n ≥ 2, and never all of them). Order within each part follows the input.
 */
export function splitTrainTest<T>(
  items: readonly T[],
  holdout: number,
  seed: number,
): { train: T[]; test: T[] } {
  if (!(holdout >= 0 && holdout < 1)) throw new RangeError(`holdout must be in [0, 1), got ${holdout}`);
  const n = items.length;
  let nTest = Math.round(n * holdout);
  if (holdout > 0 && n >= 2) nTest = Math.max(1, nTest);
  nTest = Math.min(nTest, Math.max(0, n - 1));
  // Fisher-Yates on indices with a seeded generator.
  const idx = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const testSet = new Set(idx.slice(0, nTest));
  return {
    train: items.filter((_, i) => !testSet.has(i)),
    test: items.filter((_, i) => testSet.has(i)),
  };
}

export interface Separation {
  auc: number;
  pairAccuracy: number;
  pairs: number;
}

/** How well a direction separates positive from negative activations of the given pairs. */
export function separation(pos: readonly Vector[], neg: readonly Vector[], direction: Vector): Separation {
  const sp = project(pos, direction);
  const sn = project(neg, direction);
  return { auc: auc(sp, sn), pairAccuracy: pairAccuracy(sp, sn), pairs: pos.length };
}
