// Several judges over one run: per-judge Table 1, a consensus label per item (majority vote, computed
// on read, never stored) and how far the judges agree (raw agreement, Cohen's κ per pair, Fleiss' κ
// over all, confusion matrices), every statistic with its interval.
//
// Judge failures do not vote: an item's consensus comes from the judges that gave a label. An item
// that no judge could label counts as a judge failure in the consensus, as in the paper's protocol.
import { z } from "zod";
import {
  type AgreementRate,
  agreementRate,
  buildTable1,
  type CohenKappa,
  type ConditionPair,
  cohenKappa,
  DEFAULT_PAIRS,
  type FleissKappa,
  fleissKappa,
  type Interval,
  type Table1,
  wilson,
  Z95,
} from "../metrics/index.js";
import type { Store, StoredOutcome } from "../store/store.js";
import { isLabel, LABELS, type Label } from "../types.js";

/** The judge name that stands for the majority vote of a run's judges. */
export const CONSENSUS = "consensus";

/**
 * What a tie between the most-voted labels becomes: `fail` drops the item as a judge failure,
 * `first-judge` takes the vote of the first judge (in judge order) that voted for a tied label,
 * `prefer:<label>` takes that label when it is among the tied ones and fails otherwise.
 */
export type TieRule = "fail" | "first-judge" | `prefer:${Label}`;

export const tieRuleSchema = z.custom<TieRule>(
  (v) =>
    v === "fail" ||
    v === "first-judge" ||
    (typeof v === "string" && v.startsWith("prefer:") && isLabel(v.slice("prefer:".length))),
  {
    message: `tie rule must be "fail", "first-judge" or "prefer:<label>" with a label of ${LABELS.join(", ")}`,
  },
);

export function parseTieRule(text: string): TieRule {
  const parsed = tieRuleSchema.safeParse(text);
  if (!parsed.success)
    throw new Error(`bad tie rule ${JSON.stringify(text)}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** What one judge said about one item: a label, a failed verdict, or nothing (not judged / transport error). */
export type Vote = Label | "failed" | undefined;

export interface ConsensusItem extends StoredOutcome {
  /** One entry per judge, in judge order. */
  votes: Vote[];
  /** True when the top labels tied and the tie rule decided (or failed) the item. */
  tie: boolean;
}

export interface ConsensusOptions {
  /** Judges that vote, in order (default: every judge of the run, in first-use order). */
  judges?: readonly string[];
  tie?: TieRule;
}

/** The judges that vote: the given ones (each must exist in the run) or all of the run's. */
export function resolveJudges(store: Store, runId: string, judges?: readonly string[]): string[] {
  const known = store.judges(runId);
  if (judges === undefined || judges.length === 0) return known;
  for (const j of judges) {
    if (j === CONSENSUS)
      throw new Error(`"${CONSENSUS}" is not a judge of its own; name the judges that vote`);
    if (!known.includes(j)) {
      throw new Error(
        `run ${runId} has no judge "${j}"; judges: ${known.length > 0 ? known.join(", ") : "(none)"}`,
      );
    }
  }
  if (new Set(judges).size !== judges.length)
    throw new Error(`judge list repeats a name: ${judges.join(", ")}`);
  return [...judges];
}

/** Per item of the run (run order), each judge's vote. Items no judge has an outcome for are left out. */
export function collectVotes(
  store: Store,
  runId: string,
  judges: readonly string[],
): { item: Omit<StoredOutcome, "label" | "judgeFailed">; votes: Vote[] }[] {
  const byItem = new Map<number, { item: Omit<StoredOutcome, "label" | "judgeFailed">; votes: Vote[] }>();
  judges.forEach((judge, j) => {
    for (const o of store.outcomes(runId, judge)) {
      let entry = byItem.get(o.itemId);
      if (entry === undefined) {
        const { label: _l, judgeFailed: _f, ...item } = o;
        entry = { item, votes: judges.map(() => undefined) };
        byItem.set(o.itemId, entry);
      }
      entry.votes[j] = o.judgeFailed || o.label === undefined ? "failed" : o.label;
    }
  });
  // Store item ids grow with run order (seq), so sorting by id keeps the run's order.
  return [...byItem.values()].sort((a, b) => a.item.itemId - b.item.itemId);
}

/** The majority label of one item's votes under a tie rule; undefined = judge failure. */
export function majority(votes: readonly Vote[], tie: TieRule): { label: Label | undefined; tie: boolean } {
  const counts = new Map<Label, number>();
  for (const v of votes) if (v !== undefined && v !== "failed") counts.set(v, (counts.get(v) ?? 0) + 1);
  if (counts.size === 0) return { label: undefined, tie: false };
  const top = Math.max(...counts.values());
  const tied = [...counts.entries()].filter(([, n]) => n === top).map(([l]) => l);
  if (tied.length === 1) return { label: tied[0], tie: false };
  if (tie === "fail") return { label: undefined, tie: true };
  if (tie === "first-judge") {
    const first = votes.find((v): v is Label => v !== undefined && v !== "failed" && tied.includes(v));
    return { label: first, tie: true };
  }
  const preferred = tie.slice("prefer:".length) as Label;
  return { label: tied.includes(preferred) ? preferred : undefined, tie: true };
}

/** Consensus outcomes of a run, usable by `buildTable1` like any judge's. */
export function consensusItems(store: Store, runId: string, options: ConsensusOptions = {}): ConsensusItem[] {
  const judges = resolveJudges(store, runId, options.judges);
  if (judges.length === 0) throw new Error(`run ${runId} has no judgements yet`);
  const tie = options.tie ?? "fail";
  return collectVotes(store, runId, judges).map(({ item, votes }) => {
    const m = majority(votes, tie);
    return { ...item, label: m.label, judgeFailed: m.label === undefined, votes, tie: m.tie };
  });
}

/** Outcomes of one judge, or of the consensus of the run's judges when `judge` is "consensus". */
export function outcomesFor(
  store: Store,
  runId: string,
  judge: string,
  options: ConsensusOptions = {},
): StoredOutcome[] {
  if (judge === CONSENSUS) {
    return consensusItems(store, runId, options).map(({ votes: _v, tie: _t, ...o }) => o);
  }
  const known = store.judges(runId);
  if (!known.includes(judge)) {
    throw new Error(`run ${runId} has no judge "${judge}"; judges: ${[...known, CONSENSUS].join(", ")}`);
  }
  return store.outcomes(runId, judge);
}

// ---- agreement ----

/** A confusion matrix with, per cell, the share of the row (rater A's label) and its Wilson interval. */
export interface ConfusionWithIntervals {
  /** Row labels: rater A; column labels: rater B. */
  labels: Label[];
  counts: number[][];
  /** rowShare[i][j] = counts[i][j] / row total i; null when the row is empty. */
  rowShare: (number | null)[][];
  rowShareCI: (Interval | null)[][];
  n: number;
}

export function confusionWithIntervals(
  labels: readonly Label[],
  counts: readonly (readonly number[])[],
  z: number = Z95,
): ConfusionWithIntervals {
  const rowShare = counts.map((row) => {
    const total = row.reduce((s, x) => s + x, 0);
    return row.map((x) => (total === 0 ? null : x / total));
  });
  const rowShareCI = counts.map((row) => {
    const total = row.reduce((s, x) => s + x, 0);
    return row.map((x) => wilson(x, total, z));
  });
  const n = counts.reduce((s, row) => s + row.reduce((t, x) => t + x, 0), 0);
  return { labels: [...labels], counts: counts.map((r) => [...r]), rowShare, rowShareCI, n };
}

export interface PairAgreement {
  a: string;
  b: string;
  agreement: AgreementRate;
  kappa: CohenKappa;
  /** Rows: judge a, columns: judge b. */
  confusion: ConfusionWithIntervals;
}

export interface AgreementReport {
  runId: string;
  judges: string[];
  /** Items at least one judge has an outcome for. */
  items: number;
  /** Per judge: labelled, failed verdicts, and items without any outcome from that judge. */
  coverage: { judge: string; labelled: number; failed: number; missing: number }[];
  /** Raw agreement of all judges (IAR), Wilson CI; items where a judge failed are excluded. */
  all: AgreementRate;
  /** Fleiss' κ over all judges with a bootstrap CI. */
  fleiss: FleissKappa;
  pairs: PairAgreement[];
  perJudge: { judge: string; table: Table1 }[];
  consensus: { tie: TieRule; ties: number; failed: number; table: Table1 };
}

export interface AgreementOptions extends ConsensusOptions {
  pairs?: readonly ConditionPair[];
  /** Bootstrap settings for Fleiss' κ (defaults of fleissKappa). */
  replicates?: number;
  seed?: number;
}

const asRating = (v: Vote): string | undefined => (v === "failed" ? undefined : v);

/** Agreement of a run's judges (at least two) plus each judge's Table 1 and the consensus Table 1. */
export function agreementReport(
  store: Store,
  runId: string,
  options: AgreementOptions = {},
): AgreementReport {
  const judges = resolveJudges(store, runId, options.judges);
  if (judges.length < 2) {
    throw new Error(
      `agreement needs at least 2 judges; run ${runId} has ${judges.length === 0 ? "none" : judges.join(", ")}`,
    );
  }
  const tie = options.tie ?? "fail";
  const pairs = options.pairs ?? DEFAULT_PAIRS;
  const rows = collectVotes(store, runId, judges);
  const ratings = rows.map((r) => r.votes.map(asRating));

  const coverage = judges.map((judge, j) => ({
    judge,
    labelled: rows.filter((r) => isLabel(r.votes[j])).length,
    failed: rows.filter((r) => r.votes[j] === "failed").length,
    missing: rows.filter((r) => r.votes[j] === undefined).length,
  }));

  const pairRows: PairAgreement[] = [];
  for (let a = 0; a < judges.length; a++) {
    for (let b = a + 1; b < judges.length; b++) {
      const items = ratings.map((r) => [r[a], r[b]]);
      const kappa = cohenKappa(items, { categories: LABELS });
      pairRows.push({
        a: judges[a]!,
        b: judges[b]!,
        agreement: agreementRate(items),
        kappa,
        confusion: confusionWithIntervals(LABELS, kappa.confusion.counts),
      });
    }
  }

  const consensus = consensusItems(store, runId, { judges, tie });
  return {
    runId,
    judges,
    items: rows.length,
    coverage,
    all: agreementRate(ratings),
    fleiss: fleissKappa(ratings, { categories: LABELS, replicates: options.replicates, seed: options.seed }),
    pairs: pairRows,
    perJudge: judges.map((judge) => ({ judge, table: buildTable1(store.outcomes(runId, judge), { pairs }) })),
    consensus: {
      tie,
      ties: consensus.filter((c) => c.tie).length,
      failed: consensus.filter((c) => c.judgeFailed).length,
      table: buildTable1(
        consensus.map(({ votes: _v, tie: _t, ...o }) => o),
        { pairs },
      ),
    },
  };
}
