import { describe, expect, it } from "vitest";
import type { ControlVector } from "../gguf/vector-file.js";
import type { Outcome } from "../metrics/table1.js";
import type { Label } from "../types.js";
import { controlSpread, randomControl, signCheckLayer, specificity } from "./controls.js";
import { controlSpreadText } from "./format.js";

const vec: ControlVector = {
  directions: new Map([
    [1, Float32Array.from([3, 4, 0, 0])],
    [2, Float32Array.from([0, 0, 1, 0])],
  ]),
  nEmbd: 4,
  modelHint: "llama",
};

function outcomes(condition: string, labels: Label[]): Outcome[] {
  return labels.map((label, i) => ({
    model: "m",
    condition,
    scenarioId: `s${i}`,
    category: "c",
    epoch: 0,
    label,
    judgeFailed: false,
  }));
}
const C: Label = "convergence";
const N: Label = "no_convergence";

describe("random-direction control", () => {
  it("has the vector's per-layer norm, is seeded, and points elsewhere", () => {
    const a = randomControl(vec, 7);
    const b = randomControl(vec, 7);
    const c = randomControl(vec, 8);
    for (const il of [1, 2]) {
      expect(Math.hypot(...a.directions.get(il)!)).toBeCloseTo(Math.hypot(...vec.directions.get(il)!), 5);
      expect([...a.directions.get(il)!]).toEqual([...b.directions.get(il)!]);
      expect([...a.directions.get(il)!]).not.toEqual([...c.directions.get(il)!]);
    }
  });

  it("reads the sign check one layer after the steered range, or the last layer", () => {
    expect(signCheckLayer([2, 5], 30)).toBe(6);
    expect(signCheckLayer([1, 3], 4)).toBe(3);
  });
});

describe("specificity", () => {
  const names = { vectorHigh: "act+4", vectorLow: "act-4", controlHigh: "ctl+4", controlLow: "ctl-4" };
  it("is Δ(vector) / Δ(control) with a bootstrap interval around it", () => {
    // Vector: 8/10 vs 2/10 (Δ 60 pp); control: 6/10 vs 4/10 (Δ 20 pp): ratio 3.
    const data = [
      ...outcomes("act+4", [C, C, C, C, C, C, C, C, N, N]),
      ...outcomes("act-4", [C, C, N, N, N, N, N, N, N, N]),
      ...outcomes("ctl+4", [C, C, C, C, C, C, N, N, N, N]),
      ...outcomes("ctl-4", [C, C, C, C, N, N, N, N, N, N]),
    ];
    const sp = specificity(data, names, { high: 4, low: -4 });
    expect(sp.vectorDelta).toBeCloseTo(60, 9);
    expect(sp.controlDelta).toBeCloseTo(20, 9);
    expect(sp.ratio).toBeCloseTo(3, 9);
    expect(sp.items).toBe(10);
    expect(sp.ratioCI![0]).toBeLessThan(3);
    expect(sp.ratioCI![1]).toBeGreaterThan(3);
    // Seeded: the same interval every time.
    expect(specificity(data, names, { high: 4, low: -4 }).ratioCI).toEqual(sp.ratioCI);
  });

  it("is +∞ when the control does not move, and undefined when nothing moves", () => {
    const moved = [
      ...outcomes("act+4", [C, C, C, N]),
      ...outcomes("act-4", [N, N, N, N]),
      ...outcomes("ctl+4", [C, N, N, N]),
      ...outcomes("ctl-4", [C, N, N, N]),
    ];
    const sp = specificity(moved, names, { high: 4, low: -4 });
    expect(sp.ratio).toBe(Number.POSITIVE_INFINITY);
    expect(sp.ratioCI![1]).toBe(Number.POSITIVE_INFINITY);
    const flat = [
      ...outcomes("act+4", [C, N]),
      ...outcomes("act-4", [C, N]),
      ...outcomes("ctl+4", [C, N]),
      ...outcomes("ctl-4", [C, N]),
    ];
    const none = specificity(flat, names, { high: 4, low: -4 });
    expect(none.ratio).toBeNull();
    expect(none.undefinedResamples).toBeGreaterThan(0);
  });
});

describe("controls over several seeds", () => {
  const names = {
    zero: "act0",
    vectorHigh: "act+4",
    vectorLow: "act-4",
    controls: [
      { seed: 0, high: "ctl+4", low: "ctl-4" },
      { seed: 1, high: "ctl.s1+4", low: "ctl.s1-4" },
    ],
  };
  // Unsteered 5/10. Vector 9/10 vs 1/10: gap 80, largest move 40. Seed 0: 7/10 vs 5/10 (gap 20, move 20).
  // Seed 1 sends both signs up, 9/10 and 9/10: gap 0 but a move of 40, which the gap alone would hide.
  const data = [
    ...outcomes("act0", [C, C, C, C, C, N, N, N, N, N]),
    ...outcomes("act+4", [C, C, C, C, C, C, C, C, C, N]),
    ...outcomes("act-4", [C, N, N, N, N, N, N, N, N, N]),
    ...outcomes("ctl+4", [C, C, C, C, C, C, C, N, N, N]),
    ...outcomes("ctl-4", [C, C, C, C, C, N, N, N, N, N]),
    ...outcomes("ctl.s1+4", [C, C, C, C, C, C, C, C, C, N]),
    ...outcomes("ctl.s1-4", [C, C, C, C, C, C, C, C, C, N]),
  ];
  it("compares the vector with the mean |gap| and the mean largest move of the controls", () => {
    const cs = controlSpread(data, names, { high: 4, low: -4 });
    expect(cs.seeds.map((s) => [s.seed, s.gap, s.shift])).toEqual([
      [0, expect.closeTo(20, 9), expect.closeTo(20, 9)],
      [1, expect.closeTo(0, 9), expect.closeTo(40, 9)],
    ]);
    expect(cs.vectorGap).toBeCloseTo(80, 9);
    expect(cs.vectorShift).toBeCloseTo(40, 9);
    expect(cs.meanAbsGap).toBeCloseTo(10, 9);
    expect(cs.meanShift).toBeCloseTo(30, 9);
    expect(cs.gapRatio).toBeCloseTo(8, 9);
    expect(cs.shiftRatio).toBeCloseTo(4 / 3, 9);
    expect(cs.items).toBe(10);
    expect(cs.meanShiftCI![0]).toBeLessThanOrEqual(30);
    expect(cs.meanShiftCI![1]).toBeGreaterThanOrEqual(30);
    expect(controlSpread(data, names, { high: 4, low: -4 }).gapRatioCI).toEqual(cs.gapRatioCI);
  });

  it("is +∞ when no control moves", () => {
    const still = data
      .filter((o) => !o.condition.startsWith("ctl"))
      .concat(
        ["ctl+4", "ctl-4", "ctl.s1+4", "ctl.s1-4"].flatMap((c) =>
          outcomes(c, [C, C, C, C, C, N, N, N, N, N]),
        ),
      );
    const cs = controlSpread(still, names, { high: 4, low: -4 });
    expect(cs.meanAbsGap).toBe(0);
    expect(cs.gapRatio).toBe(Number.POSITIVE_INFINITY);
    expect(cs.shiftRatio).toBe(Number.POSITIVE_INFINITY);
  });

  it("counts the resamples it leaves out of an interval for an undefined ratio", () => {
    // Nothing moves but one item of the vector's high side: most resamples miss it, so the vector's gap and
    // the controls' are both 0 there and the ratio is 0/0.
    const flat = [C, C, C, C, C, N, N, N, N, N];
    const one = [C, C, C, C, C, N, N, N, N, C];
    const data2 = [
      ...outcomes("act0", flat),
      ...outcomes("act+4", one),
      ...["act-4", "ctl+4", "ctl-4", "ctl.s1+4", "ctl.s1-4"].flatMap((c) => outcomes(c, flat)),
    ];
    const cs = controlSpread(data2, names, { high: 4, low: -4 }, { resamples: 500 });
    expect(cs.gapRatio).toBe(Number.POSITIVE_INFINITY);
    expect(cs.undefinedResamples.gapRatio).toBeGreaterThan(0);
    expect(cs.undefinedResamples.gapRatio).toBeLessThan(500);
    expect(cs.undefinedResamples.meanAbsGap).toBe(0);
    expect(controlSpreadText(cs)).toMatch(/left out for an undefined rate: \d+ \(\|Δ\| ratio\)/);
  });
});
