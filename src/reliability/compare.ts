// One candidate judge against reference labels (e.g. the paper's gpt-5.2 labels): agreement overall,
// per label (precision / recall / F1, taking the reference as truth), per category and per model, and
// what Table 1 and every Δ would have been with the candidate's labels instead.
//
// Everything is computed over the items BOTH judges have an outcome for, so a partial candidate pass
// (--limit, an interrupted run) is compared with the reference on the same items, never on more.
import {
  type AgreementRate,
  agreementRate,
  buildTable1,
  type CohenKappa,
  type ConditionPair,
  cohenKappa,
  DEFAULT_PAIRS,
  type Interval,
  type Table1,
  wilson,
} from "../metrics/index.js";
import type { Store, StoredOutcome } from "../store/store.js";
import { LABELS, type Label } from "../types.js";
import {
  CONSENSUS,
  type ConfusionWithIntervals,
  type ConsensusOptions,
  confusionWithIntervals,
  outcomesFor,
} from "./multi-judge.js";

export interface LabelStats {
  label: Label;
  /** Items the reference gave this label (among items both labelled). */
  support: number;
  /** Items the candidate gave this label. */
  predicted: number;
  truePositives: number;
  /** tp / predicted; null when the candidate never used the label. */
  precision: number | null;
  precisionCI: Interval | null;
  /** tp / support; null when the reference never used the label. */
  recall: number | null;
  recallCI: Interval | null;
  f1: number | null;
}

export interface GroupAgreement {
  /** Category slug or model name. */
  group: string;
  agreement: AgreementRate;
  kappa: number | null;
  kappaCI: Interval | null;
}

export interface RowDiff {
  model: string;
  condition: string;
  /** Conv% / Refusal% (percent) under each judge, over the common items; null when valid = 0. */
  reference: { convergence: number | null; refusal: number | null; valid: number; failed: number };
  candidate: { convergence: number | null; refusal: number | null; valid: number; failed: number };
  /** candidate − reference, percentage points. */
  convergenceDiff: number | null;
  refusalDiff: number | null;
}

export interface GapDiff {
  model: string;
  high: string;
  low: string;
  reference: number | null;
  referenceCI: Interval | null;
  candidate: number | null;
  candidateCI: Interval | null;
  /** candidate Δ − reference Δ, percentage points. */
  diff: number | null;
  referenceP: number | null;
  candidateP: number | null;
}

export interface TableError {
  /** Rows with a Conv% under both judges. */
  rows: number;
  /** Mean and max over rows of |Conv%(candidate) − Conv%(reference)|, percentage points. */
  meanAbsConvergence: number | null;
  maxAbsConvergence: number | null;
  gaps: number;
  /** Mean and max over gaps of |Δ(candidate) − Δ(reference)|, percentage points. */
  meanAbsDelta: number | null;
  maxAbsDelta: number | null;
}

export interface JudgeComparison {
  reference: string;
  candidate: string;
  /** Items both judges have an outcome for (labels or failed verdicts). */
  items: number;
  /** Items the reference has an outcome for and the candidate does not (yet). */
  candidateMissing: number;
  referenceFailed: number;
  candidateFailed: number;
  agreement: AgreementRate;
  /** Rows of the confusion matrix: reference labels; columns: candidate labels. */
  kappa: CohenKappa;
  confusion: ConfusionWithIntervals;
  /** Accuracy is agreement.rate; the reference's most frequent label's share, for scale. */
  majorityRate: number | null;
  perLabel: LabelStats[];
  /** Mean F1 over labels the reference used. */
  macroF1: number | null;
  perCategory: GroupAgreement[];
  perModel: GroupAgreement[];
  referenceTable: Table1;
  candidateTable: Table1;
  rows: RowDiff[];
  gaps: GapDiff[];
  error: TableError;
}

export interface CompareOptions {
  pairs?: readonly ConditionPair[];
}

export interface CompareJudgesOptions extends CompareOptions {
  /** Who votes when the reference is "consensus" (default: every judge of the run but the candidate). */
  consensus?: ConsensusOptions;
}

const f1Of = (p: number | null, r: number | null): number | null =>
  p === null || r === null ? null : p + r === 0 ? 0 : (2 * p * r) / (p + r);

function groupAgreement(groups: Map<string, [string | undefined, string | undefined][]>): GroupAgreement[] {
  return [...groups.entries()].map(([group, items]) => {
    const k = cohenKappa(items, { categories: LABELS });
    return { group, agreement: agreementRate(items), kappa: k.kappa, kappaCI: k.ci };
  });
}

const mean = (xs: number[]): number | null =>
  xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length;
const max = (xs: number[]): number | null => (xs.length === 0 ? null : Math.max(...xs));
const sub = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/** Compares two judges' outcomes of the same run, matched by item id. Pure: no store access. */
export function compareOutcomes(
  reference: readonly StoredOutcome[],
  candidate: readonly StoredOutcome[],
  names: { reference: string; candidate: string },
  options: CompareOptions = {},
): JudgeComparison {
  const pairs = options.pairs ?? DEFAULT_PAIRS;
  const cand = new Map(candidate.map((o) => [o.itemId, o]));
  const refCommon: StoredOutcome[] = [];
  const candCommon: StoredOutcome[] = [];
  for (const r of reference) {
    const c = cand.get(r.itemId);
    if (c === undefined) continue;
    refCommon.push(r);
    candCommon.push(c);
  }
  const ratings = refCommon.map(
    (r, i) => [r.label, candCommon[i]!.label] as [Label | undefined, Label | undefined],
  );
  const kappa = cohenKappa(ratings, { categories: LABELS });
  const counts = kappa.confusion.counts;

  const perLabel = LABELS.map((label, i): LabelStats => {
    const support = counts[i]!.reduce((s, x) => s + x, 0);
    const predicted = counts.reduce((s, row) => s + row[i]!, 0);
    const tp = counts[i]![i]!;
    const precision = predicted === 0 ? null : tp / predicted;
    const recall = support === 0 ? null : tp / support;
    return {
      label,
      support,
      predicted,
      truePositives: tp,
      precision,
      precisionCI: wilson(tp, predicted),
      recall,
      recallCI: wilson(tp, support),
      f1: f1Of(precision, recall),
    };
  });
  const used = perLabel.filter((l) => l.support > 0).map((l) => l.f1 ?? 0);
  const supports = perLabel.map((l) => l.support);
  const n = kappa.n;

  const byCategory = new Map<string, [Label | undefined, Label | undefined][]>();
  const byModel = new Map<string, [Label | undefined, Label | undefined][]>();
  refCommon.forEach((r, i) => {
    const pair = ratings[i]!;
    byCategory.set(r.category, [...(byCategory.get(r.category) ?? []), pair]);
    byModel.set(r.model, [...(byModel.get(r.model) ?? []), pair]);
  });

  const referenceTable = buildTable1(refCommon, { pairs });
  const candidateTable = buildTable1(candCommon, { pairs });
  const candRows = new Map(candidateTable.rows.map((row) => [`${row.model}\u0000${row.condition}`, row]));
  const rows = referenceTable.rows.map((ref): RowDiff => {
    const c = candRows.get(`${ref.model}\u0000${ref.condition}`)!;
    return {
      model: ref.model,
      condition: ref.condition,
      reference: {
        convergence: ref.convergenceRate,
        refusal: ref.refusalRate,
        valid: ref.valid,
        failed: ref.judgeFailed,
      },
      candidate: {
        convergence: c.convergenceRate,
        refusal: c.refusalRate,
        valid: c.valid,
        failed: c.judgeFailed,
      },
      convergenceDiff: sub(c.convergenceRate, ref.convergenceRate),
      refusalDiff: sub(c.refusalRate, ref.refusalRate),
    };
  });
  const candGaps = new Map(candidateTable.gaps.map((g) => [`${g.model}\u0000${g.high}\u0000${g.low}`, g]));
  const gaps = referenceTable.gaps.map((ref): GapDiff => {
    const c = candGaps.get(`${ref.model}\u0000${ref.high}\u0000${ref.low}`)!;
    return {
      model: ref.model,
      high: ref.high,
      low: ref.low,
      reference: ref.delta,
      referenceCI: ref.deltaCI,
      candidate: c.delta,
      candidateCI: c.deltaCI,
      diff: sub(c.delta, ref.delta),
      referenceP: ref.mcnemarP,
      candidateP: c.mcnemarP,
    };
  });
  const convErr = rows.flatMap((r) => (r.convergenceDiff === null ? [] : [Math.abs(r.convergenceDiff)]));
  const deltaErr = gaps.flatMap((g) => (g.diff === null ? [] : [Math.abs(g.diff)]));

  return {
    reference: names.reference,
    candidate: names.candidate,
    items: refCommon.length,
    candidateMissing: reference.length - refCommon.length,
    referenceFailed: refCommon.filter((o) => o.label === undefined).length,
    candidateFailed: candCommon.filter((o) => o.label === undefined).length,
    agreement: agreementRate(ratings),
    kappa,
    confusion: confusionWithIntervals(LABELS, counts),
    majorityRate: n === 0 ? null : Math.max(...supports) / n,
    perLabel,
    macroF1: mean(used),
    perCategory: groupAgreement(byCategory),
    perModel: groupAgreement(byModel),
    referenceTable,
    candidateTable,
    rows,
    gaps,
    error: {
      rows: convErr.length,
      meanAbsConvergence: mean(convErr),
      maxAbsConvergence: max(convErr),
      gaps: deltaErr.length,
      meanAbsDelta: mean(deltaErr),
      maxAbsDelta: max(deltaErr),
    },
  };
}

/** Compares a candidate judge of a run with a reference judge of the same run ("consensus" allowed). */
export function compareJudges(
  store: Store,
  runId: string,
  reference: string,
  candidate: string,
  options: CompareJudgesOptions = {},
): JudgeComparison {
  if (reference === candidate) throw new Error(`reference and candidate are the same judge "${reference}"`);
  if (candidate === CONSENSUS) throw new Error(`the candidate cannot be "${CONSENSUS}"`);
  // A consensus reference must not count the candidate's own votes.
  const consensus =
    reference === CONSENSUS
      ? {
          ...options.consensus,
          judges: options.consensus?.judges ?? store.judges(runId).filter((j) => j !== candidate),
        }
      : undefined;
  return compareOutcomes(
    outcomesFor(store, runId, reference, consensus),
    outcomesFor(store, runId, candidate),
    { reference, candidate },
    options,
  );
}
