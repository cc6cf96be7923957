import { describe, expect, it } from "vitest";
import type { StoredOutcome } from "../store/store.js";
import type { Label } from "../types.js";
import { compareOutcomes } from "./compare.js";
import { formatComparison, formatSensitivity, parseReportFormat, renderTable } from "./format.js";
import { promptSensitivity } from "./sensitivity.js";

const L: Record<string, Label> = { c: "convergence", n: "no_convergence", r: "safety_refusal" };
const outcomes = (pro: string, anti: string): StoredOutcome[] =>
  [...pro, ...anti].map((v, i) => ({
    itemId: i + 1,
    model: "m",
    condition: i < pro.length ? "pro_ic" : "anti_ic",
    scenarioId: `s${i % pro.length}`,
    category: "cat",
    epoch: 0,
    label: L[v],
    judgeFailed: false,
  }));

describe("renderTable", () => {
  const table = {
    title: "T",
    headers: ["name", "n"],
    rows: [
      ["a|b", "1"],
      ["long name", "22"],
    ],
  };
  it("aligns columns for the terminal", () => {
    expect(renderTable(table, "terminal")).toBe(
      "T\nname        n\n---------  --\na|b         1\nlong name  22\n",
    );
  });
  it("escapes pipes in markdown", () => {
    expect(renderTable(table, "md")).toBe(
      "**T**\n\n| name | n |\n|:---|---:|\n| a\\|b | 1 |\n| long name | 22 |\n",
    );
  });
});

describe("report formats", () => {
  const ref = outcomes("ccnn", "nnrr");
  const v1 = compareOutcomes(ref, outcomes("cnnn", "nnrr"), { reference: "ref", candidate: "j/a" });
  const v2 = compareOutcomes(ref, outcomes("cccn", "cnrr"), { reference: "ref", candidate: "j/b" });

  it("shows Table 1 side by side with signed differences", () => {
    const text = formatComparison(v1, "terminal");
    expect(text).toContain("Judge check: j/a vs reference ref");
    expect(text).toMatch(/m\s+pro_ic\s+50\.0\s+25\.0\s+-25\.0/);
    expect(text).toMatch(/m\s+pro_ic − anti_ic\s+\+50\.0 \[.*\]\s+\S+\s+\+25\.0 \[.*\]\s+\S+\s+-25\.0/);
    expect(text).toContain("Agreement (accuracy): 87.5%");
  });

  it("shows each variant and the range per cell", () => {
    const text = formatSensitivity(promptSensitivity([v1, v2]), "md");
    expect(text).toContain("| model | condition | reference | j/a | j/b | range |");
    expect(text).toContain("| m | pro_ic | 50.0 | 25.0 | 75.0 | 50.0 |");
    expect(text).toContain("| m | anti_ic | 0.0 | 0.0 | 25.0 | 25.0 |");
    expect(text).toContain("| m | pro_ic − anti_ic | +50.0 | +25.0 | +50.0 | 25.0 |");
    expect(JSON.parse(formatSensitivity(promptSensitivity([v1, v2]), "json")).maxConvergenceRange).toBe(50);
  });

  it("rejects an unknown format", () => {
    expect(() => parseReportFormat("html")).toThrow(/terminal, md, json/);
  });
});
