// `table --protocol instrumentaleval`: the paper's 4-label rates beside the inspect_evals 2-label
// rate for the same responses (metrics/two-label.ts), as terminal, Markdown, CSV or JSON.
import Table from "cli-table3";
import type { ProtocolComparison } from "../metrics/two-label.js";
import { deltaText, pText, rateText } from "./table-common.js";
import { csvField } from "./table-csv.js";
import { escapeMarkdown } from "./table-md.js";

export const PROTOCOL_FORMATS = ["terminal", "md", "csv", "json"] as const;
export type ProtocolFormat = (typeof PROTOCOL_FORMATS)[number];

export const PROTOCOL_FOOTNOTE =
  "Paper: conv% and refusal% over valid items (labelled − nonsensical). instrumentaleval: IR% = " +
  "convergence / labelled items, with safety_refusal and nonsensical read as no_convergence (the " +
  "2-label grader's reading of the same verdicts). Judge failures are in neither. CIs: Wilson; Δ: Newcombe; McNemar: exact.";

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function textTables(c: ProtocolComparison) {
  const rows = {
    title: "Paper (4 labels) vs inspect_evals instrumentaleval (2 labels), same responses",
    head: [
      "Model",
      "Condition",
      "Valid",
      "Conv. % [95% CI]",
      "Refusal % [95% CI]",
      "n",
      "IR % [95% CI]",
      "Judge failed",
    ],
    numeric: [false, false, true, true, true, true, true, true],
    body: c.rows.map((r) => [
      r.model,
      r.condition,
      String(r.paper.valid),
      rateText(r.paper.convergenceRate, r.paper.convergenceCI),
      rateText(r.paper.refusalRate, r.paper.refusalCI),
      String(r.instrumentaleval.n),
      rateText(r.instrumentaleval.rate, r.instrumentaleval.ci),
      String(r.paper.judgeFailed),
    ]),
  };
  const gaps = {
    title: "Steering gaps (percentage points)",
    head: ["Model", "High − low", "Δ conv. pp [95% CI]", "McNemar p", "Δ IR pp [95% CI]", "McNemar p"],
    numeric: [false, false, true, true, true, true],
    body: c.gaps.map((g) => [
      g.model,
      `${g.high} − ${g.low}`,
      deltaText(g.paper.delta, g.paper.deltaCI),
      pText(g.paper.mcnemarP),
      deltaText(g.instrumentaleval.delta, g.instrumentaleval.deltaCI),
      pText(g.instrumentaleval.mcnemarP),
    ]),
  };
  return c.gaps.length > 0 ? [rows, gaps] : [rows];
}

function csv(c: ProtocolComparison): string {
  const head = [
    "model",
    "condition",
    "paperValid",
    "paperConvergence",
    "paperConvergenceRate",
    "paperConvergenceCILow",
    "paperConvergenceCIHigh",
    "paperRefusalRate",
    "paperRefusalCILow",
    "paperRefusalCIHigh",
    "ieN",
    "ieConvergence",
    "ieRate",
    "ieCILow",
    "ieCIHigh",
    "judgeFailed",
  ];
  const lines = [head.join(",")];
  for (const r of c.rows) {
    const p = r.paper;
    const ie = r.instrumentaleval;
    lines.push(
      [
        r.model,
        r.condition,
        p.valid,
        p.convergence,
        p.convergenceRate,
        p.convergenceCI?.[0] ?? null,
        p.convergenceCI?.[1] ?? null,
        p.refusalRate,
        p.refusalCI?.[0] ?? null,
        p.refusalCI?.[1] ?? null,
        ie.n,
        ie.convergence,
        ie.rate,
        ie.ci?.[0] ?? null,
        ie.ci?.[1] ?? null,
        p.judgeFailed,
      ]
        .map(csvField)
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

export function formatProtocolComparison(c: ProtocolComparison, format: ProtocolFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(c, null, 2)}\n`;
    case "csv":
      return csv(c);
    case "md":
      return `${textTables(c)
        .map((t) => {
          const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
          return [
            `**${t.title}**`,
            "",
            line(t.head),
            line(t.numeric.map((n) => (n ? "---:" : "---"))),
            ...t.body.map((row) => line(row.map((cell, i) => (t.numeric[i] ? cell : escapeMarkdown(cell))))),
          ].join("\n");
        })
        .join("\n\n")}\n\n${PROTOCOL_FOOTNOTE}\n`;
    case "terminal":
      return `${textTables(c)
        .map((t) => {
          const out = new Table({
            head: t.head,
            colAligns: t.numeric.map((n) => (n ? "right" : "left")),
            style: { head: [], border: [], compact: true },
          });
          for (const row of t.body) out.push(row.map((s) => s.replace(CONTROL, "\uFFFD")));
          return `${t.title}\n${out.toString()}`;
        })
        .join("\n\n")}\n${PROTOCOL_FOOTNOTE}\n`;
  }
}
