// Table 1 as GitHub-flavoured Markdown pipe tables.
import type { Table1 } from "../metrics/table1.js";
import { FOOTNOTE, type HumanFormatOptions, humanTables } from "./table-common.js";

/** Escapes Markdown punctuation and the pipe, and flattens line breaks, so a name stays one plain cell. */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\r\n]+/g, " ").replace(/[\\`*_[\]<>|#~]/g, (c) => `\\${c}`);
}

export function formatMarkdown(table: Table1, options: HumanFormatOptions = {}): string {
  const parts = humanTables(table, options).map((t) => {
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    const lines = [
      `**${t.title}**`,
      "",
      line(t.head),
      line(t.numeric.map((n) => (n ? "---:" : "---"))),
      // Only text columns carry outside names; the numeric cells are ours and stay readable.
      ...t.body.map((row) => line(row.map((cell, i) => (t.numeric[i] ? cell : escapeMarkdown(cell))))),
    ];
    return lines.join("\n");
  });
  return `${parts.join("\n\n")}\n\n${FOOTNOTE}\n`;
}
