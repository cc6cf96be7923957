// Table 1 as GitHub-flavoured Markdown pipe tables (names escaped by the renderer).
import type { Table1 } from "../metrics/table1.js";
import { renderTextTables } from "./render/text-table.js";
import { FOOTNOTE, type HumanFormatOptions, humanTables } from "./table-common.js";

export { escapeMarkdown } from "./render/text-table.js";

export function formatMarkdown(table: Table1, options: HumanFormatOptions = {}): string {
  return renderTextTables(humanTables(table, options), "md", FOOTNOTE);
}
