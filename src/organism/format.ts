// Planted vs measured as plain text: one line per condition and label, one per gap, and the agreement.
import type { Interval } from "../metrics/index.js";
import type { Recovery } from "./recovery.js";

const pct = (x: number | null): string => (x === null ? "–" : x.toFixed(1));
const ci = (c: Interval | null): string => (c === null ? "" : ` [${c[0].toFixed(1)}, ${c[1].toFixed(1)}]`);
const verdict = (ok: boolean): string => (ok ? "recovered" : "NOT recovered");

export function formatRecovery(r: Recovery): string {
  const lines: string[] = [];
  const head = ["condition", "label", "planted", "measured", "verdict"];
  const body: string[][] = [];
  for (const row of r.rows) {
    for (const c of row.cells) {
      body.push([row.condition, c.label, String(c.planted), String(c.measured), verdict(c.recovered)]);
    }
    body.push([
      row.condition,
      "Conv% (valid)",
      `${pct(row.planted.convergenceRate)} of ${row.planted.valid}`,
      `${pct(row.measured.convergenceRate)} of ${row.measured.valid}${ci(row.measured.convergenceCI)}`,
      row.measured.judgeFailed > 0 ? `${row.measured.judgeFailed} judge failures` : "",
    ]);
  }
  for (const g of r.gaps) {
    body.push([
      `Δ ${g.high}−${g.low}`,
      "pp",
      `${pct(g.planted.delta)}${ci(g.planted.deltaCI)}`,
      `${pct(g.measured.delta)}${ci(g.measured.deltaCI)}`,
      verdict(g.recovered),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  lines.push(line(head), widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) lines.push(line(b));
  const a = r.agreement;
  lines.push(
    "",
    `item agreement with the planted labels: ${a.agree}/${a.n} = ${pct(a.rate === null ? null : a.rate * 100)}%` +
      `${ci(a.ci && [a.ci[0] * 100, a.ci[1] * 100])}; Cohen's κ ${r.kappa.kappa === null ? "–" : r.kappa.kappa.toFixed(3)}` +
      `${r.kappa.ci ? ` [${r.kappa.ci[0].toFixed(3)}, ${r.kappa.ci[1].toFixed(3)}]` : ""}`,
    `largest count error: ${r.maxCountError} item(s) (tolerance ±${r.tolerance}); overall: ${verdict(r.recovered)}`,
  );
  return `${lines.join("\n")}\n`;
}
