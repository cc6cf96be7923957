// Table 1 as JSON. This is a contract other tools parse: one object {"rows", "gaps", "categories"},
// rates in percent at full precision, intervals as [low, high] in percent, null where undefined.
// Keys are picked explicitly so the output never grows by accident.
import type { CategoryRow, GapRow, Table1, Table1Row } from "../metrics/table1.js";

const row = (r: Table1Row) => ({
  model: r.model,
  condition: r.condition,
  total: r.total,
  valid: r.valid,
  nonsensical: r.nonsensical,
  convergence: r.convergence,
  noConvergence: r.noConvergence,
  safetyRefusal: r.safetyRefusal,
  judgeFailed: r.judgeFailed,
  convergenceRate: r.convergenceRate,
  refusalRate: r.refusalRate,
  nonsensicalRate: r.nonsensicalRate,
  convergenceCI: r.convergenceCI,
  refusalCI: r.refusalCI,
  nonsensicalCI: r.nonsensicalCI,
});

const gap = (g: GapRow) => ({
  model: g.model,
  high: g.high,
  low: g.low,
  delta: g.delta,
  deltaCI: g.deltaCI,
  mcnemarP: g.mcnemarP,
  pairs: g.pairs,
  discordant: { highOnly: g.discordant.highOnly, lowOnly: g.discordant.lowOnly },
  refusalDelta: g.refusalDelta,
  refusalDeltaCI: g.refusalDeltaCI,
  refusalMcnemarP: g.refusalMcnemarP,
  ciMethod: g.ciMethod,
});

const category = (c: CategoryRow) => ({
  model: c.model,
  condition: c.condition,
  category: c.category,
  total: c.total,
  valid: c.valid,
  nonsensical: c.nonsensical,
  convergence: c.convergence,
  noConvergence: c.noConvergence,
  safetyRefusal: c.safetyRefusal,
  judgeFailed: c.judgeFailed,
  convergenceRate: c.convergenceRate,
  convergenceCI: c.convergenceCI,
  refusalRate: c.refusalRate,
  refusalCI: c.refusalCI,
});

export function formatJson(table: Table1): string {
  const out = {
    rows: table.rows.map(row),
    gaps: table.gaps.map(gap),
    categories: table.categories.map(category),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
