import { describe, expect, it } from "vitest";
import { mulberry32 } from "../metrics/random.js";
import {
  auc,
  cosine,
  firstPrincipalComponent,
  norm,
  pairAccuracy,
  pairDifferences,
  separation,
  splitTrainTest,
  steeringDirection,
} from "./math.js";

/** Standard normal draws from a seeded generator (Box-Muller). */
function gaussian(seed: number): () => number {
  const rand = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(rand() + 1e-300)) * Math.cos(2 * Math.PI * rand());
}

function randomUnit(dim: number, seed: number): Float64Array {
  const g = gaussian(seed);
  const v = Float64Array.from({ length: dim }, g);
  const n = norm(v);
  return v.map((x) => x / n);
}

/**
 * Synthetic activations: each pair shares a random "content" vector (large), the positive adds
 * `shift`·direction, and both get independent noise. The steering signal is the known direction.
 */
function syntheticPairs(opts: {
  n: number;
  dim: number;
  shift: number;
  noise: number;
  seed: number;
  direction: Float64Array;
  /** Remove the content's component along the direction (then the classes are separable). */
  orthogonalContent?: boolean;
}) {
  const g = gaussian(opts.seed);
  const pos: Float32Array[] = [];
  const neg: Float32Array[] = [];
  for (let i = 0; i < opts.n; i++) {
    let content = Float64Array.from({ length: opts.dim }, () => 3 * g());
    if (opts.orthogonalContent) {
      const along = content.reduce((a, c, k) => a + c * opts.direction[k]!, 0);
      content = content.map((c, k) => c - along * opts.direction[k]!);
    }
    // The shift varies per pair (some prompts push harder), as real pairs do.
    const s = opts.shift * (0.5 + Math.abs(g()));
    pos.push(Float32Array.from(content, (c, k) => c + s * opts.direction[k]! + opts.noise * g()));
    neg.push(Float32Array.from(content, (c) => c + opts.noise * g()));
  }
  return { pos, neg };
}

describe("steering directions from synthetic activations", () => {
  const dim = 64;
  const direction = randomUnit(dim, 7);
  const { pos, neg } = syntheticPairs({ n: 200, dim, shift: 4, noise: 0.5, seed: 11, direction });
  const diffs = pairDifferences(pos, neg);

  it("mean-diff recovers the known direction (cosine > 0.99) at its natural scale", () => {
    const v = steeringDirection(diffs, "mean-diff");
    expect(cosine(v, direction)).toBeGreaterThan(0.99);
    // Expected shift: 4·E[0.5 + |N(0,1)|] = 4·(0.5 + 0.798) ≈ 5.19.
    expect(norm(v)).toBeGreaterThan(4.6);
    expect(norm(v)).toBeLessThan(5.8);
  });

  it("pca recovers it too, with the sign of the mean difference and the same scale", () => {
    const v = steeringDirection(diffs, "pca");
    expect(cosine(v, direction)).toBeGreaterThan(0.99);
    const md = steeringDirection(diffs, "mean-diff");
    expect(Math.abs(norm(v) - norm(md)) / norm(md)).toBeLessThan(0.05);
    // Swapping positives and negatives flips it.
    const flipped = steeringDirection(pairDifferences(neg, pos), "pca");
    expect(cosine(flipped, direction)).toBeLessThan(-0.99);
  });

  it("normalize gives unit vectors", () => {
    expect(norm(steeringDirection(diffs, "mean-diff", { normalize: true }))).toBeCloseTo(1, 12);
    expect(norm(steeringDirection(diffs, "pca", { normalize: true }))).toBeCloseTo(1, 12);
  });

  it("pca finds the dominant axis even when the differences average to zero", () => {
    // Differences ±a·u + small noise: mean ≈ 0, but the variance is all along u.
    const g = gaussian(3);
    const u = randomUnit(dim, 5);
    const rows = Array.from({ length: 100 }, (_, i) => {
      const a = (i % 2 === 0 ? 1 : -1) * (2 + Math.abs(g()));
      return Float64Array.from(u, (x) => a * x + 0.05 * g());
    });
    const pc = firstPrincipalComponent(rows);
    expect(pc.converged).toBe(true);
    expect(Math.abs(cosine(pc.direction, u))).toBeGreaterThan(0.999);
    expect(norm(pc.direction)).toBeCloseTo(1, 12);
  });

  it("separates held-out pairs perfectly when the classes are separable (AUC ≈ 1)", () => {
    const sep = heldOut(
      syntheticPairs({ n: 200, dim, shift: 4, noise: 0.1, seed: 12, direction, orthogonalContent: true }),
    );
    expect(sep.pairs).toBe(50);
    expect(sep.pairAccuracy).toBe(1);
    expect(sep.auc).toBeGreaterThan(0.999);
  });

  it("separates pairs, but less so unpaired, when the prompts' content also varies along the direction", () => {
    const sep = heldOut({ pos, neg });
    expect(sep.pairAccuracy).toBe(1);
    // Content has σ = 3 along the direction against a shift of ~5: unpaired AUC is high but below 1.
    expect(sep.auc).toBeGreaterThan(0.8);
    expect(sep.auc).toBeLessThan(0.99);
  });

  function heldOut(data: { pos: Float32Array[]; neg: Float32Array[] }) {
    const { train, test } = splitTrainTest(
      data.pos.map((p, i) => ({ p, n: data.neg[i]! })),
      0.25,
      42,
    );
    const v = steeringDirection(
      pairDifferences(
        train.map((x) => x.p),
        train.map((x) => x.n),
      ),
      "mean-diff",
    );
    return separation(
      test.map((x) => x.p),
      test.map((x) => x.n),
      v,
    );
  }

  it("gives AUC ≈ 0.5 on pure noise", () => {
    const g = gaussian(99);
    const noisePos = Array.from({ length: 400 }, () => Float64Array.from({ length: dim }, g));
    const noiseNeg = Array.from({ length: 400 }, () => Float64Array.from({ length: dim }, g));
    const { train, test } = splitTrainTest(
      noisePos.map((p, i) => ({ p, n: noiseNeg[i]! })),
      0.5,
      1,
    );
    const v = steeringDirection(
      pairDifferences(
        train.map((x) => x.p),
        train.map((x) => x.n),
      ),
      "mean-diff",
    );
    const sep = separation(
      test.map((x) => x.p),
      test.map((x) => x.n),
      v,
    );
    expect(Math.abs(sep.auc - 0.5)).toBeLessThan(0.1);
    expect(Math.abs(sep.pairAccuracy - 0.5)).toBeLessThan(0.1);
  });
});

describe("auc and pairAccuracy", () => {
  it("computes the Mann-Whitney AUC with ties counted as halves", () => {
    expect(auc([3, 4], [1, 2])).toBe(1);
    expect(auc([1, 2], [3, 4])).toBe(0);
    expect(auc([1], [1])).toBe(0.5);
    // pos {1, 3}, neg {2, 3}: pairs (1>2 no, 1>3 no, 3>2 yes, 3=3 half) = 1.5 / 4.
    expect(auc([1, 3], [2, 3])).toBe(0.375);
    expect(auc([], [1])).toBeNaN();
  });

  it("pair accuracy compares each positive with its own negative", () => {
    expect(pairAccuracy([2, 0, 5], [1, 1, 5])).toBeCloseTo(0.5, 12);
    expect(() => pairAccuracy([1], [])).toThrow(/1 vs 0/);
  });
});

describe("splitTrainTest", () => {
  const items = Array.from({ length: 20 }, (_, i) => i);

  it("is seeded and disjoint", () => {
    const a = splitTrainTest(items, 0.25, 5);
    const b = splitTrainTest(items, 0.25, 5);
    const c = splitTrainTest(items, 0.25, 6);
    expect(a).toEqual(b);
    expect(a.test).toHaveLength(5);
    expect(a.train).toHaveLength(15);
    expect(new Set([...a.train, ...a.test]).size).toBe(20);
    expect(c.test).not.toEqual(a.test);
  });

  it("keeps at least one item on each side when it can", () => {
    expect(splitTrainTest([1, 2], 0.01, 1).test).toHaveLength(1);
    expect(splitTrainTest([1, 2], 0.99, 1).train).toHaveLength(1);
    expect(splitTrainTest([1], 0.5, 1)).toEqual({ train: [1], test: [] });
    expect(splitTrainTest(items, 0, 1).test).toEqual([]);
    expect(() => splitTrainTest(items, 1, 1)).toThrow(/holdout/);
  });
});

describe("degenerate differences", () => {
  it("gives no direction when every difference is zero", () => {
    const zeros = Array.from({ length: 5 }, () => new Float64Array(8));
    expect(norm(steeringDirection(zeros, "mean-diff"))).toBe(0);
    expect(norm(steeringDirection(zeros, "pca"))).toBe(0);
  });
});
