// The sweep report as a new user saw it (issue 11 §20): ticks at the swept strengths, the perplexity
// cost on the curve, the gap between the strongest ± strengths, and a Table 1 that fits its box.
import { describe, expect, it } from "vitest";
import { STRENGTHS, sweepStore } from "../../../test/helpers/sweep-store.js";
import { sweepOption } from "../../web/chart-options.js";
import { buildSummary, defaultPairs } from "./summary.js";

describe("the sweep report", () => {
  it("puts the x-axis ticks at the swept strengths (regression: −6/−3/0/3/6 for −8…8)", () => {
    const store = sweepStore();
    const s = buildSummary(store, store.getRun("sweep-7")!);
    const option = sweepOption(s.tables[0]!.sweep, "m");
    const x = option.xAxis as { axisLabel: { customValues: number[] }; axisTick: { customValues: number[] } };
    expect(x.axisLabel.customValues).toEqual(STRENGTHS);
    expect(x.axisTick.customValues).toEqual(STRENGTHS);
    store.close();
  });

  it("draws the stored perplexity on its own axis (regression: the curve showed none)", () => {
    const store = sweepStore();
    const s = buildSummary(store, store.getRun("sweep-7")!);
    expect(s.tables[0]!.sweep.find((p) => p.condition === "act+8")?.perplexity).toBe(18);
    const series = sweepOption(s.tables[0]!.sweep, "m").series as {
      name: string;
      yAxisIndex?: number;
      data: number[][];
    }[];
    const ppl = series.find((x) => x.name === "Perplexity (neutral passage)")!;
    expect(ppl.yAxisIndex).toBe(1);
    expect(ppl.data).toEqual(STRENGTHS.map((st) => [st, 10 + Math.abs(st)]));
    store.close();
  });

  it("gaps the strongest + strength against the strongest − one, not pro_ic − anti_ic or the control", () => {
    const store = sweepStore();
    const s = buildSummary(store, store.getRun("sweep-7")!);
    const gaps = s.tables[0]!.table.gaps;
    expect(gaps[0]).toMatchObject({ high: "act+8", low: "act-8", delta: 100 });
    expect(gaps.some((g) => g.high.startsWith("ctl") || g.low.startsWith("ctl"))).toBe(false);
    // with prompt conditions present too, a sweep still leads with its ± pair
    const strengths = new Map([
      ["act+2", 2],
      ["act-2", -2],
      ["act0", 0],
    ]);
    expect(defaultPairs(["pro_ic", "anti_ic", "act-2", "act0", "act+2"], strengths)[0]).toEqual({
      high: "act+2",
      low: "act-2",
    });
    expect(defaultPairs(["baseline", "pro_ic", "anti_ic"])).toEqual([{ high: "pro_ic", low: "anti_ic" }]);
    store.close();
  });
});
