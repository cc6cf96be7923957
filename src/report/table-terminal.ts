// Table 1 for a terminal: boxed tables via cli-table3, no colours (output may be piped or diffed).
import Table from "cli-table3";
import type { Table1 } from "../metrics/table1.js";
import { FOOTNOTE, type HumanFormatOptions, humanTables } from "./table-common.js";

// Names come from configs and servers: strip control characters so they cannot move the cursor,
// change colours or break the box.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const clean = (s: string): string => s.replace(CONTROL, "\uFFFD");

export function formatTerminal(table: Table1, options: HumanFormatOptions = {}): string {
  const parts = humanTables(table, options).map((t) => {
    const out = new Table({
      head: t.head,
      colAligns: t.numeric.map((n) => (n ? "right" : "left")),
      style: { head: [], border: [], compact: true },
    });
    for (const row of t.body) out.push(row.map(clean));
    return `${t.title}\n${out.toString()}`;
  });
  return `${parts.join("\n\n")}\n${FOOTNOTE}\n`;
}
