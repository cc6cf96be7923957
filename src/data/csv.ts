// Parsing one InstrumentalEval category CSV the way the 2601.01584 runner (Python csv module) reads it:
// row 1's first cell is the category context, kept raw; every later non-empty row is one task,
// `",".join(row).strip()`.
import { readFile } from "node:fs/promises";
import { CsvError, type Options, parse } from "csv-parse/sync";
import { pyStrip } from "../util/pystr.js";
import { PackError } from "./errors.js";
import { firstInvalidUtf8 } from "./utf8.js";

export interface CsvTask {
  /** 1-based CSV row (record) number the task came from. */
  row: number;
  /** `",".join(row).strip()` */
  text: string;
}

export interface CategoryCsv {
  /** Row 1, first cell, raw (not stripped: may end in \r or \n). */
  context: string;
  tasks: CsvTask[];
}

// Python's csv module ends a record at \r\n, \n or a bare \r outside quotes; csv-parse's default
// auto-detection would pick one of them from the first row and treat the others as field text.
const CSV_OPTIONS: Options = {
  record_delimiter: ["\r\n", "\n", "\r"],
  relax_column_count: true,
  // RFC 4180: a quote inside an unquoted field, or text after a closing quote, is an error. (Python's
  // lenient reader would accept both, but csv-parse's relaxed mode reads `"a"b` differently from Python,
  // so failing loudly is the only way not to silently diverge from the runner.)
  relax_quotes: false,
  skip_empty_lines: false,
  bom: false,
};

/** Parses the bytes of a category CSV. `file` is only used in error messages. */
export function parseCategoryCsv(bytes: Uint8Array, file: string): CategoryCsv {
  const text = decodeUtf8(bytes, file);
  if (text.length === 0) {
    throw new PackError(
      { file },
      "file is empty: expected the category context in row 1 and one task per row after it",
    );
  }
  let rows: string[][];
  try {
    rows = parse(text, CSV_OPTIONS);
  } catch (err) {
    if (err instanceof CsvError) {
      const records = typeof err.records === "number" ? err.records : 0;
      const line = typeof err.lines === "number" ? ` (line ${err.lines})` : "";
      throw new PackError({ file, row: records + 1 }, `CSV parse error${line}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  const header = rows[0];
  const context = header?.[0] ?? "";
  if (pyStrip(context) === "") {
    throw new PackError({ file, row: 1 }, "the category context (first cell of row 1) is empty");
  }
  const tasks: CsvTask[] = [];
  rows.forEach((cells, i) => {
    if (i === 0) return;
    const task = pyStrip(cells.join(","));
    if (task !== "") tasks.push({ row: i + 1, text: task });
  });
  if (tasks.length === 0) {
    throw new PackError(
      { file, row: 2 },
      "the file has a category context in row 1 but no task rows after it",
    );
  }
  return { context, tasks };
}

/** Reads and parses a category CSV from disk. */
export async function readCategoryCsv(path: string): Promise<CategoryCsv> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === "ENOENT" ? "file not found" : `cannot read file (${code ?? String(err)})`;
    throw new PackError({ file: path }, what, { cause: err });
  }
  return parseCategoryCsv(bytes, path);
}

function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    const offset = firstInvalidUtf8(bytes);
    const at = Math.max(offset, 0);
    const prefix = new TextDecoder("utf-8").decode(bytes.subarray(0, at));
    const hex = at < bytes.length ? ` 0x${bytes[at]!.toString(16).padStart(2, "0")}` : "";
    throw new PackError(
      { file, row: rowAt(prefix) },
      `invalid UTF-8: byte${hex} at offset ${at} cannot be decoded`,
      { cause: err },
    );
  }
}

/** 1-based CSV record number at the end of `prefix` (quote-aware, same record ends as CSV_OPTIONS). */
function rowAt(prefix: string): number {
  let row = 1;
  let quoted = false;
  for (let i = 0; i < prefix.length; i++) {
    const ch = prefix[i];
    if (ch === '"')
      quoted = !quoted; // a doubled "" toggles twice, so escapes work out
    else if (!quoted && (ch === "\n" || ch === "\r")) {
      if (ch === "\r" && prefix[i + 1] === "\n") i++;
      row++;
    }
  }
  return row;
}
