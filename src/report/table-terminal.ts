// Table 1 for a terminal: boxed tables, no colours (output may be piped or diffed). Names come from
// configs and servers: the renderer strips their control characters.
import type { Table1 } from "../metrics/table1.js";
import { renderTextTables } from "./render/text-table.js";
import { FOOTNOTE, type HumanFormatOptions, humanTables } from "./table-common.js";

export function formatTerminal(table: Table1, options: HumanFormatOptions = {}): string {
  return renderTextTables(humanTables(table, options), "terminal", FOOTNOTE);
}
