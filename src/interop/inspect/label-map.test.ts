import { describe, expect, it } from "vitest";
import { BUILTIN_MAPS, detectBuiltinMap, mapForScorer, valueText } from "./label-map.js";

describe("Inspect score values as labels", () => {
  it("reads strings, numbers, booleans and one-hot dicts as text; anything else has none", () => {
    expect(valueText("C")).toBe("C");
    expect(valueText(1)).toBe("1");
    expect(valueText(0.5)).toBe("0.5");
    expect(valueText(true)).toBe("true");
    expect(valueText({ convergence: 0, no_convergence: 1, invalid: 0 })).toBe("no_convergence");
    expect(valueText({ convergence: 1, no_convergence: 1 })).toBeUndefined();
    expect(valueText({ a: 0 })).toBeUndefined();
    expect(valueText(["C"])).toBeUndefined();
    expect(valueText(null)).toBeUndefined();
  });

  it("picks a built-in map by scorer name or by the values seen", () => {
    expect(detectBuiltinMap("instrumentaleval_scorer", ["whatever"])).toBe(BUILTIN_MAPS.instrumentaleval);
    expect(detectBuiltinMap("inspect_evals/instrumentaleval_scorer", [])).toBe(BUILTIN_MAPS.instrumentaleval);
    expect(detectBuiltinMap("gpt-5.2", ["convergence", "safety_refusal", "judge_failed"])).toBe(
      BUILTIN_MAPS.steerbench,
    );
    expect(detectBuiltinMap("grader", ["convergence", "invalid"])).toBe(BUILTIN_MAPS.instrumentaleval);
    expect(detectBuiltinMap("match", ["C", "I", "P"])).toBe(BUILTIN_MAPS.cip);
    expect(detectBuiltinMap("match", ["C", "yes"])).toBeUndefined();
    expect(BUILTIN_MAPS.cip.values.P).toBe("failed");
  });

  it("a --label-map entry for the scorer wins over its `*` entry and over the built-ins", () => {
    const file = { match: { C: "safety_refusal" as const }, "*": { C: "nonsensical" as const } };
    expect(mapForScorer("match", ["C"], file)?.values.C).toBe("safety_refusal");
    expect(mapForScorer("other", ["C"], file)?.values.C).toBe("nonsensical");
    expect(mapForScorer("other", ["C"], undefined)).toBe(BUILTIN_MAPS.cip);
  });
});
