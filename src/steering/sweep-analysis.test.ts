import { describe, expect, it } from "vitest";
import type { Outcome } from "../metrics/table1.js";
import { wilson } from "../metrics/wilson.js";
import type { Label } from "../types.js";
import { formatSweep } from "./format.js";
import type { PerplexityResult } from "./perplexity.js";
import { analyzeSweep } from "./sweep-analysis.js";

const N = 40;

/** 40 items per condition: the first `conv` converge, then `nonsense` nonsensical, then `refusal`, rest no. */
function outcomes(
  condition: string,
  counts: { conv: number; nonsense?: number; refusal?: number },
): Outcome[] {
  const { conv, nonsense = 0, refusal = 0 } = counts;
  return Array.from({ length: N }, (_, i) => {
    const label: Label =
      i < conv
        ? "convergence"
        : i < conv + nonsense
          ? "nonsensical"
          : i < conv + nonsense + refusal
            ? "safety_refusal"
            : "no_convergence";
    return {
      model: "m",
      condition,
      scenarioId: `s-${i}`,
      category: "c",
      epoch: 0,
      label,
      judgeFailed: false,
    };
  });
}

const data: Outcome[] = [
  ...outcomes("act-8", { conv: 0, nonsense: 1 }),
  ...outcomes("act-4", { conv: 2 }),
  ...outcomes("act0", { conv: 10, refusal: 2 }),
  ...outcomes("act+4", { conv: 20, nonsense: 2 }),
  ...outcomes("act+8", { conv: 8, nonsense: 30 }),
  // Other conditions of the run are ignored by the curve.
  ...outcomes("pro_ic", { conv: 40 }),
];
const strengths = new Map([
  ["act-8", -8],
  ["act-4", -4],
  ["act0", 0],
  ["act+4", 4],
  ["act+8", 8],
]);
const ppl = (perplexity: number): PerplexityResult => ({
  perplexity,
  logProb: -1,
  tokens: 10,
  promptTruncated: false,
  passageTruncated: false,
});

describe("analyzeSweep", () => {
  const a = analyzeSweep(data, strengths, {
    judge: "j",
    perplexity: {
      reference: ppl(9),
      byCondition: { "act-8": ppl(30), "act-4": ppl(12), act0: ppl(10), "act+4": ppl(11), "act+8": ppl(50) },
    },
  });

  it("gives one point per strength, in order, with Table 1 rates and Wilson intervals", () => {
    expect(a.model).toBe("m");
    expect(a.points.map((p) => [p.condition, p.strength])).toEqual([
      ["act-8", -8],
      ["act-4", -4],
      ["act0", 0],
      ["act+4", 4],
      ["act+8", 8],
    ]);
    const plus4 = a.points[3]!;
    expect(plus4.total).toBe(40);
    expect(plus4.valid).toBe(38);
    expect(plus4.convergenceRate).toBeCloseTo((20 / 38) * 100, 10);
    const w = wilson(2, 40)!;
    expect(plus4.nonsensicalCI![0]).toBeCloseTo(w[0] * 100, 10);
    expect(a.points[2]!.refusalRate).toBe(5);
  });

  it("finds the breakdown point: the first strength whose nonsensical CI lies above strength 0's", () => {
    // 0/40 nonsensical at 0 → Wilson [0, 8.8]; +4: 2/40 → [1.4, 16.5] overlaps; +8: 30/40 → far above.
    expect(a.points.map((p) => p.broken)).toEqual([false, false, false, false, true]);
    expect(a.breakdown.positive?.strength).toBe(8);
    expect(a.breakdown.positive?.nonsensicalRate).toBe(75);
    expect(a.breakdown.negative).toBeNull();
    expect(a.usable).toMatchObject({ positive: 4, negative: -8 });
  });

  it("reports the strongest gap and the strongest usable gap", () => {
    expect(a.gap).toMatchObject({ high: "act+8", low: "act-8" });
    expect(a.gap!.delta).toBeCloseTo((8 / 10) * 100 - 0, 10);
    expect(a.gap!.pairs).toBe(9);
    expect(a.usable.gap).toMatchObject({ high: "act+4", low: "act-8" });
    expect(a.usable.gap!.delta).toBeCloseTo((20 / 38) * 100, 10);
    expect(a.points[3]!.vsZero!.delta).toBeCloseTo((20 / 38 - 10 / 40) * 100, 10);
    expect(a.points[2]!.vsZero).toBeUndefined();
  });

  it("puts the perplexity and its ratio to strength 0 next to each point", () => {
    expect(a.points.map((p) => p.perplexityRatio)).toEqual([3, 1.2, 1, 1.1, 5]);
    expect(a.referencePerplexity).toBe(9);
  });

  it("formats the curve for a terminal, Markdown and JSON", () => {
    const t = formatSweep([a], "terminal");
    expect(t).toContain("Steerability curve: m (judge j)");
    expect(t).toMatch(/\+8\s*│ act\+8/);
    expect(t).toContain("75.00 [59.8, 85.8] !");
    expect(t).toContain("50.00 (×5.00)");
    expect(t).toContain("breaks at +8");
    expect(t).toContain("Usable range: -8 … +4");
    const md = formatSweep([a], "md");
    expect(md).toContain("| -8 | act-8 | 40 |");
    const json = JSON.parse(formatSweep([a], "json")) as { breakdown: { positive: { strength: number } } }[];
    expect(json[0]!.breakdown.positive.strength).toBe(8);
  });

  it("compares against 0 when only one side was swept, and handles a sweep without 0", () => {
    const onlyPositive = analyzeSweep(
      data.filter((o) => o.condition === "act0" || o.condition === "act+4"),
      new Map([
        ["act0", 0],
        ["act+4", 4],
      ]),
      { judge: "j" },
    );
    expect(onlyPositive.gap).toMatchObject({ high: "act+4", low: "act0" });
    expect(onlyPositive.points[1]!.perplexity).toBeUndefined();
    const noZero = analyzeSweep(
      data,
      new Map([
        ["act-4", -4],
        ["act+8", 8],
      ]),
      { judge: "j" },
    );
    expect(noZero.gap).toMatchObject({ high: "act+8", low: "act-4" });
    expect(noZero.breakdown).toEqual({ positive: null, negative: null });
  });
});
