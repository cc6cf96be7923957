import { describe, expect, it } from "vitest";
import { buildTable1, type Outcome } from "../metrics/table1.js";
import type { Label } from "../types.js";
import { escapeMarkdown, formatMarkdown } from "./table-md.js";

const outcome = (model: string, condition: string, id: string, label: Label): Outcome => ({
  model,
  condition,
  scenarioId: id,
  category: "cat",
  epoch: 0,
  label,
  judgeFailed: false,
});

/** Splits a pipe-table line into cells, honouring `\|` escapes. */
const cells = (line: string): string[] =>
  line
    .slice(2, -2)
    .split(/(?<!\\) \| /)
    .map((c) => c.trim());

describe("formatMarkdown", () => {
  const table = buildTable1([
    outcome("a|b*c_", "pro_ic", "s1", "convergence"),
    outcome("a|b*c_", "pro_ic", "s2", "safety_refusal"),
    outcome("a|b*c_", "anti_ic", "s1", "no_convergence"),
    outcome("a|b*c_", "anti_ic", "s2", "nonsensical"),
  ]);
  const md = formatMarkdown(table);
  const lines = md.split("\n");

  it("writes well-formed pipe tables with right-aligned numbers", () => {
    const header = lines.findIndex((l) => l.startsWith("| Model | Condition |"));
    expect(lines[header + 1]).toBe(
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    const width = cells(lines[header]!).length;
    expect(width).toBe(11);
    for (const l of lines.slice(header + 2, header + 4)) expect(cells(l)).toHaveLength(width);
  });

  it("escapes names so they cannot break the table or add emphasis", () => {
    expect(escapeMarkdown("a|b*c_\nd")).toBe("a\\|b\\*c\\_ d");
    const pro = lines.find((l) => l.includes("| pro\\_ic |"))!;
    // 1/2 convergence and 1/2 refusal: 50.00 [9.5, 90.5] (python3 Wilson: 9.4531…, 90.5468…)
    expect(cells(pro)).toEqual([
      "a\\|b\\*c\\_",
      "pro\\_ic",
      "2",
      "0",
      "2",
      "1",
      "1",
      "0",
      "50.00 [9.5, 90.5]",
      "50.00 [9.5, 90.5]",
      "0.00 [0.0, 65.8]",
    ]);
  });

  it("shows the gap with signs and the CI method", () => {
    // pro 1/2 vs anti 0/1 valid: +50.00, independent (s2 is nonsensical under anti_ic)
    const gap = lines.find((l) => l.includes("pro\\_ic − anti\\_ic"))!;
    expect(cells(gap)[2]).toMatch(/^\+50\.00 \[/);
    expect(cells(gap).at(-1)).toBe("independent");
  });
});
