// The steerability curve of a strength sweep: conv%, refusal% and nonsensical% per strength with Wilson
// intervals (Table 1 rows), the gap between the strongest positive and negative settings (Newcombe CI +
// exact McNemar, via buildTable1's pairs), and the breakdown point — the smallest |strength| whose
// nonsensical rate is significantly above the unsteered one (its Wilson interval lies entirely above
// strength 0's) — which bounds the usable range: the steering/utility trade-off.
import type { Interval } from "../metrics/interval.js";
import {
  buildTable1,
  type ConditionPair,
  type GapRow,
  type Outcome,
  type Table1Row,
} from "../metrics/table1.js";
import type { ControlSpread, SignCheck, Specificity } from "./controls.js";
import type { PerplexityResult } from "./perplexity.js";
import type { SideEffectResult } from "./side-effects.js";

export interface SweepPoint {
  condition: string;
  strength: number;
  total: number;
  valid: number;
  judgeFailed: number;
  convergenceRate: number | null;
  convergenceCI: Interval | null;
  refusalRate: number | null;
  refusalCI: Interval | null;
  nonsensicalRate: number | null;
  nonsensicalCI: Interval | null;
  /** Conv% vs strength 0 (undefined for strength 0 itself or when it has no data). */
  vsZero?: GapRow;
  /** Perplexity of the neutral passage under this condition, and its ratio to strength 0's. */
  perplexity?: number;
  perplexityRatio?: number;
  /** Nonsensical% significantly above strength 0's. */
  broken: boolean;
  /** Next-token KL vs unsteered on the neutral prompts, and the share of their greedy answers that changed. */
  sideEffects?: SideEffectResult;
}

export interface Breakdown {
  strength: number;
  nonsensicalRate: number | null;
  nonsensicalCI: Interval | null;
}

export interface SweepAnalysis {
  model: string;
  judge: string;
  points: SweepPoint[];
  /** Strongest positive vs strongest negative strength (or vs 0 when one side is missing). */
  gap: GapRow | null;
  /** Smallest positive / negative strength that breaks the model; null when none does. */
  breakdown: { positive: Breakdown | null; negative: Breakdown | null };
  /** The strongest strengths below the breakdown on each side, and their gap. */
  usable: { positive: number | null; negative: number | null; gap: GapRow | null };
  /** Perplexity of the neutral passage with no steering at all. */
  referencePerplexity?: number;
  /** The random-direction control's curve (strength 0 is the vector's own reference). */
  control?: SweepAnalysis;
  /** Δ(vector) / Δ(control) at the usable strengths. */
  specificity?: Specificity;
  /** The vector against the mean movement of every seeded control (with `--control-seeds` ≥ 2). */
  controlSpread?: ControlSpread;
  signCheck?: SignCheck;
  /** Why the layers were chosen, for `--layers auto`. */
  layersReason?: string;
  /** Why side effects were not measured. */
  sideEffectsSkipped?: string;
}

/** strength 0's nonsensical interval is exceeded when the point's interval lies entirely above it. */
function breaks(point: Table1Row, zero: Table1Row | undefined): boolean {
  if (!zero?.nonsensicalCI || !point.nonsensicalCI) return false;
  return point.nonsensicalCI[0] > zero.nonsensicalCI[1];
}

export interface AnalyzeSweepOptions {
  /** The judge whose labels `outcomes` are (for the report). */
  judge: string;
  /** Model to analyse (default: the first in the outcomes). */
  model?: string;
  perplexity?: { reference?: PerplexityResult; byCondition: Record<string, PerplexityResult> };
  sideEffects?: Record<string, SideEffectResult>;
}

/**
 * Analyses one model's sweep. `strengths` maps each activation condition to its strength; other conditions in
 * the outcomes (e.g. pro_ic, anti_ic) are ignored here.
 */
export function analyzeSweep(
  outcomes: readonly Outcome[],
  strengths: ReadonlyMap<string, number>,
  opts: AnalyzeSweepOptions,
): SweepAnalysis {
  const model = opts.model ?? outcomes[0]?.model ?? "";
  const mine = outcomes.filter((o) => o.model === model && strengths.has(o.condition));
  const byStrength = [...strengths.entries()].sort((a, b) => a[1] - b[1]);
  const zeroName = byStrength.find(([, s]) => s === 0)?.[0];
  const present = new Set(mine.map((o) => o.condition));
  const measured = byStrength.filter(([c]) => present.has(c));
  const positives = measured.filter(([, s]) => s > 0);
  const negatives = measured.filter(([, s]) => s < 0);
  const top = positives[positives.length - 1]?.[0] ?? (negatives.length > 0 ? zeroName : undefined);
  const bottom = negatives[0]?.[0] ?? (positives.length > 0 ? zeroName : undefined);

  // First pass without pairs: the rows tell where the model breaks.
  const rowsOnly = buildTable1(mine, { pairs: [] });
  const rowOf = new Map(rowsOnly.rows.map((r) => [r.condition, r]));
  const zeroRow = zeroName === undefined ? undefined : rowOf.get(zeroName);
  const firstBreak = (side: [string, number][]): Breakdown | null => {
    const ordered = [...side].sort((a, b) => Math.abs(a[1]) - Math.abs(b[1]));
    const hit = ordered.find(([c]) => breaks(rowOf.get(c)!, zeroRow));
    if (!hit) return null;
    const r = rowOf.get(hit[0])!;
    return { strength: hit[1], nonsensicalRate: r.nonsensicalRate, nonsensicalCI: r.nonsensicalCI };
  };
  const breakdown = { positive: firstBreak(positives), negative: firstBreak(negatives) };
  const usablePos = positives.filter(
    ([, s]) => breakdown.positive === null || s < breakdown.positive.strength,
  );
  const usableNeg = negatives.filter(
    ([, s]) => breakdown.negative === null || s > breakdown.negative.strength,
  );
  const usableTop = usablePos[usablePos.length - 1];
  const usableBottom = usableNeg[0];

  const pairs: ConditionPair[] = [];
  const addPair = (high: string | undefined, low: string | undefined) => {
    if (high === undefined || low === undefined || high === low) return;
    if (!pairs.some((p) => p.high === high && p.low === low)) pairs.push({ high, low });
  };
  addPair(top, bottom);
  addPair(usableTop?.[0] ?? zeroName, usableBottom?.[0] ?? zeroName);
  for (const [c] of measured) if (c !== zeroName) addPair(c, zeroName);
  const table = buildTable1(mine, { pairs });
  const gapOf = (high: string | undefined, low: string | undefined) =>
    table.gaps.find((g) => g.high === high && g.low === low) ?? null;

  const ppl = opts.perplexity?.byCondition ?? {};
  const zeroPpl = zeroName === undefined ? undefined : ppl[zeroName]?.perplexity;
  const points: SweepPoint[] = measured.map(([condition, strength]) => {
    const r = table.rows.find((x) => x.condition === condition)!;
    const p: SweepPoint = {
      condition,
      strength,
      total: r.total,
      valid: r.valid,
      judgeFailed: r.judgeFailed,
      convergenceRate: r.convergenceRate,
      convergenceCI: r.convergenceCI,
      refusalRate: r.refusalRate,
      refusalCI: r.refusalCI,
      nonsensicalRate: r.nonsensicalRate,
      nonsensicalCI: r.nonsensicalCI,
      broken: breaks(r, zeroRow),
    };
    const vs = condition === zeroName ? null : gapOf(condition, zeroName);
    if (vs) p.vsZero = vs;
    const se = opts.sideEffects?.[condition];
    if (se) p.sideEffects = se;
    const pp = ppl[condition]?.perplexity;
    if (pp !== undefined) {
      p.perplexity = pp;
      if (zeroPpl !== undefined && zeroPpl > 0) p.perplexityRatio = pp / zeroPpl;
    }
    return p;
  });
  const analysis: SweepAnalysis = {
    model,
    judge: opts.judge,
    points,
    gap: gapOf(top, bottom),
    breakdown,
    usable: {
      positive: usableTop?.[1] ?? null,
      negative: usableBottom?.[1] ?? null,
      gap: gapOf(usableTop?.[0] ?? zeroName, usableBottom?.[0] ?? zeroName),
    },
  };
  if (opts.perplexity?.reference) analysis.referencePerplexity = opts.perplexity.reference.perplexity;
  return analysis;
}
