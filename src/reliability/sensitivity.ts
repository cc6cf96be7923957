// Prompt sensitivity: the same judge model under several judge prompts, each stored as its own judge
// (`<model>/<variant>`). How much does each Table 1 cell and each Δ move across the variants?
// The spread is max − min over the variants that have a value for the cell.
import type { JudgeComparison } from "./compare.js";

export interface SpreadCell {
  /** Per variant (in the order given), the value or null when it has none. */
  values: (number | null)[];
  min: number | null;
  max: number | null;
  /** max − min, percentage points; null when fewer than one value exists. */
  range: number | null;
}

export interface SensitivityRow {
  model: string;
  condition: string;
  reference: { convergence: number | null; refusal: number | null };
  convergence: SpreadCell;
  refusal: SpreadCell;
}

export interface SensitivityGap {
  model: string;
  high: string;
  low: string;
  reference: number | null;
  delta: SpreadCell;
}

export interface SensitivityReport {
  variants: string[];
  /** Agreement with the reference per variant (accuracy and κ), for reading the spread beside it. */
  agreement: { variant: string; rate: number | null; kappa: number | null }[];
  rows: SensitivityRow[];
  gaps: SensitivityGap[];
  /** Largest range over all rows (Conv%) and over all gaps (Δ). */
  maxConvergenceRange: number | null;
  maxDeltaRange: number | null;
}

export function spread(values: (number | null)[]): SpreadCell {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return { values, min: null, max: null, range: null };
  const min = Math.min(...present);
  const max = Math.max(...present);
  return { values, min, max, range: max - min };
}

const maxOf = (xs: (number | null)[]): number | null => {
  const present = xs.filter((x): x is number => x !== null);
  return present.length === 0 ? null : Math.max(...present);
};

/**
 * Spread across variants. Each comparison must be against the same reference; rows and gaps are
 * keyed by the reference table of the first comparison (all variants are judged on the same run).
 */
export function promptSensitivity(comparisons: readonly JudgeComparison[]): SensitivityReport {
  if (comparisons.length === 0) throw new Error("prompt sensitivity needs at least one variant");
  const refs = new Set(comparisons.map((c) => c.reference));
  if (refs.size !== 1)
    throw new Error(`variants compared against different references: ${[...refs].join(", ")}`);
  const first = comparisons[0]!;
  const rowKey = (m: string, c: string) => `${m}\u0000${c}`;
  const gapKey = (m: string, h: string, l: string) => `${m}\u0000${h}\u0000${l}`;
  const rowMaps = comparisons.map((c) => new Map(c.rows.map((r) => [rowKey(r.model, r.condition), r])));
  const gapMaps = comparisons.map((c) => new Map(c.gaps.map((g) => [gapKey(g.model, g.high, g.low), g])));

  const rows = first.rows.map((r): SensitivityRow => {
    const k = rowKey(r.model, r.condition);
    return {
      model: r.model,
      condition: r.condition,
      reference: { convergence: r.reference.convergence, refusal: r.reference.refusal },
      convergence: spread(rowMaps.map((m) => m.get(k)?.candidate.convergence ?? null)),
      refusal: spread(rowMaps.map((m) => m.get(k)?.candidate.refusal ?? null)),
    };
  });
  const gaps = first.gaps.map((g): SensitivityGap => {
    const k = gapKey(g.model, g.high, g.low);
    return {
      model: g.model,
      high: g.high,
      low: g.low,
      reference: g.reference,
      delta: spread(gapMaps.map((m) => m.get(k)?.candidate ?? null)),
    };
  });
  return {
    variants: comparisons.map((c) => c.candidate),
    agreement: comparisons.map((c) => ({
      variant: c.candidate,
      rate: c.agreement.rate,
      kappa: c.kappa.kappa,
    })),
    rows,
    gaps,
    maxConvergenceRange: maxOf(rows.map((r) => r.convergence.range)),
    maxDeltaRange: maxOf(gaps.map((g) => g.delta.range)),
  };
}
