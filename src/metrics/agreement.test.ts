import { describe, expect, it } from "vitest";
import { agreementRate, cohenKappa, confusionMatrix, fleissKappa, type Ratings } from "./agreement.js";
import { mulberry32 } from "./random.js";

/** Expands a two-rater count table into one [a, b] item per counted rating. */
function itemsFromTable(categories: string[], table: number[][]): Ratings[] {
  const items: Ratings[] = [];
  table.forEach((row, i) => {
    row.forEach((count, j) => {
      for (let r = 0; r < count; r++) items.push([categories[i], categories[j]]);
    });
  });
  return items;
}

/** Expands per-item category counts (m raters each) into one label array per item. */
function itemsFromCounts(categories: string[], counts: number[][]): Ratings[] {
  return counts.map((row) => row.flatMap((count, j) => Array<string>(count).fill(categories[j]!)));
}

// SAS/STAT PROC FREQ documentation, "Agreement Study" (skin condition data, two dermatologists):
// simple kappa 0.3449, ASE 0.0724, 95% CL 0.2030 to 0.4868. SAS uses the Fleiss-Cohen-Everitt ASE.
const skinCategories = ["terrible", "poor", "marginal", "clear"];
const skinTable = [
  [10, 4, 1, 0],
  [5, 10, 12, 2],
  [2, 4, 12, 5],
  [0, 2, 6, 13],
];

describe("cohenKappa", () => {
  it("matches the SAS PROC FREQ agreement example", () => {
    const r = cohenKappa(itemsFromTable(skinCategories, skinTable), { categories: skinCategories });
    expect(r.n).toBe(88);
    expect(r.kappa).toBeCloseTo(0.3449, 4);
    expect(r.se).toBeCloseTo(0.0724, 4);
    expect(r.ci![0]).toBeCloseTo(0.203, 4);
    expect(r.ci![1]).toBeCloseTo(0.4868, 4);
    // Full precision from an independent python3 implementation of the FCE (1969) formula.
    expect(r.observed).toBeCloseTo(0.5113636363636364, 14);
    expect(r.expected).toBeCloseTo(0.25413223140495866, 14);
    expect(r.kappa).toBeCloseTo(0.3448753462603878, 12);
    expect(r.se).toBeCloseTo(0.07239668737198354, 12);
  });

  it("matches python3 on Fleiss' psychiatric-diagnosis table (κ = 0.676)", () => {
    const cats = ["psychotic", "neurotic", "organic"];
    const r = cohenKappa(
      itemsFromTable(cats, [
        [75, 1, 4],
        [5, 4, 1],
        [0, 0, 10],
      ]),
      { categories: cats },
    );
    expect(r.kappa).toBeCloseTo(0.676470588235294, 12);
    expect(r.se).toBeCloseTo(0.08770295347521254, 12);
    expect(r.ci![0]).toBeCloseTo(0.5045759580860855, 12);
    expect(r.ci![1]).toBeCloseTo(0.8483652183845026, 12);
  });

  it("excludes and counts items where a rater failed", () => {
    const items: Ratings[] = [
      ...itemsFromTable(skinCategories, skinTable),
      [undefined, "poor"],
      ["clear", undefined],
    ];
    const r = cohenKappa(items, { categories: skinCategories });
    expect(r.n).toBe(88);
    expect(r.excluded).toBe(2);
    expect(r.kappa).toBeCloseTo(0.3448753462603878, 12);
  });

  it("returns nulls without items and when both raters used one label", () => {
    const empty = cohenKappa([[undefined, "convergence"]]);
    expect(empty).toMatchObject({ n: 0, excluded: 1, kappa: null, se: null, ci: null });
    const degenerate = cohenKappa([
      ["convergence", "convergence"],
      ["convergence", "convergence"],
    ]);
    expect(degenerate.kappa).toBeNull();
    expect(degenerate.observed).toBe(1);
    expect(degenerate.expected).toBe(1);
  });

  it("gives κ = 1 with a zero-width interval for perfect agreement on two labels", () => {
    const r = cohenKappa([
      ["convergence", "convergence"],
      ["no_convergence", "no_convergence"],
      ["convergence", "convergence"],
    ]);
    expect(r.kappa).toBe(1);
    expect(r.ci).toEqual([1, 1]);
  });
});

describe("confusionMatrix", () => {
  it("counts rater A by rater B and orders known labels like LABELS", () => {
    const m = confusionMatrix([
      ["safety_refusal", "convergence"],
      ["convergence", "convergence"],
      ["convergence", "no_convergence"],
      ["convergence", undefined],
    ]);
    expect(m.categories).toEqual(["convergence", "no_convergence", "safety_refusal"]);
    expect(m.counts).toEqual([
      [1, 1, 0],
      [0, 0, 0],
      [1, 0, 0],
    ]);
    expect(m.n).toBe(3);
    expect(m.excluded).toBe(1);
  });

  it("rejects labels outside the given categories and ragged items", () => {
    expect(() => confusionMatrix([["convergence", "maybe"]], { categories: ["convergence"] })).toThrow(
      /item 0: label "maybe" is not a category/,
    );
    expect(() => confusionMatrix([["a", "b", "c"]])).toThrow(/item 0: expected 2 raters, got 3/);
    expect(() => agreementRate([["a", "b"], ["a"]])).toThrow(/item 1: expected 2 raters, got 1/);
  });
});

describe("agreementRate", () => {
  it("is the share of items where every rater agrees, with a Wilson CI", () => {
    const r = agreementRate(itemsFromTable(skinCategories, skinTable));
    expect(r).toMatchObject({ n: 88, agree: 45, excluded: 0 });
    expect(r.rate).toBeCloseTo(45 / 88, 15);
    // python3 Wilson closed form for 45/88
    expect(r.ci![0]).toBeCloseTo(0.4086553039815134, 12);
    expect(r.ci![1]).toBeCloseTo(0.6131213535942844, 12);
  });

  it("counts excluded items and handles none left", () => {
    const r = agreementRate([
      ["a", "a", "a"],
      ["a", "b", "a"],
      ["a", undefined, "a"],
    ]);
    expect(r).toMatchObject({ n: 2, agree: 1, excluded: 1, rate: 0.5 });
    expect(agreementRate([[undefined, "a"]])).toMatchObject({ n: 0, excluded: 1, rate: null, ci: null });
    expect(agreementRate([])).toMatchObject({ n: 0, excluded: 0, rate: null, ci: null });
  });
});

// Fleiss (1971) worked example as reproduced on Wikipedia ("Fleiss' kappa"): 10 items, 14 raters,
// 5 categories; P̄ = 0.378, P̄e = 0.213, κ = 0.210.
const fleissCats = ["1", "2", "3", "4", "5"];
const fleissCounts = [
  [0, 0, 0, 0, 14],
  [0, 2, 6, 4, 2],
  [0, 0, 3, 5, 6],
  [0, 3, 9, 2, 0],
  [2, 2, 8, 1, 1],
  [7, 7, 0, 0, 0],
  [3, 2, 6, 3, 0],
  [2, 5, 3, 2, 2],
  [6, 5, 2, 1, 0],
  [0, 2, 2, 3, 7],
];

describe("fleissKappa", () => {
  it("matches the published worked example", () => {
    const r = fleissKappa(itemsFromCounts(fleissCats, fleissCounts), { categories: fleissCats });
    expect(r.n).toBe(10);
    expect(r.raters).toBe(14);
    expect(r.observed).toBeCloseTo(0.378, 3);
    expect(r.expected).toBeCloseTo(0.213, 3);
    expect(r.kappa).toBeCloseTo(0.21, 3);
    expect(r.kappa).toBeCloseTo(0.20993070442195522, 12);
  });

  it("reproduces an independent python3 bootstrap with the same PRNG and type-7 quantiles", () => {
    const rand = mulberry32(1);
    expect([rand(), rand(), rand()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
    const items = itemsFromCounts(fleissCats, fleissCounts);
    const a = fleissKappa(items, { categories: fleissCats });
    expect(a.bootstrap).toEqual({ replicates: 2000, seed: 1, level: 0.95, undefinedReplicates: 0 });
    expect(a.ci![0]).toBeCloseTo(0.03860083325818505, 12);
    expect(a.ci![1]).toBeCloseTo(0.3658966506032135, 12);
    const b = fleissKappa(items, { categories: fleissCats, replicates: 500, seed: 7 });
    expect(b.ci![0]).toBeCloseTo(0.04478813362408082, 12);
    expect(b.ci![1]).toBeCloseTo(0.3780607993049996, 12);
  });

  it("excludes items with a failed rater and returns nulls when nothing is left", () => {
    const items = [...itemsFromCounts(fleissCats, fleissCounts), [...Array<string>(13).fill("1"), undefined]];
    const r = fleissKappa(items, { categories: fleissCats, replicates: 0 });
    expect(r.excluded).toBe(1);
    expect(r.kappa).toBeCloseTo(0.20993070442195522, 12);
    expect(r.ci).toBeNull();
    const none = fleissKappa([["a", undefined, "a"]]);
    expect(none).toMatchObject({ n: 0, excluded: 1, kappa: null, ci: null });
  });

  it("equals Scott's pi for two raters and is undefined when everyone used one label", () => {
    // Two raters: Fleiss' κ = (p_o − Σ((r_j + c_j)/2)²) / (1 − Σ(...)²).
    const items: Ratings[] = [
      ["x", "x"],
      ["x", "y"],
      ["y", "y"],
      ["y", "y"],
    ];
    const r = fleissKappa(items, { replicates: 0 });
    const po = 3 / 4;
    const pe = (3 / 8) ** 2 + (5 / 8) ** 2;
    expect(r.kappa).toBeCloseTo((po - pe) / (1 - pe), 14);
    expect(
      fleissKappa([
        ["x", "x"],
        ["x", "x"],
      ]).kappa,
    ).toBeNull();
  });
});
