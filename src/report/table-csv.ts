// Table 1 as RFC 4180 CSV: one section per call (rows, gaps or categories), a header line, CRLF line
// ends. Numbers keep full precision (this is a data format; only the human formats round), and an
// undefined rate or interval is an empty field.
import type { Interval } from "../metrics/interval.js";
import type { Table1 } from "../metrics/table1.js";

export type CsvSection = "rows" | "gaps" | "categories";

type Cell = string | number | null;

/** Quotes a field when it holds a comma, quote, CR or LF (RFC 4180 §2.6-2.7). */
export function csvField(value: Cell): string {
  if (value === null) return "";
  const s = typeof value === "number" ? String(value) : value;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const lo = (ci: Interval | null): Cell => (ci === null ? null : ci[0]);
const hi = (ci: Interval | null): Cell => (ci === null ? null : ci[1]);

function sectionCells(table: Table1, section: CsvSection): { head: string[]; body: Cell[][] } {
  switch (section) {
    case "rows":
      return {
        head: [
          "model",
          "condition",
          "total",
          "valid",
          "nonsensical",
          "convergence",
          "noConvergence",
          "safetyRefusal",
          "judgeFailed",
          "convergenceRate",
          "convergenceCILow",
          "convergenceCIHigh",
          "refusalRate",
          "refusalCILow",
          "refusalCIHigh",
          "nonsensicalRate",
          "nonsensicalCILow",
          "nonsensicalCIHigh",
        ],
        body: table.rows.map((r) => [
          r.model,
          r.condition,
          r.total,
          r.valid,
          r.nonsensical,
          r.convergence,
          r.noConvergence,
          r.safetyRefusal,
          r.judgeFailed,
          r.convergenceRate,
          lo(r.convergenceCI),
          hi(r.convergenceCI),
          r.refusalRate,
          lo(r.refusalCI),
          hi(r.refusalCI),
          r.nonsensicalRate,
          lo(r.nonsensicalCI),
          hi(r.nonsensicalCI),
        ]),
      };
    case "gaps":
      return {
        head: [
          "model",
          "high",
          "low",
          "delta",
          "deltaCILow",
          "deltaCIHigh",
          "mcnemarP",
          "pairs",
          "discordantHighOnly",
          "discordantLowOnly",
          "refusalDelta",
          "refusalDeltaCILow",
          "refusalDeltaCIHigh",
          "refusalMcnemarP",
          "ciMethod",
        ],
        body: table.gaps.map((g) => [
          g.model,
          g.high,
          g.low,
          g.delta,
          lo(g.deltaCI),
          hi(g.deltaCI),
          g.mcnemarP,
          g.pairs,
          g.discordant.highOnly,
          g.discordant.lowOnly,
          g.refusalDelta,
          lo(g.refusalDeltaCI),
          hi(g.refusalDeltaCI),
          g.refusalMcnemarP,
          g.ciMethod,
        ]),
      };
    case "categories":
      return {
        head: [
          "model",
          "condition",
          "category",
          "total",
          "valid",
          "nonsensical",
          "convergence",
          "noConvergence",
          "safetyRefusal",
          "judgeFailed",
          "convergenceRate",
          "convergenceCILow",
          "convergenceCIHigh",
          "refusalRate",
          "refusalCILow",
          "refusalCIHigh",
        ],
        body: table.categories.map((c) => [
          c.model,
          c.condition,
          c.category,
          c.total,
          c.valid,
          c.nonsensical,
          c.convergence,
          c.noConvergence,
          c.safetyRefusal,
          c.judgeFailed,
          c.convergenceRate,
          lo(c.convergenceCI),
          hi(c.convergenceCI),
          c.refusalRate,
          lo(c.refusalCI),
          hi(c.refusalCI),
        ]),
      };
  }
}

export function formatCsv(table: Table1, section: CsvSection = "rows"): string {
  const { head, body } = sectionCells(table, section);
  return [head, ...body].map((cells) => `${cells.map(csvField).join(",")}\r\n`).join("");
}
