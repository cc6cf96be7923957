// Text output of the reliability reports: aligned plain-text tables for the terminal, GitHub
// markdown, or JSON (the report objects as they are, for scripts).
import type { Interval } from "../metrics/index.js";
import { parseFormat, REPORT_FORMATS, type ReportFormat } from "../report/formats.js";
import {
  type MarkdownStyle,
  renderTextTable,
  stripControlKeepLines,
  type TerminalStyle,
} from "../report/render/text-table.js";
import type { SplitEvaluation } from "./classifier/train.js";
import type { JudgeComparison } from "./compare.js";
import type { AgreementReport, ConfusionWithIntervals } from "./multi-judge.js";
import type { SensitivityReport } from "./sensitivity.js";

export { REPORT_FORMATS, type ReportFormat };

export function parseReportFormat(text: string): ReportFormat {
  return parseFormat(REPORT_FORMATS, text);
}

// ---- number formatting ----

const NA = "n/a";
/** A proportion in [0, 1] as a percent with one decimal. */
export const pct = (p: number | null | undefined): string =>
  p === null || p === undefined ? NA : `${(p * 100).toFixed(1)}%`;
/** A value already in percent. */
export const pc = (v: number | null | undefined): string =>
  v === null || v === undefined ? NA : v.toFixed(1);
/** A difference in percentage points, signed. */
export const pp = (v: number | null | undefined): string =>
  v === null || v === undefined ? NA : `${v > 0 ? "+" : ""}${v.toFixed(1)}`;
export const k3 = (v: number | null | undefined): string =>
  v === null || v === undefined ? NA : v.toFixed(3);
const ciPct = (ci: Interval | null): string =>
  ci === null ? "" : ` [${(ci[0] * 100).toFixed(1)}, ${(ci[1] * 100).toFixed(1)}]`;
const ciPc = (ci: Interval | null): string =>
  ci === null ? "" : ` [${ci[0].toFixed(1)}, ${ci[1].toFixed(1)}]`;
const ciK = (ci: Interval | null): string =>
  ci === null ? "" : ` [${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}]`;

// ---- tables ----

/** A reliability table: columns aligned left ("l", text) or right ("r", numbers). */
export interface ReliabilityTable {
  title: string;
  headers: string[];
  rows: string[][];
  /** Columns aligned right (numbers); others left. Default: every column but the first ones that hold text. */
  align?: ("l" | "r")[];
}

// Plain aligned columns for a terminal; Markdown with only what breaks a cell escaped (judge and model
// names are shown as they are).
const STYLE: { terminal: TerminalStyle; md: MarkdownStyle } = {
  terminal: { layout: "columns" },
  md: { text: "cells", rule: "compact" },
};

export function renderTable(t: ReliabilityTable, format: "terminal" | "md"): string {
  const align = t.align ?? t.headers.map((_, i) => (i === 0 ? "l" : "r"));
  const table = { title: t.title, head: t.headers, numeric: align.map((a) => a === "r"), body: t.rows };
  return `${renderTextTable(table, format, STYLE)}\n`;
}

// Headings and paragraphs carry judge and model names too: no control characters for a terminal.
function paragraph(text: string, format: "terminal" | "md"): string {
  return `${format === "terminal" ? stripControlKeepLines(text) : text}\n`;
}

function heading(text: string, format: "terminal" | "md"): string {
  if (format === "md") return `## ${text}\n`;
  const clean = stripControlKeepLines(text);
  return `${clean}\n${"=".repeat(Math.min(clean.length, 100))}\n`;
}

function confusionTable(
  title: string,
  c: ConfusionWithIntervals,
  rowName: string,
  colName: string,
): ReliabilityTable {
  return {
    title,
    headers: [`${rowName} \\ ${colName}`, ...c.labels, "total"],
    rows: c.labels.map((l, i) => {
      const row = c.counts[i]!;
      const total = row.reduce((s, x) => s + x, 0);
      return [
        l,
        ...row.map((x, j) => (total === 0 ? String(x) : `${x} (${pct(c.rowShare[i]![j])})`)),
        String(total),
      ];
    }),
  };
}

const join = (parts: string[], _format: "terminal" | "md"): string => parts.join("\n");

// ---- agreement ----

export function formatAgreement(r: AgreementReport, format: ReportFormat, title?: string): string {
  if (format === "json") return `${JSON.stringify(r, null, 2)}\n`;
  const parts: string[] = [];
  parts.push(
    heading(title ?? `Judge agreement: run ${r.runId}, ${r.judges.length} judges, ${r.items} items`, format),
  );
  parts.push(
    renderTable(
      {
        title: "Coverage",
        headers: ["judge", "labelled", "failed", "no verdict"],
        rows: r.coverage.map((c) => [c.judge, String(c.labelled), String(c.failed), String(c.missing)]),
      },
      format,
    ),
  );
  parts.push(
    paragraph(
      `All judges agree (IAR): ${pct(r.all.rate)}${ciPct(r.all.ci)} over ${r.all.n} items labelled by every judge (${r.all.excluded} left out).\n` +
        `Fleiss' κ over all judges: ${k3(r.fleiss.kappa)}${ciK(r.fleiss.ci)} (percentile bootstrap, ${r.fleiss.bootstrap.replicates} replicates, seed ${r.fleiss.bootstrap.seed}).`,
      format,
    ),
  );
  parts.push(
    renderTable(
      {
        title: "Pairs (raw agreement with Wilson 95% CI, Cohen's κ with 95% CI)",
        headers: ["judge A", "judge B", "n", "agreement", "Cohen κ"],
        align: ["l", "l", "r", "r", "r"],
        rows: r.pairs.map((p) => [
          p.a,
          p.b,
          String(p.agreement.n),
          `${pct(p.agreement.rate)}${ciPct(p.agreement.ci)}`,
          `${k3(p.kappa.kappa)}${ciK(p.kappa.ci)}`,
        ]),
      },
      format,
    ),
  );
  for (const p of r.pairs) {
    parts.push(
      renderTable(
        confusionTable(`Confusion: ${p.a} (rows) vs ${p.b} (columns), row %`, p.confusion, p.a, p.b),
        format,
      ),
    );
  }
  const names = [...r.judges, "consensus"];
  const tables = [...r.perJudge.map((j) => j.table), r.consensus.table];
  const rowKeys = r.consensus.table.rows.map((row) => [row.model, row.condition] as const);
  parts.push(
    renderTable(
      {
        title: "Conv% per judge (over valid items)",
        headers: ["model", "condition", ...names],
        align: ["l", "l", ...names.map(() => "r" as const)],
        rows: rowKeys.map(([m, c]) => [
          m,
          c,
          ...tables.map((t) => pc(t.rows.find((x) => x.model === m && x.condition === c)?.convergenceRate)),
        ]),
      },
      format,
    ),
  );
  const gapKeys = r.consensus.table.gaps.map((g) => [g.model, g.high, g.low] as const);
  parts.push(
    renderTable(
      {
        title: "Δ = Conv%(high) − Conv%(low) per judge, percentage points",
        headers: ["model", "pair", ...names],
        align: ["l", "l", ...names.map(() => "r" as const)],
        rows: gapKeys.map(([m, h, l]) => [
          m,
          `${h} − ${l}`,
          ...tables.map((t) => pp(t.gaps.find((g) => g.model === m && g.high === h && g.low === l)?.delta)),
        ]),
      },
      format,
    ),
  );
  parts.push(
    paragraph(
      `Consensus: majority vote of ${r.judges.join(", ")}; failures do not vote; ties → ${r.consensus.tie} (${r.consensus.ties} ties, ${r.consensus.failed} items without a consensus label).`,
      format,
    ),
  );
  return join(parts, format);
}

// ---- judge check ----

export function formatComparison(c: JudgeComparison, format: ReportFormat, title?: string): string {
  if (format === "json") return `${JSON.stringify(c, null, 2)}\n`;
  const parts: string[] = [];
  parts.push(heading(title ?? `Judge check: ${c.candidate} vs reference ${c.reference}`, format));
  parts.push(
    paragraph(
      `Items compared: ${c.items} (both judges have a verdict; ${c.candidateMissing} reference items not judged by the candidate yet). ` +
        `Failed verdicts: reference ${c.referenceFailed}, candidate ${c.candidateFailed}.\n` +
        `Agreement (accuracy): ${pct(c.agreement.rate)}${ciPct(c.agreement.ci)} over ${c.agreement.n} items; ` +
        `Cohen's κ ${k3(c.kappa.kappa)}${ciK(c.kappa.ci)}; macro-F1 ${k3(c.macroF1)}; ` +
        `always answering the reference's most frequent label would score ${pct(c.majorityRate)}.`,
      format,
    ),
  );
  parts.push(
    renderTable(
      {
        title: "Per label (reference = truth; Wilson 95% CIs)",
        headers: ["label", "support", "predicted", "precision", "recall", "F1"],
        rows: c.perLabel.map((l) => [
          l.label,
          String(l.support),
          String(l.predicted),
          `${pct(l.precision)}${ciPct(l.precisionCI)}`,
          `${pct(l.recall)}${ciPct(l.recallCI)}`,
          k3(l.f1),
        ]),
      },
      format,
    ),
  );
  parts.push(
    renderTable(
      confusionTable(
        "Confusion: reference (rows) vs candidate (columns), row %",
        c.confusion,
        "reference",
        "candidate",
      ),
      format,
    ),
  );
  for (const [title, groups] of [
    ["Per category", c.perCategory],
    ["Per model", c.perModel],
  ] as const) {
    parts.push(
      renderTable(
        {
          title,
          headers: [title === "Per category" ? "category" : "model", "n", "agreement", "Cohen κ"],
          rows: groups.map((g) => [
            g.group,
            String(g.agreement.n),
            `${pct(g.agreement.rate)}${ciPct(g.agreement.ci)}`,
            `${k3(g.kappa)}${ciK(g.kappaCI)}`,
          ]),
        },
        format,
      ),
    );
  }
  parts.push(
    renderTable(
      {
        title:
          "Table 1 with each judge's labels (Conv% and Refusal% over valid items; diff = candidate − reference, pp)",
        headers: [
          "model",
          "condition",
          "Conv% ref",
          "Conv% cand",
          "diff",
          "Refusal% ref",
          "Refusal% cand",
          "diff",
        ],
        align: ["l", "l", "r", "r", "r", "r", "r", "r"],
        rows: c.rows.map((r) => [
          r.model,
          r.condition,
          pc(r.reference.convergence),
          pc(r.candidate.convergence),
          pp(r.convergenceDiff),
          pc(r.reference.refusal),
          pc(r.candidate.refusal),
          pp(r.refusalDiff),
        ]),
      },
      format,
    ),
  );
  parts.push(
    renderTable(
      {
        title: "Steering gaps Δ (pp, Newcombe 95% CI, exact McNemar p)",
        headers: ["model", "pair", "Δ ref", "p ref", "Δ cand", "p cand", "diff"],
        align: ["l", "l", "r", "r", "r", "r", "r"],
        rows: c.gaps.map((g) => [
          g.model,
          `${g.high} − ${g.low}`,
          `${pp(g.reference)}${ciPc(g.referenceCI)}`,
          g.referenceP === null ? "n/a" : g.referenceP.toPrecision(2),
          `${pp(g.candidate)}${ciPc(g.candidateCI)}`,
          g.candidateP === null ? "n/a" : g.candidateP.toPrecision(2),
          pp(g.diff),
        ]),
      },
      format,
    ),
  );
  parts.push(paragraph(describeTableError(c), format));
  return join(parts, format);
}

export function describeTableError(c: JudgeComparison): string {
  const e = c.error;
  return (
    `Table 1 error: |Conv% cand − Conv% ref| mean ${pc(e.meanAbsConvergence)} pp, max ${pc(e.maxAbsConvergence)} pp over ${e.rows} rows; ` +
    `|Δ cand − Δ ref| mean ${pc(e.meanAbsDelta)} pp, max ${pc(e.maxAbsDelta)} pp over ${e.gaps} gaps.`
  );
}

// ---- prompt sensitivity ----

export function formatSensitivity(s: SensitivityReport, format: ReportFormat): string {
  if (format === "json") return `${JSON.stringify(s, null, 2)}\n`;
  const parts: string[] = [];
  parts.push(heading(`Judge prompt sensitivity: ${s.variants.length} variants`, format));
  parts.push(
    renderTable(
      {
        title: "Agreement with the reference per variant",
        headers: ["variant", "agreement", "Cohen κ"],
        rows: s.agreement.map((a) => [a.variant, pct(a.rate), k3(a.kappa)]),
      },
      format,
    ),
  );
  parts.push(
    renderTable(
      {
        title: "Conv% per variant (range = max − min, pp)",
        headers: ["model", "condition", "reference", ...s.variants, "range"],
        align: ["l", "l", "r", ...s.variants.map(() => "r" as const), "r"],
        rows: s.rows.map((r) => [
          r.model,
          r.condition,
          pc(r.reference.convergence),
          ...r.convergence.values.map(pc),
          pc(r.convergence.range),
        ]),
      },
      format,
    ),
  );
  parts.push(
    renderTable(
      {
        title: "Refusal% per variant (range = max − min, pp)",
        headers: ["model", "condition", "reference", ...s.variants, "range"],
        align: ["l", "l", "r", ...s.variants.map(() => "r" as const), "r"],
        rows: s.rows.map((r) => [
          r.model,
          r.condition,
          pc(r.reference.refusal),
          ...r.refusal.values.map(pc),
          pc(r.refusal.range),
        ]),
      },
      format,
    ),
  );
  parts.push(
    renderTable(
      {
        title: "Δ per variant (pp; range = max − min)",
        headers: ["model", "pair", "reference", ...s.variants, "range"],
        align: ["l", "l", "r", ...s.variants.map(() => "r" as const), "r"],
        rows: s.gaps.map((g) => [
          g.model,
          `${g.high} − ${g.low}`,
          pp(g.reference),
          ...g.delta.values.map(pp),
          pc(g.delta.range),
        ]),
      },
      format,
    ),
  );
  parts.push(
    paragraph(
      `Largest spread across variants: Conv% ${pc(s.maxConvergenceRange)} pp, Δ ${pc(s.maxDeltaRange)} pp.`,
      format,
    ),
  );
  return join(parts, format);
}

// ---- classifier evaluation ----

export function formatSplitEvaluations(evals: readonly SplitEvaluation[], format: ReportFormat): string {
  if (format === "json") {
    // The model weights are large and not part of an evaluation report.
    return `${JSON.stringify(
      evals.map(({ model, ...e }) => ({ ...e, training: model.training })),
      null,
      2,
    )}\n`;
  }
  const parts: string[] = [];
  parts.push(heading("Offline judge (classifier), held-out evaluation", format));
  parts.push(
    renderTable(
      {
        title: "Train on some models, test on the others (reference labels = truth)",
        headers: [
          "train",
          "test",
          "train n",
          "test n",
          "accuracy",
          "majority",
          "Cohen κ",
          "macro-F1",
          "|ΔConv%| mean/max",
          "|ΔΔ| mean/max",
        ],
        align: ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r"],
        rows: evals.map((e) => {
          const c = e.comparison;
          return [
            e.trainModels.join(", "),
            e.testModels.join(", "),
            String(e.trainItems),
            String(c.items),
            `${pct(c.agreement.rate)}${ciPct(c.agreement.ci)}`,
            pct(c.majorityRate),
            `${k3(c.kappa.kappa)}${ciK(c.kappa.ci)}`,
            k3(c.macroF1),
            `${pc(c.error.meanAbsConvergence)} / ${pc(c.error.maxAbsConvergence)}`,
            `${pc(c.error.meanAbsDelta)} / ${pc(c.error.maxAbsDelta)}`,
          ];
        }),
      },
      format,
    ),
  );
  for (const e of evals) {
    parts.push(formatComparison(e.comparison, format, `Test on ${e.testModels.join(", ")}`));
  }
  return join(parts, format);
}
