import { describe, expect, it } from "vitest";
import type { Outcome } from "../metrics/table1.js";
import type { Condition, Label } from "../types.js";
import { buildSteeringComparison, formatSteeringComparison } from "./compare.js";
import type { PerplexityResult } from "./perplexity.js";

const N = 20;
function outcomes(model: string, condition: string, conv: number): Outcome[] {
  return Array.from({ length: N }, (_, i) => ({
    model,
    condition,
    scenarioId: `s-${i}`,
    category: "c",
    epoch: 0,
    label: (i < conv ? "convergence" : "no_convergence") as Label,
    judgeFailed: false,
  }));
}
const act = (name: string, strength: number, prompt?: Condition["prompt"]): Condition => ({
  name,
  activation: { vector: "/v.gguf", strength },
  ...(prompt ? { prompt } : {}),
});
const ppl = (perplexity: number): PerplexityResult => ({
  perplexity,
  logProb: -1,
  tokens: 10,
  promptTruncated: false,
  passageTruncated: false,
});

const conditions: Condition[] = [
  { name: "pro_ic", prompt: { userSuffix: "go" } },
  { name: "anti_ic", prompt: { userSuffix: "stop" } },
  act("act-4", -4),
  act("act0", 0),
  act("act+4", 4),
  act("act+8", 8),
  // Stacked on a prompt: not used when pure activation conditions exist.
  act("pro_ic.act+16", 16, { userSuffix: "go" }),
];

describe("buildSteeringComparison", () => {
  const data = [
    ...outcomes("m", "pro_ic", 15),
    ...outcomes("m", "anti_ic", 3),
    ...outcomes("m", "act-4", 2),
    ...outcomes("m", "act0", 6),
    ...outcomes("m", "act+4", 9),
    ...outcomes("m", "act+8", 12),
    ...outcomes("m", "pro_ic.act+16", 20),
    // A second model with prompt results only.
    ...outcomes("other", "pro_ic", 10),
    ...outcomes("other", "anti_ic", 10),
  ];
  const [m, other] = buildSteeringComparison({
    outcomes: data,
    judge: "j",
    conditions,
    perplexity: { pro_ic: ppl(11), anti_ic: ppl(12), "act+8": ppl(40), "act-4": ppl(15), act0: ppl(10) },
    referencePerplexity: 8,
  });

  it("puts the prompt gap and the strongest activation gap side by side", () => {
    expect(m!.model).toBe("m");
    expect(m!.prompt).toMatchObject({ kind: "prompt", high: "pro_ic", low: "anti_ic" });
    expect(m!.prompt!.gap!.delta).toBeCloseTo(60, 10);
    expect(m!.activation).toMatchObject({ high: "act+8", low: "act-4", highStrength: 8, lowStrength: -4 });
    expect(m!.activation!.gap!.delta).toBeCloseTo(50, 10);
    expect(m!.activation!.gap!.ciMethod).toBe("newcombe-paired");
  });

  it("prices each side in perplexity relative to its unsteered reference", () => {
    // Activation: strength 0 is the reference; prompts: no baseline condition here → the neutral request.
    expect(m!.activation!.perplexity).toEqual({
      high: 40,
      low: 15,
      reference: 10,
      highRatio: 4,
      lowRatio: 1.5,
    });
    expect(m!.prompt!.perplexity).toEqual({
      high: 11,
      low: 12,
      reference: 8,
      highRatio: 11 / 8,
      lowRatio: 12 / 8,
    });
  });

  it("says what is missing", () => {
    expect(other!.activation).toBeNull();
    expect(other!.prompt!.gap!.delta).toBe(0);
    const text = formatSteeringComparison([m!, other!], "terminal");
    expect(text).toContain("pro_ic − anti_ic");
    expect(text).toContain("act+8 − act-4 (strength 8 vs -4)");
    expect(text).toContain("+60.00");
    expect(text).toContain("40.00 (×4.00)");
    expect(text).toContain("no activation strengths to compare");
    const md = formatSteeringComparison([m!], "md");
    expect(md).toContain("| m | activation | act+8 − act-4 (strength 8 vs -4) | +50.00");
    const json = JSON.parse(formatSteeringComparison([m!], "json")) as { activation: { high: string } }[];
    expect(json[0]!.activation.high).toBe("act+8");
  });

  it("uses stacked conditions when there are no pure activation ones", () => {
    const [c] = buildSteeringComparison({
      outcomes: [...outcomes("m", "pro_ic.act+16", 20), ...outcomes("m", "act0", 6)].filter(
        (o) => o.condition !== "act0",
      ),
      judge: "j",
      conditions: [
        act("pro_ic.act+16", 16, { userSuffix: "go" }),
        act("pro_ic.act-16", -16, { userSuffix: "go" }),
      ],
    });
    // Only one strength has results: nothing to compare.
    expect(c!.activation).toBeNull();
  });
});
