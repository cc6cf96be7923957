// One entry point for every Table 1 output format.
import type { Table1 } from "../metrics/table1.js";
import { TABLE_FORMATS, type TableFormat } from "./formats.js";
import type { HumanFormatOptions } from "./table-common.js";
import { type CsvSection, formatCsv } from "./table-csv.js";
import { formatJson } from "./table-json.js";
import { formatLatex } from "./table-latex.js";
import { formatMarkdown } from "./table-md.js";
import { formatTerminal } from "./table-terminal.js";

export { TABLE_FORMATS, type TableFormat };

export interface FormatTableOptions extends HumanFormatOptions {
  /** Which table the CSV holds (CSV has one header per file). Default "rows". */
  csvSection?: CsvSection;
}

export function formatTable(table: Table1, format: TableFormat, options: FormatTableOptions = {}): string {
  switch (format) {
    case "terminal":
      return formatTerminal(table, options);
    case "md":
      return formatMarkdown(table, options);
    case "csv":
      return formatCsv(table, options.csvSection ?? "rows");
    case "json":
      return formatJson(table);
    case "latex":
      return formatLatex(table, options);
    default:
      throw new Error(
        `unknown table format ${JSON.stringify(format)}; use one of ${TABLE_FORMATS.join(", ")}`,
      );
  }
}
