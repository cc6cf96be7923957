import { describe, expect, it } from "vitest";
import type { ControlVector } from "../gguf/vector-file.js";
import type { Outcome } from "../metrics/table1.js";
import type { Label } from "../types.js";
import { randomControl, signCheckLayer, specificity } from "./controls.js";

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
