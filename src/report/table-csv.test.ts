import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { buildTable1, type Outcome } from "../metrics/table1.js";
import type { Label } from "../types.js";
import { csvField, formatCsv } from "./table-csv.js";

const outcome = (model: string, condition: string, id: string, label: Label | undefined): Outcome => ({
  model,
  condition,
  scenarioId: id,
  category: 'cat, "quoted"',
  epoch: 0,
  label,
  judgeFailed: label === undefined,
});

const awkward = 'say "hi", then\r\nleave';
const table = buildTable1([
  outcome(awkward, "pro_ic", "s1", "convergence"),
  outcome(awkward, "pro_ic", "s2", "no_convergence"),
  outcome(awkward, "pro_ic", "s3", "no_convergence"),
  outcome(awkward, "pro_ic", "s4", undefined),
  outcome(awkward, "anti_ic", "s1", "nonsensical"),
]);

describe("csvField", () => {
  it("quotes only when RFC 4180 requires it", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField('a"b')).toBe('"a""b"');
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField("a\nb")).toBe('"a\nb"');
    expect(csvField("a\rb")).toBe('"a\rb"');
    expect(csvField(null)).toBe("");
    expect(csvField(0.1 + 0.2)).toBe("0.30000000000000004");
  });
});

describe("formatCsv", () => {
  it("round-trips through a strict CSV parser with full precision", () => {
    const text = formatCsv(table);
    expect(text.endsWith("\r\n")).toBe(true);
    const records: Record<string, string>[] = parse(text, { columns: true, record_delimiter: "\r\n" });
    expect(records).toHaveLength(2);
    const [pro, anti] = records;
    expect(pro!.model).toBe(awkward);
    expect(pro).toMatchObject({
      condition: "pro_ic",
      total: "3",
      valid: "3",
      convergence: "1",
      judgeFailed: "1",
    });
    expect(Number(pro!.convergenceRate)).toBe(table.rows[0]!.convergenceRate);
    expect(Number(pro!.convergenceCILow)).toBe(table.rows[0]!.convergenceCI![0]);
    expect(Number(pro!.convergenceCIHigh)).toBe(table.rows[0]!.convergenceCI![1]);
    // No valid item under anti_ic: undefined rates and intervals are empty fields.
    expect(anti).toMatchObject({ valid: "0", convergenceRate: "", convergenceCILow: "", refusalRate: "" });
    expect(anti!.nonsensicalRate).toBe("100");
  });

  it("writes the gaps and category sections", () => {
    const gaps: Record<string, string>[] = parse(formatCsv(table, "gaps"), { columns: true });
    expect(gaps).toEqual([
      expect.objectContaining({
        model: awkward,
        high: "pro_ic",
        low: "anti_ic",
        delta: "",
        mcnemarP: "",
        ciMethod: "",
      }),
    ]);
    const cats: Record<string, string>[] = parse(formatCsv(table, "categories"), { columns: true });
    expect(cats[0]).toMatchObject({ category: 'cat, "quoted"', total: "3", judgeFailed: "1" });
  });
});
