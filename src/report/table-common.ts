// Shared cell text for the human-readable Table 1 formats (terminal, Markdown, LaTeX).
// Rounding happens only here: point estimates to 2 decimals like the paper, CI bounds to 1.
import type { Interval } from "../metrics/interval.js";
import type { CategoryRow, GapRow, Table1, Table1Row } from "../metrics/table1.js";
import type { TextTable } from "./render/text-table.js";

export interface HumanFormatOptions {
  /** Also print the per-category (CIR) table. Default false. */
  categories?: boolean;
  /** Confidence level shown in headers, in percent. Default 95 (match the z used to build the table). */
  confidence?: number;
}

export const NA = "n/a";

/** Fixed decimals without a "-0.00". */
export function fixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

function signed(x: number, digits: number): string {
  const s = fixed(x, digits);
  return x > 0 && s !== fixed(0, digits) ? `+${s}` : s;
}

export function ciText(ci: Interval | null, sign = false): string {
  if (ci === null) return NA;
  const f = sign ? signed : fixed;
  return `[${f(ci[0], 1)}, ${f(ci[1], 1)}]`;
}

/** `81.69 [71.2, 89.0]`, or n/a. */
export function rateText(rate: number | null, ci: Interval | null): string {
  return rate === null ? NA : `${fixed(rate, 2)} ${ciText(ci)}`;
}

/** `+78.87 [+66.3, +86.4]`, or n/a. */
export function deltaText(delta: number | null, ci: Interval | null): string {
  return delta === null ? NA : `${signed(delta, 2)} ${ciText(ci, true)}`;
}

/** p-values: 3 decimals, or 2 significant digits in exponent form below 0.001; n/a when no test was possible. */
export function pText(p: number | null): string {
  if (p === null) return "n/a";
  if (p === 0) return "<1e-300";
  if (p < 0.001) return p.toExponential(1);
  return fixed(p, 3);
}

// The table shape of every human format (defined with its renderer).
export type { TextTable } from "./render/text-table.js";

/** The human tables as plain strings, before any markup or escaping. */
export function humanTables(table: Table1, options: HumanFormatOptions = {}): TextTable[] {
  const conf = options.confidence ?? 95;
  const ci = `${conf}% CI`;
  const tables: TextTable[] = [
    {
      title: "Table 1: convergence and refusal over valid items",
      head: [
        "Model",
        "Condition",
        "n",
        "Nonsens.",
        "Valid",
        "Conv.",
        "Refusal",
        "Judge failed",
        `Conv. % [${ci}]`,
        `Refusal % [${ci}]`,
        `Nonsens. % [${ci}]`,
      ],
      numeric: [false, false, true, true, true, true, true, true, true, true, true],
      body: table.rows.map((r: Table1Row) => [
        r.model,
        r.condition,
        String(r.total),
        String(r.nonsensical),
        String(r.valid),
        String(r.convergence),
        String(r.safetyRefusal),
        String(r.judgeFailed),
        rateText(r.convergenceRate, r.convergenceCI),
        rateText(r.refusalRate, r.refusalCI),
        rateText(r.nonsensicalRate, r.nonsensicalCI),
      ]),
    },
  ];
  if (table.gaps.length > 0) {
    tables.push({
      title: "Steering gaps (percentage points)",
      head: [
        "Model",
        "High − low",
        `Δ conv. pp [${ci}]`,
        "McNemar p",
        "Pairs",
        "Discordant (high/low)",
        `Δ refusal pp [${ci}]`,
        "CI method",
      ],
      numeric: [false, false, true, true, true, true, true, false],
      body: table.gaps.map((g: GapRow) => [
        g.model,
        `${g.high} − ${g.low}`,
        deltaText(g.delta, g.deltaCI),
        pText(g.mcnemarP),
        String(g.pairs),
        `${g.discordant.highOnly}/${g.discordant.lowOnly}`,
        deltaText(g.refusalDelta, g.refusalDeltaCI),
        g.ciMethod === null ? NA : g.ciMethod === "newcombe-paired" ? "paired" : "independent",
      ]),
    });
  }
  if (options.categories === true && table.categories.length > 0) {
    tables.push({
      title: "Convergence by category (CIR)",
      head: ["Model", "Condition", "Category", "n", "Valid", "Conv.", "Judge failed", `Conv. % [${ci}]`],
      numeric: [false, false, false, true, true, true, true, true],
      body: table.categories.map((c: CategoryRow) => [
        c.model,
        c.condition,
        c.category,
        String(c.total),
        String(c.valid),
        String(c.convergence),
        String(c.judgeFailed),
        rateText(c.convergenceRate, c.convergenceCI),
      ]),
    });
  }
  return tables;
}

export const FOOTNOTE =
  "Conv.% and Refusal% are over valid items (n − nonsensical), Nonsens.% over n; judge failures are " +
  "excluded from every count. CIs: Wilson; Δ: Newcombe hybrid score (paired when every valid item is " +
  "paired); McNemar: exact, over items valid in both conditions.";
