// Agreement between raters (e.g. two or more LLM judges labelling the same responses).
// Every function takes one array per item holding each rater's label in a fixed rater order;
// `undefined` means that rater failed on the item. Such items are excluded from every statistic and
// counted in `excluded`, the way judge failures are handled in Table 1.
//
// CIs: raw agreement uses Wilson; Cohen's κ uses the large-sample (non-null) standard error of
// Fleiss, Cohen & Everitt (1969), as SAS PROC FREQ and statsmodels do; Fleiss' κ uses a seeded
// percentile bootstrap over items, because Fleiss' (1971) variance is only valid under κ = 0.
import { LABELS } from "../types.js";
import { checkZ, type Interval, Z95 } from "./interval.js";
import { mulberry32, quantileSorted } from "./random.js";
import { wilson } from "./wilson.js";

/** One item's labels, one per rater; undefined = that rater failed. */
export type Ratings = readonly (string | undefined)[];

export interface AgreementRate {
  /** Items with a label from every rater. */
  n: number;
  /** Items left out because at least one rater failed. */
  excluded: number;
  /** Items on which every rater gave the same label. */
  agree: number;
  /** agree / n as a proportion; null when n = 0. */
  rate: number | null;
  /** Wilson interval for `rate` (proportions); null when n = 0. */
  ci: Interval | null;
}

export interface ConfusionMatrix {
  categories: string[];
  /** counts[i][j] = items rater A labelled categories[i] and rater B labelled categories[j]. */
  counts: number[][];
  n: number;
  excluded: number;
}

export interface CohenKappa {
  n: number;
  excluded: number;
  /** Observed agreement p_o; null when n = 0. */
  observed: number | null;
  /** Chance agreement p_e from the two raters' marginals; null when n = 0. */
  expected: number | null;
  /** (p_o − p_e)/(1 − p_e); null when n = 0 or p_e = 1 (both raters used one and the same label). */
  kappa: number | null;
  /** Large-sample SE of Fleiss, Cohen & Everitt (1969). */
  se: number | null;
  /** kappa ± z·se, clipped to [−1, 1]. */
  ci: Interval | null;
  confusion: ConfusionMatrix;
}

export interface FleissKappa {
  n: number;
  excluded: number;
  /** Raters per item (the same for every item). 0 when there are no items. */
  raters: number;
  categories: string[];
  /** Mean per-item agreement P̄; null when n = 0. */
  observed: number | null;
  /** Chance agreement P̄e = Σ p_j²; null when n = 0. */
  expected: number | null;
  kappa: number | null;
  /** Percentile bootstrap interval; null when kappa is null, n < 2, or no replicate had a defined κ. */
  ci: Interval | null;
  bootstrap: { replicates: number; seed: number; level: number; undefinedReplicates: number };
}

export interface CategoryOptions {
  /** Category order (and the full set of allowed labels). Default: the 4 labels in LABELS order that
   * appear, then any other label in first-seen order. */
  categories?: readonly string[];
}

/** Splits items into complete ones (every rater labelled) and the count of excluded ones. */
function complete(items: readonly Ratings[], raters?: number): { rows: string[][]; excluded: number } {
  const rows: string[][] = [];
  let excluded = 0;
  let width = raters;
  items.forEach((item, index) => {
    if (width === undefined) width = item.length;
    if (item.length !== width) {
      throw new Error(`ratings item ${index}: expected ${width} raters, got ${item.length}`);
    }
    if (item.some((label) => label === undefined)) excluded++;
    else rows.push(item as string[]);
  });
  if (width !== undefined && width < 2) throw new Error(`agreement needs at least 2 raters, got ${width}`);
  return { rows, excluded };
}

function resolveCategories(rows: readonly string[][], given: readonly string[] | undefined): string[] {
  if (given !== undefined) {
    const set = new Set(given);
    if (set.size !== given.length) throw new Error("categories must not repeat");
    rows.forEach((row, index) => {
      for (const label of row) {
        if (!set.has(label))
          throw new Error(`ratings item ${index}: label ${JSON.stringify(label)} is not a category`);
      }
    });
    return [...given];
  }
  const seen = new Set<string>();
  for (const row of rows) for (const label of row) seen.add(label);
  const known = LABELS.filter((l) => seen.has(l));
  const other = [...seen].filter((l) => !(LABELS as readonly string[]).includes(l));
  return [...known, ...other];
}

/** Share of items on which all raters agree, with a Wilson CI. */
export function agreementRate(items: readonly Ratings[], z: number = Z95): AgreementRate {
  checkZ(z);
  const { rows, excluded } = complete(items);
  const agree = rows.filter((row) => row.every((label) => label === row[0])).length;
  const n = rows.length;
  return { n, excluded, agree, rate: n === 0 ? null : agree / n, ci: wilson(agree, n, z) };
}

/** Confusion matrix of two raters (rows: rater A, columns: rater B). */
export function confusionMatrix(items: readonly Ratings[], options: CategoryOptions = {}): ConfusionMatrix {
  const { rows, excluded } = complete(items, 2);
  const categories = resolveCategories(rows, options.categories);
  const index = new Map(categories.map((c, i) => [c, i]));
  const counts = categories.map(() => categories.map(() => 0));
  for (const [a, b] of rows) {
    const row = counts[index.get(a as string) as number] as number[];
    row[index.get(b as string) as number]! += 1;
  }
  return { categories, counts, n: rows.length, excluded };
}

/** Cohen's κ for two raters with the Fleiss-Cohen-Everitt (1969) large-sample CI. */
export function cohenKappa(
  items: readonly Ratings[],
  options: CategoryOptions & { z?: number } = {},
): CohenKappa {
  const z = options.z ?? Z95;
  checkZ(z);
  const confusion = confusionMatrix(items, options);
  const { n, excluded, counts } = confusion;
  const none = { n, excluded, observed: null, expected: null, kappa: null, se: null, ci: null, confusion };
  if (n === 0) return none;
  const k = counts.length;
  const p = counts.map((row) => row.map((x) => x / n));
  const rowM = p.map((row) => row.reduce((s, x) => s + x, 0));
  const colM = p[0]!.map((_, j) => p.reduce((s, row) => s + row[j]!, 0));
  let po = 0;
  let pe = 0;
  for (let i = 0; i < k; i++) {
    po += p[i]![i]!;
    pe += rowM[i]! * colM[i]!;
  }
  if (pe >= 1) return { ...none, observed: po, expected: pe };
  const kappa = (po - pe) / (1 - pe);
  // Fleiss, Cohen & Everitt (1969), eq. (13): variance of κ̂ without assuming κ = 0.
  let diag = 0;
  let off = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const pij = p[i]![j]!;
      if (i === j) diag += pij * (1 - (rowM[i]! + colM[i]!) * (1 - kappa)) ** 2;
      else off += pij * (colM[i]! + rowM[j]!) ** 2;
    }
  }
  const variance = (diag + (1 - kappa) ** 2 * off - (kappa - pe * (1 - kappa)) ** 2) / (n * (1 - pe) ** 2);
  const se = Math.sqrt(Math.max(0, variance));
  const ci: Interval = [Math.max(-1, kappa - z * se), Math.min(1, kappa + z * se)];
  return { n, excluded, observed: po, expected: pe, kappa, se, ci, confusion };
}

export interface FleissOptions extends CategoryOptions {
  /** Bootstrap replicates (default 2000). */
  replicates?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Confidence level of the percentile interval (default 0.95). */
  level?: number;
}

/** Fleiss' κ (1971) for m ≥ 2 raters per item, with a seeded percentile-bootstrap CI over items. */
export function fleissKappa(items: readonly Ratings[], options: FleissOptions = {}): FleissKappa {
  const replicates = options.replicates ?? 2000;
  const seed = options.seed ?? 1;
  const level = options.level ?? 0.95;
  if (!Number.isSafeInteger(replicates) || replicates < 0) {
    throw new RangeError(`replicates must be a non-negative integer, got ${replicates}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const { rows, excluded } = complete(items);
  const categories = resolveCategories(rows, options.categories);
  const n = rows.length;
  const m = rows[0]?.length ?? 0;
  const bootstrap = { replicates, seed, level, undefinedReplicates: 0 };
  const base = { n, excluded, raters: m, categories, bootstrap };
  if (n === 0) return { ...base, observed: null, expected: null, kappa: null, ci: null };

  const index = new Map(categories.map((c, i) => [c, i]));
  // Per item: counts n_ij and agreement P_i = (Σ n_ij² − m) / (m(m − 1)).
  const itemCounts = rows.map((row) => {
    const counts = categories.map(() => 0);
    for (const label of row) counts[index.get(label) as number]! += 1;
    return counts;
  });
  const itemP = itemCounts.map((counts) => (counts.reduce((s, x) => s + x * x, 0) - m) / (m * (m - 1)));

  const kappaOf = (
    pick: (i: number) => number,
  ): { observed: number; expected: number; kappa: number | null } => {
    const totals = categories.map(() => 0);
    let sumP = 0;
    for (let r = 0; r < n; r++) {
      const i = pick(r);
      sumP += itemP[i]!;
      const counts = itemCounts[i]!;
      for (let j = 0; j < counts.length; j++) totals[j]! += counts[j]!;
    }
    const observed = sumP / n;
    const expected = totals.reduce((s, t) => s + (t / (n * m)) ** 2, 0);
    return { observed, expected, kappa: expected >= 1 ? null : (observed - expected) / (1 - expected) };
  };

  const point = kappaOf((r) => r);
  let ci: Interval | null = null;
  if (point.kappa !== null && n >= 2 && replicates > 0) {
    const rand = mulberry32(seed);
    const draws: number[] = [];
    for (let b = 0; b < replicates; b++) {
      const k = kappaOf(() => Math.floor(rand() * n)).kappa;
      if (k === null) bootstrap.undefinedReplicates++;
      else draws.push(k);
    }
    if (draws.length > 0) {
      draws.sort((x, y) => x - y);
      ci = [quantileSorted(draws, (1 - level) / 2), quantileSorted(draws, (1 + level) / 2)];
    }
  }
  return { ...base, ...point, ci };
}
