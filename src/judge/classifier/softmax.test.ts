import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../metrics/random.js";
import type { SparseVector } from "./features.js";
import { lossAndGradient, predictProba, trainSoftmax } from "./softmax.js";

function sparse(entries: [number, number][]): SparseVector {
  const sorted = [...entries].sort((a, b) => a[0] - b[0]);
  return { idx: Int32Array.from(sorted, ([i]) => i), val: Float64Array.from(sorted, ([, v]) => v) };
}

function randomProblem(seed: number, n: number, dim: number, classes: number) {
  const rand = mulberry32(seed);
  const xs = Array.from({ length: n }, () => {
    const used = new Set<number>();
    while (used.size < 3) used.add(Math.floor(rand() * dim));
    return sparse([...used].map((j) => [j, rand() * 2 - 1] as [number, number]));
  });
  const ys = xs.map(() => Math.floor(rand() * classes));
  const theta = Float64Array.from({ length: classes * dim + classes }, () => rand() - 0.5);
  const weights = xs.map(() => 0.5 + rand());
  return { xs, ys, theta, weights };
}

describe("lossAndGradient", () => {
  it("matches central finite differences (with L2 and sample weights)", () => {
    const classes = 3;
    const dim = 5;
    const { xs, ys, theta, weights } = randomProblem(7, 12, dim, classes);
    const l2 = 0.1;
    const { grad } = lossAndGradient(theta, xs, ys, classes, dim, l2, weights);
    const h = 1e-6;
    for (let j = 0; j < theta.length; j++) {
      const plus = Float64Array.from(theta);
      const minus = Float64Array.from(theta);
      plus[j]! += h;
      minus[j]! -= h;
      const numeric =
        (lossAndGradient(plus, xs, ys, classes, dim, l2, weights).loss -
          lossAndGradient(minus, xs, ys, classes, dim, l2, weights).loss) /
        (2 * h);
      expect(grad[j]).toBeCloseTo(numeric, 6);
    }
  });

  it("is ln(classes) at zero parameters", () => {
    const { xs, ys } = randomProblem(3, 10, 4, 4);
    const { loss } = lossAndGradient(new Float64Array(4 * 4 + 4), xs, ys, 4, 4, 1);
    expect(loss).toBeCloseTo(Math.log(4), 12);
  });
});

describe("trainSoftmax", () => {
  // Feature j "votes" for class j; the last feature is noise shared by everyone.
  const xs = [
    sparse([
      [0, 1],
      [3, 0.5],
    ]),
    sparse([[0, 0.8]]),
    sparse([
      [1, 1],
      [3, 0.5],
    ]),
    sparse([[1, 0.9]]),
    sparse([
      [2, 1],
      [3, 0.5],
    ]),
    sparse([[2, 0.7]]),
  ];
  const ys = [0, 0, 1, 1, 2, 2];

  it("fits a separable problem and converges", () => {
    const fit = trainSoftmax(xs, ys, 3, 4, { l2: 1e-3, maxIterations: 500 });
    expect(fit.converged).toBe(true);
    xs.forEach((x, i) => {
      const p = predictProba(fit.model, x);
      expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
      expect(p.indexOf(Math.max(...p))).toBe(ys[i]);
    });
    // the shared noise feature carries (nearly) no class information
    const noise = [0, 1, 2].map((k) => fit.model.weights[3 * 3 + k]!);
    expect(Math.max(...noise) - Math.min(...noise)).toBeLessThan(1);
  });

  it("reaches the optimum: the gradient vanishes", () => {
    const fit = trainSoftmax(xs, ys, 3, 4, { l2: 0.1, maxIterations: 500, tolerance: 1e-9 });
    const theta = new Float64Array(3 * 4 + 3);
    theta.set(fit.model.weights);
    theta.set(fit.model.bias, 12);
    const { grad } = lossAndGradient(theta, xs, ys, 3, 4, 0.1);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-7);
  });

  it("is deterministic", () => {
    const a = trainSoftmax(xs, ys, 3, 4, { l2: 1e-2 });
    const b = trainSoftmax(xs, ys, 3, 4, { l2: 1e-2 });
    expect([...a.model.weights]).toEqual([...b.model.weights]);
    expect([...a.model.bias]).toEqual([...b.model.bias]);
  });

  it("stronger L2 gives smaller weights", () => {
    const norm = (l2: number) =>
      Math.hypot(...trainSoftmax(xs, ys, 3, 4, { l2, maxIterations: 500 }).model.weights);
    expect(norm(1)).toBeLessThan(norm(0.01));
  });

  it("rejects malformed input", () => {
    expect(() => trainSoftmax(xs, [0, 1], 3, 4)).toThrow(/6 examples but 2 labels/);
    expect(() => trainSoftmax(xs, [0, 0, 1, 1, 2, 3], 3, 4)).toThrow(/example 5: class 3/);
    expect(() => trainSoftmax(xs, ys, 3, 3)).toThrow(/feature 3 out of range/);
    expect(() => trainSoftmax([], [], 3, 4)).toThrow(/no examples/);
  });
});
