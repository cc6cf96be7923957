import { describe, expect, it } from "vitest";
import { buildTable1, type Outcome } from "../metrics/table1.js";
import type { Label } from "../types.js";
import { formatJson } from "./table-json.js";

const outcome = (condition: string, id: string, label: Label | undefined, epoch = 0): Outcome => ({
  model: "m",
  condition,
  scenarioId: id,
  category: "cat",
  epoch,
  label,
  judgeFailed: label === undefined,
});

// Keys other tools rely on (the JSON contract); more may follow but these must be there.
const ROW_KEYS = [
  "model",
  "condition",
  "total",
  "valid",
  "nonsensical",
  "convergence",
  "noConvergence",
  "safetyRefusal",
  "judgeFailed",
  "convergenceRate",
  "refusalRate",
  "convergenceCI",
  "refusalCI",
];
const GAP_KEYS = ["model", "high", "low", "delta", "deltaCI", "mcnemarP"];

describe("formatJson", () => {
  const table = buildTable1([
    outcome("pro_ic", "s1", "convergence"),
    outcome("pro_ic", "s2", "convergence"),
    outcome("pro_ic", "s3", "safety_refusal"),
    outcome("pro_ic", "s4", undefined),
    outcome("anti_ic", "s1", "no_convergence"),
    outcome("anti_ic", "s2", "convergence"),
    outcome("anti_ic", "s3", "no_convergence"),
    outcome("anti_ic", "s4", "no_convergence"),
  ]);
  const parsed = JSON.parse(formatJson(table));

  it("is one object with rows, gaps and categories", () => {
    expect(Object.keys(parsed)).toEqual(["rows", "gaps", "categories"]);
    for (const row of parsed.rows) for (const key of ROW_KEYS) expect(row).toHaveProperty(key);
    for (const gap of parsed.gaps) for (const key of GAP_KEYS) expect(gap).toHaveProperty(key);
  });

  it("keeps full precision and percent units", () => {
    const pro = parsed.rows[0];
    expect(pro).toMatchObject({ total: 3, valid: 3, convergence: 2, safetyRefusal: 1, judgeFailed: 1 });
    expect(pro.convergenceRate).toBe((2 / 3) * 100);
    expect(pro.refusalRate).toBe((1 / 3) * 100);
    expect(pro.convergenceCI).toEqual(table.rows[0]!.convergenceCI);
    // python3 Wilson for 2/3, in percent: 20.7659…, 93.8508…
    expect(pro.convergenceCI[0]).toBeCloseTo(20.765960080204763, 10);
    expect(pro.convergenceCI[1]).toBeCloseTo(93.85080552796038, 10);
    const gap = parsed.gaps[0];
    expect(gap).toMatchObject({ model: "m", high: "pro_ic", low: "anti_ic", pairs: 3 });
    expect(gap.delta).toBe((2 / 3) * 100 - 25);
    expect(gap.deltaCI).toEqual(table.gaps[0]!.deltaCI);
    expect(gap.ciMethod).toBe("newcombe-independent");
  });

  it("writes null, not a missing key, where nothing is defined", () => {
    const empty = JSON.parse(formatJson(buildTable1([outcome("pro_ic", "s1", undefined)])));
    expect(empty.rows[0]).toMatchObject({
      convergenceRate: null,
      refusalRate: null,
      convergenceCI: null,
      refusalCI: null,
    });
    expect(empty.gaps).toEqual([]);
  });
});
