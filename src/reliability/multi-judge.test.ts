import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Store } from "../store/store.js";
import type { Label } from "../types.js";
import {
  agreementReport,
  CONSENSUS,
  consensusItems,
  majority,
  outcomesFor,
  parseTieRule,
  type Vote,
} from "./multi-judge.js";

// A hand-worked example: three judges A, B, C on 11 items of one model.
// Items 1–5 are pro_ic (scenarios s1..s5), 6–10 anti_ic (s1..s5), 11 baseline (s1).
//   c = convergence, n = no_convergence, r = safety_refusal, F = failed verdict
//
//   item  1 2 3 4 5 6 7 8 9 10 11
//   A     c c c c n n n n r r  c
//   B     c c c n n n n r r c  n
//   C     c c n n n n n r r r  F
//
// All three agree (IAR) on items 1,2,5,6,7,9 = 6 of the 10 complete items (item 11 excluded).
// Fleiss: per-item P_i = (Σ n_ij² − 3)/6 → 1,1,⅓,⅓,1,1,1,⅓,1,⅓ → P̄ = (6 + 4/3)/10 = 22/30.
//   Label totals over the 30 ratings: c 10, n 13, r 7 → P̄e = (100 + 169 + 49)/900 = 318/900.
//   κ = (660 − 318)/(900 − 318) = 342/582.
// Cohen A–B over 11 items: agree on 1,2,3,5,6,7,9 = 7 → p_o = 7/11; A: c5 n4 r2, B: c4 n5 r2
//   → p_e = (20 + 20 + 4)/121 = 44/121 → κ = (77 − 44)/(121 − 44) = 33/77 = 3/7.
// Cohen A–C over 10 items (C failed on 11): agree on 1,2,5,6,7,9,10 = 7; A: c4 n4 r2, C: c2 n5 r3
//   → p_e = (8 + 20 + 6)/100 = 0.34 → κ = 0.36/0.66 = 6/11.
// Cohen B–C over 10: agree on 1,2,4,5,6,7,8,9 = 8; B: c4 n4 r2, C: c2 n5 r3 → κ = 0.46/0.66 = 23/33.
// Majority (tie → fail): c c c n n n n r r r, item 11 ties c/n (C failed, does not vote) → failed.
// Table 1 (conv% over valid): A pro 4/5 = 80, anti 0/5 = 0, Δ = 80; B pro 3/5 = 60, anti 1/5 = 20,
//   Δ = 40; consensus pro 3/5 = 60, anti 0/5 = 0, Δ = 60.

const L: Record<string, Label> = { c: "convergence", n: "no_convergence", r: "safety_refusal" };
const VOTES: Record<string, string> = {
  A: "ccccnnnnrrc",
  B: "cccnnnnrrcn",
  C: "ccnnnnnrrrF",
};

let store: Store;
const RUN = "hand";

beforeEach(() => {
  store = Store.open(":memory:");
  store.createRun({ id: RUN, name: "hand-worked", kind: "live", config: {}, versions: {} });
  const items = store.addItems(
    RUN,
    Array.from({ length: 11 }, (_, i) => ({
      model: "m",
      condition: i < 5 ? "pro_ic" : i < 10 ? "anti_ic" : "baseline",
      scenarioId: `s${(i % 5) + 1}`,
      category: i % 2 === 0 ? "cat-even" : "cat-odd",
      epoch: 0,
      seed: null,
      context: "ctx",
      systemPrompt: undefined,
      userPrompt: `prompt ${i + 1}`,
    })),
  );
  for (const [judge, votes] of Object.entries(VOTES)) {
    items.forEach((item, i) => {
      const v = votes[i]!;
      store.saveJudgement({
        itemId: item.id,
        judge,
        status: v === "F" ? "failed" : "ok",
        label: v === "F" ? null : L[v]!,
        reason: null,
        raw: v,
        scores: null,
        error: null,
        latencyMs: null,
      });
    });
  }
});

afterEach(() => store.close());

describe("majority", () => {
  const c: Vote = "convergence";
  const n: Vote = "no_convergence";
  it("takes the most voted label; failures and missing verdicts do not vote", () => {
    expect(majority([c, n, c], "fail")).toEqual({ label: c, tie: false });
    expect(majority([c, "failed", undefined], "fail")).toEqual({ label: c, tie: false });
    expect(majority(["failed", undefined], "fail")).toEqual({ label: undefined, tie: false });
  });
  it("applies the tie rule", () => {
    expect(majority([n, c], "fail")).toEqual({ label: undefined, tie: true });
    expect(majority([n, c], "first-judge")).toEqual({ label: n, tie: true });
    expect(majority(["failed", c, n], "first-judge")).toEqual({ label: c, tie: true });
    expect(majority([n, c], "prefer:convergence")).toEqual({ label: c, tie: true });
    // the preferred label is not among the tied ones: the item fails
    expect(majority([n, c], "prefer:safety_refusal")).toEqual({ label: undefined, tie: true });
    // a label outside the tie is never picked by first-judge
    expect(majority(["safety_refusal", n, n, c, c], "first-judge")).toEqual({ label: n, tie: true });
  });
  it("parses tie rules and rejects bad ones", () => {
    expect(parseTieRule("prefer:nonsensical")).toBe("prefer:nonsensical");
    expect(() => parseTieRule("prefer:maybe")).toThrow(/tie rule/);
    expect(() => parseTieRule("random")).toThrow(/tie rule/);
  });
});

describe("agreement on the hand-worked example", () => {
  it("matches the hand-computed IAR, Fleiss' κ and Cohen's κ per pair", () => {
    const r = agreementReport(store, RUN, { replicates: 200 });
    expect(r.judges).toEqual(["A", "B", "C"]);
    expect(r.items).toBe(11);
    expect(r.coverage).toEqual([
      { judge: "A", labelled: 11, failed: 0, missing: 0 },
      { judge: "B", labelled: 11, failed: 0, missing: 0 },
      { judge: "C", labelled: 10, failed: 1, missing: 0 },
    ]);
    expect(r.all).toMatchObject({ n: 10, excluded: 1, agree: 6, rate: 0.6 });
    expect(r.fleiss.observed).toBeCloseTo(22 / 30, 12);
    expect(r.fleiss.expected).toBeCloseTo(318 / 900, 12);
    expect(r.fleiss.kappa).toBeCloseTo(342 / 582, 12);
    expect(r.fleiss.ci![0]).toBeLessThan(342 / 582);
    expect(r.fleiss.ci![1]).toBeGreaterThan(342 / 582);

    const pair = (a: string, b: string) => r.pairs.find((p) => p.a === a && p.b === b)!;
    expect(pair("A", "B").agreement).toMatchObject({ n: 11, agree: 7, excluded: 0 });
    expect(pair("A", "B").kappa.kappa).toBeCloseTo(3 / 7, 12);
    expect(pair("A", "C").agreement).toMatchObject({ n: 10, agree: 7, excluded: 1 });
    expect(pair("A", "C").kappa.kappa).toBeCloseTo(6 / 11, 12);
    expect(pair("B", "C").kappa.kappa).toBeCloseTo(23 / 33, 12);
  });

  it("gives the A×B confusion matrix with row shares", () => {
    const ab = agreementReport(store, RUN, { replicates: 0 }).pairs[0]!.confusion;
    expect(ab.labels).toEqual(["convergence", "no_convergence", "safety_refusal", "nonsensical"]);
    // A=c on 1,2,3,4,11 → B c,c,c,n,n; A=n on 5–8 → B n,n,n,r; A=r on 9,10 → B r,c
    expect(ab.counts).toEqual([
      [3, 2, 0, 0],
      [0, 3, 1, 0],
      [1, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    expect(ab.rowShare[0]![0]).toBeCloseTo(0.6, 12);
    expect(ab.rowShare[3]![0]).toBeNull();
    const [lo, hi] = ab.rowShareCI[0]![0]!;
    expect(lo).toBeLessThan(0.6);
    expect(hi).toBeGreaterThan(0.6);
  });

  it("builds per-judge and consensus Table 1", () => {
    const r = agreementReport(store, RUN, { replicates: 0 });
    const conv = (judge: string, condition: string) =>
      (judge === CONSENSUS ? r.consensus.table : r.perJudge.find((j) => j.judge === judge)!.table).rows.find(
        (x) => x.condition === condition,
      )!.convergenceRate;
    expect(conv("A", "pro_ic")).toBeCloseTo(80, 10);
    expect(conv("A", "anti_ic")).toBe(0);
    expect(conv("B", "pro_ic")).toBeCloseTo(60, 10);
    expect(conv("B", "anti_ic")).toBeCloseTo(20, 10);
    expect(conv(CONSENSUS, "pro_ic")).toBeCloseTo(60, 10);
    expect(conv(CONSENSUS, "anti_ic")).toBe(0);
    expect(r.perJudge.find((j) => j.judge === "B")!.table.gaps[0]!.delta).toBeCloseTo(40, 10);
    expect(r.consensus.table.gaps[0]!.delta).toBeCloseTo(60, 10);
    expect(r.consensus).toMatchObject({ tie: "fail", ties: 1, failed: 1 });
    const baseline = r.consensus.table.rows.find((x) => x.condition === "baseline")!;
    expect(baseline).toMatchObject({ judgeFailed: 1, total: 0 });
  });
});

describe("consensus outcomes", () => {
  it("are what outcomesFor returns for the judge name consensus", () => {
    const viaName = outcomesFor(store, RUN, CONSENSUS, { tie: "first-judge" });
    expect(viaName.map((o) => o.label)).toEqual([
      ...[..."cccnnnnrrr"].map((v) => L[v]),
      "convergence", // item 11: A (first judge) says c
    ]);
    const items = consensusItems(store, RUN, { tie: "prefer:no_convergence" });
    expect(items[10]).toMatchObject({
      label: "no_convergence",
      tie: true,
      votes: ["convergence", "no_convergence", "failed"],
    });
  });

  it("can be restricted to some judges, in the order given", () => {
    const ba = consensusItems(store, RUN, { judges: ["B", "A"], tie: "first-judge" });
    // B and A disagree on items 4, 8, 10, 11: first-judge takes B's label there
    expect(ba.map((o) => o.label)).toEqual([..."cccnnnnrrcn"].map((v) => L[v]));
    expect(ba.filter((o) => o.tie)).toHaveLength(4);
  });

  it("names the run's judges when a judge is unknown", () => {
    expect(() => outcomesFor(store, RUN, "D")).toThrow(/no judge "D".*A, B, C, consensus/);
    expect(() => agreementReport(store, RUN, { judges: ["A"] })).toThrow(/at least 2 judges/);
    expect(() => consensusItems(store, RUN, { judges: ["A", "Z"] })).toThrow(/no judge "Z"/);
  });
});
