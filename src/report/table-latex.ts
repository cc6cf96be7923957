// Table 1 as LaTeX tabulars (booktabs rules: the document needs \usepackage{booktabs}).
import type { Table1 } from "../metrics/table1.js";
import { type HumanFormatOptions, humanTables } from "./table-common.js";

const SPECIALS: Record<string, string> = {
  "\\": "\\textbackslash{}",
  "&": "\\&",
  "%": "\\%",
  $: "\\$",
  "#": "\\#",
  _: "\\_",
  "{": "\\{",
  "}": "\\}",
  "~": "\\textasciitilde{}",
  "^": "\\textasciicircum{}",
  "<": "\\textless{}",
  ">": "\\textgreater{}",
  "|": "\\textbar{}",
  // A cell starting with "[" right after \\ would be read as \\'s optional argument.
  "[": "{[}",
  "]": "{]}",
};

/** Escapes LaTeX specials in one pass (so the braces an escape adds are not escaped again). */
export function escapeLatex(s: string): string {
  return s
    .replace(/[\r\n]+/g, " ")
    .replace(/[\\&%$#_{}~^<>|[\]]/g, (c) => SPECIALS[c] ?? c)
    .replace(/[−Δ]/g, (c) => (c === "−" ? "--" : "$\\Delta$"));
}

export function formatLatex(table: Table1, options: HumanFormatOptions = {}): string {
  const parts = humanTables(table, options).map((t) => {
    const spec = t.numeric.map((n) => (n ? "r" : "l")).join("");
    const line = (cells: string[]) => `${cells.map(escapeLatex).join(" & ")} \\\\`;
    return [
      `% ${escapeLatex(t.title)}`,
      `\\begin{tabular}{${spec}}`,
      "\\toprule",
      line(t.head),
      "\\midrule",
      ...t.body.map(line),
      "\\bottomrule",
      "\\end{tabular}",
    ].join("\n");
  });
  return `${parts.join("\n\n")}\n`;
}
