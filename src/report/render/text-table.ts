// The one text-table renderer: every human table (Table 1, reliability reports, steering) is drawn
// here, for a terminal (cli-table3 boxes, or plain aligned columns) or as a Markdown pipe table. The
// escaping of outside text — names from configs, stores and servers, which may hold anything a model
// or a user wrote — lives here too, so no format can forget it:
// - terminal: control characters (C0, DEL, C1; so ANSI escapes too) become U+FFFD, so text can
//   neither move the cursor, recolour the screen nor break a box;
// - Markdown: line breaks are flattened and `\` and `|` escaped, so a cell stays one cell; text
//   shown as a plain name also has Markdown punctuation escaped, so it adds no emphasis or link.
import Table from "cli-table3";

/** A table before any markup or escaping. */
export interface TextTable {
  title: string;
  head: string[];
  /** Which columns hold numbers (right-aligned); the others hold text. */
  numeric: boolean[];
  body: string[][];
}

export type TextTableFormat = "terminal" | "md";

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Replaces every control character (line breaks included) with U+FFFD: safe for one terminal cell. */
export function stripControl(s: string): string {
  return s.replace(CONTROL, "\uFFFD");
}

/** stripControl for running text: line breaks stay, everything else that controls the terminal goes. */
export function stripControlKeepLines(s: string): string {
  return s.split("\n").map(stripControl).join("\n");
}

/** The least a Markdown table cell needs: one line, and no `\` or `|` that could end or merge cells. */
export function escapeMarkdownCell(s: string): string {
  return s.replace(/[\r\n]+/g, " ").replace(/[\\|]/g, (c) => `\\${c}`);
}

/** Escapes Markdown punctuation and the pipe, and flattens line breaks, so a name stays one plain cell. */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\r\n]+/g, " ").replace(/[\\`*_[\]<>|#~]/g, (c) => `\\${c}`);
}

export interface TerminalStyle {
  /** "boxed": cli-table3 borders (Table 1, steering); "columns": space-aligned columns under a rule. */
  layout: "boxed" | "columns";
}

export interface MarkdownStyle {
  /** How text cells and the title are escaped: "names" (Markdown punctuation too) or "cells" (only `\`, `|`, line breaks). */
  text: "names" | "cells";
  /** Delimiter row: "| --- | ---: |" (spaced) or "|:---|---:|" (compact, left alignment explicit). */
  rule: "spaced" | "compact";
}

export const BOXED: TerminalStyle = { layout: "boxed" };
export const NAMES_MD: MarkdownStyle = { text: "names", rule: "spaced" };

/** The title line and the table for a terminal, without a final newline. */
export function terminalTable(t: TextTable, style: TerminalStyle = BOXED): string {
  const head = t.head.map(stripControl);
  const body = t.body.map((row) => row.map(stripControl));
  const title = stripControl(t.title);
  if (style.layout === "boxed") {
    const out = new Table({
      head,
      colAligns: t.numeric.map((n) => (n ? "right" : "left")),
      style: { head: [], border: [], compact: true },
    });
    for (const row of body) out.push(row);
    return `${title}\n${out.toString()}`;
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (t.numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return `${title}\n${[line(head), rule, ...body.map(line)].join("\n")}`;
}

/**
 * The bold title, a blank line and the pipe table, without a final newline. Text cells and the
 * title get the style's escaping; headers and numeric cells (ours) the cell minimum.
 */
export function markdownTable(t: TextTable, style: MarkdownStyle = NAMES_MD): string {
  const text = style.text === "names" ? escapeMarkdown : escapeMarkdownCell;
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const rule =
    style.rule === "spaced"
      ? line(t.numeric.map((n) => (n ? "---:" : "---")))
      : `|${t.numeric.map((n) => (n ? "---:" : ":---")).join("|")}|`;
  return [
    `**${text(t.title)}**`,
    "",
    line(t.head.map(escapeMarkdownCell)),
    rule,
    ...t.body.map((row) =>
      line(row.map((cell, i) => (t.numeric[i] ? escapeMarkdownCell(cell) : text(cell)))),
    ),
  ].join("\n");
}

/** One table in the given format, without a final newline. */
export function renderTextTable(
  t: TextTable,
  format: TextTableFormat,
  style: { terminal?: TerminalStyle; md?: MarkdownStyle } = {},
): string {
  return format === "md" ? markdownTable(t, style.md) : terminalTable(t, style.terminal);
}

/**
 * Tables one after another with an optional footnote, ending in a newline: boxed for a terminal,
 * Markdown with names escaped (the layout of Table 1 and of the steering verbs).
 */
export function renderTextTables(
  tables: readonly TextTable[],
  format: TextTableFormat,
  footnote?: string,
): string {
  const parts = tables.map((t) => renderTextTable(t, format));
  const sep = format === "md" ? "\n\n" : "\n";
  const note = footnote ? `${sep}${format === "md" ? footnote : stripControlKeepLines(footnote)}` : "";
  return `${parts.join("\n\n")}${note}\n`;
}
