// Injection and recovery: Table 1 measured on a model organism beside the Table 1 its planted labels give
// for the same items, with a verdict per cell. A cell is recovered when its measured count is within
// `tolerance` items of the planted count; a gap when the measured Δ lies inside the planted Δ's interval.
import {
  type AgreementRate,
  agreementRate,
  buildTable1,
  type CohenKappa,
  type ConditionPair,
  cohenKappa,
  DEFAULT_PAIRS,
  type GapRow,
  type Outcome,
  type Table1Row,
} from "../metrics/index.js";
import { LABELS, type Label } from "../types.js";
import { type Planted, plantedLabel } from "./planted.js";

const COUNT_KEY = {
  convergence: "convergence",
  no_convergence: "noConvergence",
  safety_refusal: "safetyRefusal",
  nonsensical: "nonsensical",
} as const satisfies Record<Label, keyof Table1Row>;

export interface RecoveryCell {
  label: Label;
  planted: number;
  measured: number;
  recovered: boolean;
}

export interface RecoveryRow {
  condition: string;
  planted: Table1Row;
  measured: Table1Row;
  cells: RecoveryCell[];
  recovered: boolean;
}

export interface RecoveryGap {
  high: string;
  low: string;
  planted: GapRow;
  measured: GapRow;
  /** measured Δ inside the planted Δ's interval */
  recovered: boolean;
}

export interface Recovery {
  model: string;
  tolerance: number;
  rows: RecoveryRow[];
  gaps: RecoveryGap[];
  /** Item by item: measured label (judge of the model's answer) vs planted label. */
  agreement: AgreementRate;
  kappa: CohenKappa;
  /** Largest |measured − planted| over all cells, in items. */
  maxCountError: number;
  recovered: boolean;
}

export interface RecoveryOptions {
  /** Items a cell may be off by (default 2). */
  tolerance?: number;
  pairs?: readonly ConditionPair[];
}

/** Compares measured outcomes (one model) with the planted labels of the same items. */
export function compareWithPlanted(
  outcomes: readonly Outcome[],
  planted: Planted,
  options: RecoveryOptions = {},
): Recovery {
  const tolerance = options.tolerance ?? 2;
  const models = [...new Set(outcomes.map((o) => o.model))];
  if (models.length !== 1) {
    throw new Error(`compareWithPlanted needs the outcomes of exactly one model, got ${models.length}`);
  }
  const truth: Outcome[] = outcomes.map((o) => ({
    ...o,
    label: plantedLabel(planted, o.condition, o.scenarioId),
    judgeFailed: false,
  }));
  const pairs = (options.pairs ?? DEFAULT_PAIRS).filter(
    (p) => outcomes.some((o) => o.condition === p.high) && outcomes.some((o) => o.condition === p.low),
  );
  const measured = buildTable1(outcomes, { pairs });
  const expected = buildTable1(truth, { pairs });
  let maxCountError = 0;
  const rows = expected.rows.map((p): RecoveryRow => {
    const m = measured.rows.find((r) => r.condition === p.condition)!;
    const cells = LABELS.map((label): RecoveryCell => {
      const a = p[COUNT_KEY[label]];
      const b = m[COUNT_KEY[label]];
      maxCountError = Math.max(maxCountError, Math.abs(a - b));
      return { label, planted: a, measured: b, recovered: Math.abs(a - b) <= tolerance };
    });
    // A judge failure drops an item from every count: it is one more item off.
    maxCountError = Math.max(maxCountError, m.judgeFailed);
    return {
      condition: p.condition,
      planted: p,
      measured: m,
      cells,
      recovered: cells.every((c) => c.recovered) && m.judgeFailed <= tolerance,
    };
  });
  const gaps = expected.gaps.map((p): RecoveryGap => {
    const m = measured.gaps.find((g) => g.high === p.high && g.low === p.low)!;
    const recovered =
      m.delta !== null && p.deltaCI !== null && m.delta >= p.deltaCI[0] && m.delta <= p.deltaCI[1];
    return { high: p.high, low: p.low, planted: p, measured: m, recovered };
  });
  const ratings = outcomes.map((o, i) => [o.label, truth[i]!.label] as const);
  return {
    model: models[0]!,
    tolerance,
    rows,
    gaps,
    agreement: agreementRate(ratings),
    kappa: cohenKappa(ratings, { categories: [...LABELS] }),
    maxCountError,
    recovered: rows.every((r) => r.recovered) && gaps.every((g) => g.recovered),
  };
}
