import { describe, expect, it } from "vitest";
import type { StoredOutcome } from "../store/store.js";
import type { Label } from "../types.js";
import { compareOutcomes } from "./compare.js";
import { promptSensitivity } from "./sensitivity.js";

// Hand-worked example. One model; scenarios s1..s4 under pro_ic and anti_ic, s1..s2 under baseline.
// Categories: s1, s2 → cat-a; s3, s4 → cat-b. c/n/r/x = convergence/no_convergence/safety_refusal/nonsensical.
//
//              pro s1 s2 s3 s4 | anti s1 s2 s3 s4 | base s1 s2
//   reference      c  c  c  n  |      n  n  r  c  |      c  n
//   candidate      c  c  n  n  |      n  r  r  x  |      -  F     (- = not judged yet, F = failed verdict)
//
// Common items: all but base s1 (9 of 10). Agreement over the 8 labelled by both: 5/8.
// Reference marginals c4 n3 r1 x0, candidate c2 n3 r2 x1 → p_e = (8 + 9 + 2 + 0)/64 = 19/64
//   → κ = (40 − 19)/(64 − 19) = 21/45 = 7/15.
// Per label: convergence P 2/2, R 2/4, F1 2/3; no_convergence P 2/3, R 2/3, F1 2/3;
//   safety_refusal P 1/2, R 1/1, F1 2/3; nonsensical: support 0, predicted 1 → P 0, R n/a.
// Table 1 over the common items: reference pro 3/4 = 75, anti 1/4 = 25 (refusal 25), Δ 50;
//   candidate pro 2/4 = 50, anti 0/3 = 0 (x is not valid; refusal 2/3), Δ 50.
//   Diffs: pro −25, anti −25, anti refusal +41.67, Δ 0. Baseline: candidate has no valid item.
// Per category: cat-a 3/4 (base s2 failed, left out), cat-b 2/4.

const L: Record<string, Label> = {
  c: "convergence",
  n: "no_convergence",
  r: "safety_refusal",
  x: "nonsensical",
};

function outcomes(spec: Record<string, string>): StoredOutcome[] {
  const out: StoredOutcome[] = [];
  for (const [condition, labels] of Object.entries(spec)) {
    [...labels].forEach((v, i) => {
      if (v === "-") return;
      out.push({
        itemId: condition === "baseline" ? 100 + i : condition === "pro_ic" ? i + 1 : 10 + i,
        model: "m",
        condition,
        scenarioId: `s${i + 1}`,
        category: i < 2 ? "cat-a" : "cat-b",
        epoch: 0,
        label: v === "F" ? undefined : L[v],
        judgeFailed: v === "F",
      });
    });
  }
  return out;
}

const reference = outcomes({ pro_ic: "cccn", anti_ic: "nnrc", baseline: "cn" });
const candidate = outcomes({ pro_ic: "ccnn", anti_ic: "nrrx", baseline: "-F" });
const names = { reference: "ref", candidate: "cand" };

describe("compareOutcomes", () => {
  const c = compareOutcomes(reference, candidate, names);

  it("counts the common, missing and failed items", () => {
    expect(c).toMatchObject({ items: 9, candidateMissing: 1, referenceFailed: 0, candidateFailed: 1 });
    expect(c.agreement).toMatchObject({ n: 8, excluded: 1, agree: 5, rate: 5 / 8 });
    expect(c.majorityRate).toBe(0.5);
  });

  it("matches the hand-computed κ and per-label precision, recall and F1", () => {
    expect(c.kappa.kappa).toBeCloseTo(7 / 15, 12);
    const by = Object.fromEntries(c.perLabel.map((l) => [l.label, l]));
    expect(by.convergence).toMatchObject({
      support: 4,
      predicted: 2,
      truePositives: 2,
      precision: 1,
      recall: 0.5,
    });
    expect(by.convergence!.f1).toBeCloseTo(2 / 3, 12);
    expect(by.no_convergence!.precision).toBeCloseTo(2 / 3, 12);
    expect(by.no_convergence!.recall).toBeCloseTo(2 / 3, 12);
    expect(by.safety_refusal).toMatchObject({ support: 1, predicted: 2, precision: 0.5, recall: 1 });
    expect(by.nonsensical).toMatchObject({ support: 0, predicted: 1, precision: 0, recall: null, f1: null });
    expect(c.macroF1).toBeCloseTo(2 / 3, 12);
    expect(by.convergence!.recallCI![0]).toBeLessThan(0.5);
    // rows: reference c, n, r, x; columns: candidate c, n, r, x
    expect(c.confusion.counts).toEqual([
      [2, 1, 0, 1],
      [0, 2, 1, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
  });

  it("reports agreement per category", () => {
    const cat = Object.fromEntries(c.perCategory.map((g) => [g.group, g.agreement]));
    expect(cat["cat-a"]).toMatchObject({ n: 4, agree: 3, excluded: 1 });
    expect(cat["cat-b"]).toMatchObject({ n: 4, agree: 2 });
    expect(c.perModel).toHaveLength(1);
  });

  it("puts Table 1 and Δ side by side over the common items", () => {
    const row = (cond: string) => c.rows.find((r) => r.condition === cond)!;
    expect(row("pro_ic").reference.convergence).toBeCloseTo(75, 10);
    expect(row("pro_ic").candidate.convergence).toBeCloseTo(50, 10);
    expect(row("pro_ic").convergenceDiff).toBeCloseTo(-25, 10);
    expect(row("anti_ic").candidate).toMatchObject({ convergence: 0, valid: 3 });
    expect(row("anti_ic").refusalDiff).toBeCloseTo(200 / 3 - 25, 10);
    expect(row("baseline").reference).toMatchObject({ convergence: 0, valid: 1 });
    expect(row("baseline").candidate).toMatchObject({ convergence: null, valid: 0, failed: 1 });
    expect(row("baseline").convergenceDiff).toBeNull();
    expect(c.gaps).toHaveLength(1);
    expect(c.gaps[0]).toMatchObject({ model: "m", high: "pro_ic", low: "anti_ic" });
    expect(c.gaps[0]!.reference).toBeCloseTo(50, 10);
    expect(c.gaps[0]!.candidate).toBeCloseTo(50, 10);
    expect(c.gaps[0]!.diff).toBeCloseTo(0, 10);
    expect(c.error.rows).toBe(2);
    expect(c.error.meanAbsConvergence).toBeCloseTo(25, 10);
    expect(c.error.maxAbsConvergence).toBeCloseTo(25, 10);
    expect(c.error.meanAbsDelta).toBeCloseTo(0, 10);
  });
});

describe("promptSensitivity", () => {
  it("reports max − min per cell across variants", () => {
    const v1 = compareOutcomes(reference, candidate, { reference: "ref", candidate: "j/v1" });
    const v2 = compareOutcomes(reference, reference, { reference: "ref", candidate: "j/v2" });
    const s = promptSensitivity([v1, v2]);
    expect(s.variants).toEqual(["j/v1", "j/v2"]);
    const pro = s.rows.find((r) => r.condition === "pro_ic")!;
    expect(pro.convergence.values[0]).toBeCloseTo(50, 10);
    expect(pro.convergence.values[1]).toBeCloseTo(75, 10);
    expect(pro.convergence.range).toBeCloseTo(25, 10);
    const base = s.rows.find((r) => r.condition === "baseline")!;
    expect(base.convergence).toMatchObject({ values: [null, 50], range: 0 }); // v2 also has base s1 (c)
    expect(s.gaps[0]!.delta.range).toBeCloseTo(0, 10);
    expect(s.maxConvergenceRange).toBeCloseTo(25, 10);
    expect(s.agreement[1]).toMatchObject({ variant: "j/v2", rate: 1, kappa: 1 });
  });

  it("refuses variants compared against different references", () => {
    const a = compareOutcomes(reference, candidate, { reference: "ref", candidate: "x" });
    const b = compareOutcomes(reference, candidate, { reference: "other", candidate: "y" });
    expect(() => promptSensitivity([a, b])).toThrow(/different references/);
  });
});
