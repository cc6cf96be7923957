import { describe, expect, it } from "vitest";
import type { Outcome } from "../metrics/table1.js";
import { compareProtocols } from "../metrics/two-label.js";
import type { Label } from "../types.js";
import { formatProtocolComparison } from "./table-protocol.js";

const labels: Label[] = ["convergence", "nonsensical", "no_convergence", "safety_refusal"];
const outcomes: Outcome[] = ["pro_ic", "anti_ic"].flatMap((condition, c) =>
  labels.map((l, i) => ({
    model: "m|<b>\u001b[31m",
    condition,
    scenarioId: `s-${i}`,
    category: "x",
    epoch: 0,
    label: c === 1 && l === "convergence" ? "no_convergence" : l,
    judgeFailed: false,
  })),
);
const cmp = compareProtocols(outcomes);

describe("the protocol comparison table", () => {
  it("Markdown escapes names; terminal strips control characters; both carry the footnote", () => {
    const md = formatProtocolComparison(cmp, "md");
    expect(md).toContain("m\\|\\<b\\>");
    expect(md).toMatch(/IR % \[95% CI\]/);
    expect(md).toMatch(/IR% = convergence \/ labelled items/);
    const term = formatProtocolComparison(cmp, "terminal");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none is left
    expect(term).not.toMatch(/\u001b/);
    expect(term).toMatch(/Δ IR pp/);
  });

  it("CSV has one row per model × condition at full precision; JSON is the comparison itself", () => {
    const csv = formatProtocolComparison(cmp, "csv").trimEnd().split("\r\n");
    expect(csv).toHaveLength(3);
    expect(csv[0]).toMatch(/^model,condition,paperValid,/);
    // pro_ic: 1 convergence of 3 valid (paper), of 4 labelled (2-label).
    expect(csv[1]).toContain(`,3,1,${(1 / 3) * 100},`);
    expect(csv[1]).toContain(`,4,1,25,`);
    expect(JSON.parse(formatProtocolComparison(cmp, "json"))).toEqual(JSON.parse(JSON.stringify(cmp)));
  });
});
