import { describe, expect, it } from "vitest";
import { parseFormat, REPORT_FORMATS, VERB_FORMATS } from "../formats.js";
import {
  escapeMarkdown,
  escapeMarkdownCell,
  markdownTable,
  renderTextTables,
  stripControl,
  stripControlKeepLines,
  type TextTable,
  terminalTable,
} from "./text-table.js";

const table: TextTable = {
  title: "T_1",
  head: ["name", "n"],
  numeric: [false, true],
  body: [
    ["a|b\\c_d", "1"],
    ["\u001b[31mred", "22"],
  ],
};

describe("escaping", () => {
  it("replaces every control character for a terminal, keeping line breaks only where asked", () => {
    expect(stripControl("a\u001b[1mb\u0007\n\u009bc\u007f")).toBe("a\uFFFD[1mb\uFFFD\uFFFD\uFFFDc\uFFFD");
    expect(stripControlKeepLines("a\u001b\nb")).toBe("a\uFFFD\nb");
  });

  it("keeps a Markdown cell one cell, and a name free of markup", () => {
    expect(escapeMarkdownCell("a|b\\c\r\nd_e")).toBe("a\\|b\\\\c d_e");
    expect(escapeMarkdown("a|b*c_\nd")).toBe("a\\|b\\*c\\_ d");
  });
});

describe("terminal tables", () => {
  it("boxes with cli-table3 and strips control characters from every cell", () => {
    const text = terminalTable(table);
    expect(text.split("\n")[0]).toBe("T_1");
    expect(text).toContain("│ a|b\\c_d  │  1 │");
    expect(text).toContain("\uFFFD[31mred");
    expect(text).not.toContain("\u001b");
  });

  it("aligns plain columns, numbers right", () => {
    expect(terminalTable(table, { layout: "columns" })).toBe(
      "T_1\nname       n\n--------  --\na|b\\c_d    1\n\uFFFD[31mred  22",
    );
  });
});

describe("markdown tables", () => {
  it("escapes names fully, or only what breaks a cell", () => {
    expect(markdownTable(table)).toBe(
      "**T\\_1**\n\n| name | n |\n| --- | ---: |\n| a\\|b\\\\c\\_d | 1 |\n| \u001b\\[31mred | 22 |",
    );
    expect(markdownTable(table, { text: "cells", rule: "compact" })).toBe(
      "**T_1**\n\n| name | n |\n|:---|---:|\n| a\\|b\\\\c_d | 1 |\n| \u001b[31mred | 22 |",
    );
  });

  it("joins tables and a footnote", () => {
    expect(renderTextTables([table, table], "md", "note").endsWith("22 |\n\nnote\n")).toBe(true);
    expect(renderTextTables([table], "terminal", "x\u0007").endsWith("┘\nx\uFFFD\n")).toBe(true);
  });
});

describe("formats", () => {
  it("names each verb's formats and refuses others by name", () => {
    expect(VERB_FORMATS.table).toEqual(["terminal", "md", "csv", "json", "latex"]);
    expect(VERB_FORMATS.agreement).toBe(REPORT_FORMATS);
    expect(parseFormat(REPORT_FORMATS, "md")).toBe("md");
    expect(() => parseFormat(REPORT_FORMATS, "csv")).toThrow(
      '--format must be one of terminal, md, json, got "csv"',
    );
  });
});
