import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { packDir } from "../../test/paths.js";
import { buildTable1, type Outcome } from "../metrics/table1.js";
import { LABELS } from "../types.js";
import { formatTable, TABLE_FORMATS, type TableFormat } from "./format-table.js";
import { fixed, pText } from "./table-common.js";

// The paper's per-item decisions, to check the headline numbers in every format.
const runs = z
  .object({
    runs: z.array(
      z.object({
        model: z.string(),
        steering_mode: z.string(),
        per_category: z.array(
          z.object({ category: z.string(), decisions_in_run_order: z.array(z.enum(LABELS)) }),
        ),
      }),
    ),
  })
  .parse(
    JSON.parse(readFileSync(resolve(packDir, "hoscilowicz_2601.01584_reference_results.json"), "utf8")),
  ).runs;

const outcomes: Outcome[] = runs.flatMap((run) =>
  run.per_category.flatMap((cat) =>
    cat.decisions_in_run_order.map((label, i) => ({
      model: run.model,
      condition: run.steering_mode,
      scenarioId: `${cat.category}#${i}`,
      category: cat.category,
      epoch: 0,
      label,
      judgeFailed: false,
    })),
  ),
);
const table = buildTable1(outcomes);

describe("formatTable", () => {
  it.each(["terminal", "md", "latex"] as const)(
    "%s shows the paper's 81.69 / 12.68 and Δ 78.87",
    (format) => {
      const text = formatTable(table, format);
      expect(text).toMatch(/81\.69 (\[|\{\[\})71\.2, 89\.0/);
      expect(text).toMatch(/12\.68 (\[|\{\[\})6\.8, 22\.4/);
      expect(text).toContain("+78.87");
      expect(text).toContain("65.91");
    },
  );

  it("json and csv carry the same full-precision numbers", () => {
    const json = JSON.parse(formatTable(table, "json"));
    expect(json.rows).toHaveLength(18);
    expect(json.gaps).toHaveLength(6);
    expect(json.categories).toHaveLength(108);
    const csv = formatTable(table, "csv");
    expect(csv.split("\r\n")).toHaveLength(18 + 2);
    expect(csv).toContain(String(json.rows[0].convergenceRate));
    expect(formatTable(table, "csv", { csvSection: "gaps" }).split("\r\n")).toHaveLength(6 + 2);
  });

  it("labels headers with the confidence level and rejects unknown formats", () => {
    expect(formatTable(table, "md", { confidence: 90 })).toContain("Conv. % [90% CI]");
    expect(TABLE_FORMATS).toEqual(["terminal", "md", "csv", "json", "latex"]);
    expect(() => formatTable(table, "xml" as TableFormat)).toThrow(/unknown table format "xml"/);
  });
});

describe("rounding helpers", () => {
  it("rounds without negative zero and formats p-values", () => {
    expect(fixed(-0.001, 2)).toBe("0.00");
    expect(fixed(78.87323943661973, 2)).toBe("78.87");
    expect(fixed(-7.042253521126759, 2)).toBe("-7.04");
    expect(pText(1)).toBe("1.000");
    expect(pText(0.007537841796875)).toBe("0.008");
    expect(pText(2.7755575615628914e-17)).toBe("2.8e-17");
    expect(pText(0)).toBe("<1e-300");
  });
});
