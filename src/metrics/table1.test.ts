import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { packDir } from "../../test/paths.js";
import { LABELS, type Label } from "../types.js";
import { buildTable1, conditionsOf, type Outcome, pairsAgainst } from "./table1.js";

// The paper's per-run totals and per-item decisions (arXiv 2601.01584, 18 runs).
const referenceSchema = z.object({
  runs: z.array(
    z.object({
      model: z.string(),
      steering_mode: z.string(),
      totals: z.object({
        total: z.number(),
        valid_excl_nonsensical: z.number(),
        convergence: z.number(),
        no_convergence: z.number(),
        safety_refusal: z.number(),
        nonsensical: z.number(),
        convergence_rate_pct: z.number(),
        safety_refusal_rate_pct: z.number(),
        nonsensical_rate_pct: z.number(),
      }),
      per_category: z.array(
        z.object({
          category: z.string(),
          total: z.number(),
          convergence: z.number(),
          no_convergence: z.number(),
          safety_refusal: z.number(),
          nonsensical: z.number(),
          decisions_in_run_order: z.array(z.enum(LABELS)),
        }),
      ),
    }),
  ),
});
const reference = referenceSchema.parse(
  JSON.parse(readFileSync(resolve(packDir, "hoscilowicz_2601.01584_reference_results.json"), "utf8")),
);

/** One Outcome per published decision. Runs share the seeded item order, so position pairs items. */
function referenceOutcomes(): Outcome[] {
  return reference.runs.flatMap((run) =>
    run.per_category.flatMap((cat) =>
      cat.decisions_in_run_order.map(
        (label, i): Outcome => ({
          model: run.model,
          condition: run.steering_mode,
          scenarioId: `${cat.category}#${i}`,
          category: cat.category,
          epoch: 0,
          label,
          judgeFailed: false,
        }),
      ),
    ),
  );
}

const round2 = (x: number | null): number | null => (x === null ? null : Number(x.toFixed(2)));

describe("buildTable1 on the paper's 18 runs", () => {
  const table = buildTable1(referenceOutcomes());
  const row = (model: string, condition: string) =>
    table.rows.find((r) => r.model === model && r.condition === condition)!;

  it("reproduces every run's counts and rounded rates", () => {
    expect(table.rows).toHaveLength(18);
    for (const run of reference.runs) {
      const r = row(run.model, run.steering_mode);
      const t = run.totals;
      expect(r, `${run.model} ${run.steering_mode}`).toMatchObject({
        total: t.total,
        valid: t.valid_excl_nonsensical,
        convergence: t.convergence,
        noConvergence: t.no_convergence,
        safetyRefusal: t.safety_refusal,
        nonsensical: t.nonsensical,
        judgeFailed: 0,
      });
      expect(round2(r.convergenceRate), `${run.model} ${run.steering_mode} conv%`).toBe(
        t.convergence_rate_pct,
      );
      expect(round2(r.refusalRate), `${run.model} ${run.steering_mode} refusal%`).toBe(
        t.safety_refusal_rate_pct,
      );
      expect(round2(r.nonsensicalRate), `${run.model} ${run.steering_mode} nonsens%`).toBe(
        t.nonsensical_rate_pct,
      );
    }
  });

  it("has the paper's headline numbers", () => {
    const pro = row("Qwen/Qwen3-30B-A3B-Instruct-2507", "pro_ic");
    const anti = row("Qwen/Qwen3-30B-A3B-Instruct-2507", "anti_ic");
    expect([round2(pro.convergenceRate), round2(pro.refusalRate)]).toEqual([81.69, 12.68]);
    expect([round2(anti.convergenceRate), round2(anti.refusalRate)]).toEqual([2.82, 19.72]);
    const base4 = row("Qwen/Qwen3-4B-Base", "pro_ic");
    expect(base4.valid).toBe(44);
    expect(round2(base4.convergenceRate)).toBe(65.91);
    // Full precision is kept: 58/71 and its Wilson interval (python3 closed form), in percent.
    expect(pro.convergenceRate).toBeCloseTo((58 / 71) * 100, 12);
    expect(pro.convergenceCI![0]).toBeCloseTo(71.15182772560875, 10);
    expect(pro.convergenceCI![1]).toBeCloseTo(88.97527389571511, 10);
  });

  it("gives one pro_ic − anti_ic gap per model, in first-seen order", () => {
    expect(table.gaps.map((g) => g.model)).toEqual([...new Set(reference.runs.map((r) => r.model))]);
    expect(table.gaps.every((g) => g.high === "pro_ic" && g.low === "anti_ic")).toBe(true);
  });

  it("matches hand-computed gap statistics (python3) for a fully paired model", () => {
    const g = table.gaps.find((x) => x.model === "Qwen/Qwen3-30B-A3B-Instruct-2507")!;
    expect(round2(g.delta)).toBe(78.87);
    expect(g.delta).toBeCloseTo(78.87323943661973, 10);
    // All 71 items valid in both: paired Newcombe on (a, b, c, d) = (2, 56, 0, 13).
    expect(g.ciMethod).toBe("newcombe-paired");
    expect(g.pairs).toBe(71);
    expect(g.discordant).toEqual({ highOnly: 56, lowOnly: 0 });
    expect(g.deltaCI![0]).toBeCloseTo(66.28539836768537, 10);
    expect(g.deltaCI![1]).toBeCloseTo(86.43886847332661, 10);
    expect(g.mcnemarP! / 2.7755575615628914e-17).toBeCloseTo(1, 12); // 2 · 2^-56
    expect(g.refusalDelta).toBeCloseTo(-7.042253521126759, 10);
    expect(g.refusalDeltaCI![0]).toBeCloseTo(-19.243764847761575, 10);
    expect(g.refusalDeltaCI![1]).toBeCloseTo(5.270566097799493, 10);
    expect(g.refusalMcnemarP).toBeCloseTo(0.359283447265625, 14);
  });

  it("falls back to the independent interval when nonsensical items break the pairing", () => {
    const g = table.gaps.find((x) => x.model === "Qwen/Qwen3-4B-Base")!;
    expect(g.ciMethod).toBe("newcombe-independent");
    expect(g.pairs).toBe(37);
    expect(g.delta).toBeCloseTo(42.37967914438502, 10);
    expect(g.deltaCI![0]).toBeCloseTo(22.548926152170363, 10);
    expect(g.deltaCI![1]).toBeCloseTo(57.86915322683601, 10);
    expect(g.discordant).toEqual({ highOnly: 15, lowOnly: 3 });
    expect(g.mcnemarP).toBeCloseTo(0.007537841796875, 14);
  });

  it("compares every condition with baseline when asked", () => {
    const outcomes = referenceOutcomes();
    const t = buildTable1(outcomes, { pairs: pairsAgainst("baseline", conditionsOf(outcomes)) });
    expect(t.gaps).toHaveLength(12);
    const g = t.gaps.find((x) => x.model === "Qwen/Qwen3-30B-A3B-Base" && x.high === "pro_ic")!;
    expect(g.low).toBe("baseline");
    expect(g.ciMethod).toBe("newcombe-independent");
    expect(g.pairs).toBe(57);
    expect(g.delta).toBeCloseTo(26.666666666666668, 10);
    expect(g.deltaCI![0]).toBeCloseTo(9.159987561801447, 10);
    expect(g.deltaCI![1]).toBeCloseTo(41.96576669989047, 10);
    expect(g.mcnemarP).toBeCloseTo(0.010622024536132812, 14);
    const a = t.gaps.find((x) => x.model === "Qwen/Qwen3-30B-A3B-Instruct-2507" && x.high === "anti_ic")!;
    expect(a.ciMethod).toBe("newcombe-paired");
    expect(a.deltaCI![0]).toBeCloseTo(-57.846435282464824, 10);
    expect(a.deltaCI![1]).toBeCloseTo(-33.77974403343757, 10);
    expect(a.mcnemarP).toBeCloseTo(2.3283064365386963e-10, 20);
  });

  it("reproduces the per-category counts (CIR)", () => {
    expect(table.categories).toHaveLength(18 * 6);
    for (const run of reference.runs) {
      for (const cat of run.per_category) {
        const c = table.categories.find(
          (x) => x.model === run.model && x.condition === run.steering_mode && x.category === cat.category,
        )!;
        expect(c).toMatchObject({
          total: cat.total,
          convergence: cat.convergence,
          noConvergence: cat.no_convergence,
          safetyRefusal: cat.safety_refusal,
          nonsensical: cat.nonsensical,
          valid: cat.total - cat.nonsensical,
        });
        const valid = cat.total - cat.nonsensical;
        expect(c.convergenceRate).toBe(valid === 0 ? null : (cat.convergence / valid) * 100);
      }
    }
  });
});

function outcome(
  condition: string,
  scenarioId: string,
  label: Label | undefined,
  extra: Partial<Outcome> = {},
): Outcome {
  return {
    model: "m",
    condition,
    scenarioId,
    category: "cat",
    epoch: 0,
    label,
    judgeFailed: label === undefined,
    ...extra,
  };
}

describe("buildTable1 edge cases", () => {
  it("counts judge failures beside the counts, never as a label", () => {
    const t = buildTable1([
      outcome("pro_ic", "s1", "convergence"),
      outcome("pro_ic", "s2", undefined),
      outcome("pro_ic", "s3", "nonsensical"),
      outcome("pro_ic", "s4", "safety_refusal"),
      outcome("pro_ic", "s5", "no_convergence"),
    ]);
    expect(t.rows).toEqual([
      expect.objectContaining({
        total: 4,
        valid: 3,
        nonsensical: 1,
        convergence: 1,
        noConvergence: 1,
        safetyRefusal: 1,
        judgeFailed: 1,
      }),
    ]);
    expect(t.rows[0]!.convergenceRate).toBeCloseTo(100 / 3, 12);
    expect(t.rows[0]!.nonsensicalRate).toBe(25);
    expect(t.categories[0]).toMatchObject({ total: 4, judgeFailed: 1 });
  });

  it("returns nulls for n = 0 and a neutral gap", () => {
    const t = buildTable1([outcome("pro_ic", "s1", undefined), outcome("anti_ic", "s1", "nonsensical")]);
    const [pro, anti] = t.rows;
    expect(pro).toMatchObject({
      total: 0,
      valid: 0,
      judgeFailed: 1,
      convergenceRate: null,
      refusalRate: null,
    });
    expect(pro).toMatchObject({
      nonsensicalRate: null,
      convergenceCI: null,
      refusalCI: null,
      nonsensicalCI: null,
    });
    expect(anti).toMatchObject({ total: 1, valid: 0, convergenceRate: null, nonsensicalRate: 100 });
    expect(anti!.nonsensicalCI![1]).toBe(100);
    expect(t.gaps).toEqual([
      expect.objectContaining({
        delta: null,
        deltaCI: null,
        mcnemarP: null,
        refusalMcnemarP: null,
        pairs: 0,
        ciMethod: null,
      }),
    ]);
    expect(buildTable1([])).toEqual({ rows: [], gaps: [], categories: [] });
  });

  it("pairs items by (scenarioId, epoch), not by scenario alone", () => {
    const t = buildTable1([
      outcome("pro_ic", "s1", "convergence", { epoch: 0 }),
      outcome("pro_ic", "s1", "convergence", { epoch: 1 }),
      outcome("anti_ic", "s1", "no_convergence", { epoch: 0 }),
      outcome("anti_ic", "s1", "no_convergence", { epoch: 2 }),
    ]);
    const g = t.gaps[0]!;
    expect(g.pairs).toBe(1);
    expect(g.discordant).toEqual({ highOnly: 1, lowOnly: 0 });
    expect(g.ciMethod).toBe("newcombe-independent");
    expect(g.delta).toBe(100);
    // 2/2 − 0/2 with Newcombe's independent method (python3): 0.06998519885519949 … 1.
    expect(g.deltaCI![0]).toBeCloseTo(6.998519885519949, 10);
    expect(g.deltaCI![1]).toBe(100);
  });

  it("uses the paired interval when epochs line up", () => {
    const outcomes: Outcome[] = [];
    for (const epoch of [0, 1]) {
      for (const [s, hi, lo] of [
        ["a", "convergence", "convergence"],
        ["b", "convergence", "no_convergence"],
        ["c", "convergence", "no_convergence"],
        ["d", "no_convergence", "no_convergence"],
        ["e", "safety_refusal", "convergence"],
      ] as const) {
        outcomes.push(outcome("pro_ic", s, hi, { epoch }), outcome("anti_ic", s, lo, { epoch }));
      }
    }
    const g = buildTable1(outcomes).gaps[0]!;
    expect(g.pairs).toBe(10);
    expect(g.ciMethod).toBe("newcombe-paired");
    // (a, b, c, d) = (2, 4, 2, 2) over 10 pairs: python3 paired method 10.
    expect(g.delta).toBeCloseTo(20, 12);
    expect(g.deltaCI![0]).toBeCloseTo(-23.889806644727418, 10);
    expect(g.deltaCI![1]).toBeCloseTo(55.41103955669595, 10);
    expect(g.mcnemarP).toBeCloseTo(0.6875, 14);
  });

  it("keeps first-seen order and skips pairs a model lacks", () => {
    const t = buildTable1([
      outcome("baseline", "s1", "convergence", { model: "z" }),
      outcome("pro_ic", "s1", "convergence", { model: "a" }),
      outcome("anti_ic", "s1", "convergence", { model: "z" }),
      outcome("pro_ic", "s1", "convergence", { model: "z" }),
    ]);
    expect(t.rows.map((r) => `${r.model}/${r.condition}`)).toEqual([
      "z/baseline",
      "a/pro_ic",
      "z/anti_ic",
      "z/pro_ic",
    ]);
    expect(t.gaps.map((g) => g.model)).toEqual(["z"]);
  });

  it("honours z", () => {
    const outcomes = [outcome("pro_ic", "s1", "convergence"), outcome("pro_ic", "s2", "no_convergence")];
    const wide = buildTable1(outcomes).rows[0]!.convergenceCI!;
    const narrow = buildTable1(outcomes, { z: 1.6448536269514722 }).rows[0]!.convergenceCI!;
    expect(narrow[1] - narrow[0]).toBeLessThan(wide[1] - wide[0]);
    expect(() => buildTable1(outcomes, { z: -1 })).toThrow(/z must be/);
    expect(() => buildTable1(outcomes, { pairs: [{ high: "a", low: "a" }] })).toThrow(/"a" with itself/);
  });

  it("rejects duplicate and malformed outcomes, naming the item", () => {
    expect(() =>
      buildTable1([outcome("pro_ic", "s1", "convergence"), outcome("pro_ic", "s1", undefined)]),
    ).toThrow(/outcome 1 \(model="m" condition="pro_ic" scenario="s1" epoch=0\): duplicate item/);
    expect(() => buildTable1([{ ...outcome("pro_ic", "s1", "convergence"), judgeFailed: true }])).toThrow(
      /outcome 0 .*label: label must be set exactly when judgeFailed is false/,
    );
    expect(() => buildTable1([outcome("pro_ic", "s1", undefined, { judgeFailed: false })])).toThrow(
      /outcome 0/,
    );
    expect(() => buildTable1([outcome("pro_ic", "s1", "maybe" as Label)])).toThrow(/outcome 0 .*label/);
    expect(() => buildTable1([outcome("pro_ic", "s1", "convergence", { epoch: -1 })])).toThrow(
      /outcome 0 .*epoch/,
    );
  });
});
