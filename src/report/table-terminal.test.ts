import { describe, expect, it } from "vitest";
import { buildTable1, type Outcome } from "../metrics/table1.js";
import type { Label } from "../types.js";
import { formatTerminal } from "./table-terminal.js";

/** n outcomes with the given labels (undefined = judge failure) for one model/condition. */
function outcomes(model: string, condition: string, labels: Array<Label | undefined>): Outcome[] {
  return labels.map((label, i) => ({
    model,
    condition,
    scenarioId: `s${i}`,
    category: "cat",
    epoch: 0,
    label,
    judgeFailed: label === undefined,
  }));
}

const repeat = <T>(x: T, n: number): T[] => Array<T>(n).fill(x);

describe("formatTerminal", () => {
  const table = buildTable1([
    ...outcomes("m", "pro_ic", [
      ...repeat<Label>("convergence", 58),
      ...repeat<Label>("no_convergence", 13),
      undefined,
    ]),
    ...outcomes("m", "anti_ic", [...repeat<Label>("convergence", 2), ...repeat<Label>("no_convergence", 69)]),
    ...outcomes("empty", "pro_ic", [undefined, undefined]),
  ]);
  const text = formatTerminal(table);

  it("prints rates to 2 decimals with their Wilson CI, counts and judge failures", () => {
    const proLine = text.split("\n").find((l) => l.includes(" m ") && l.includes("pro_ic"))!;
    // 58/71 = 81.690…%, Wilson 71.15…–88.97…%
    expect(proLine).toContain("81.69 [71.2, 89.0]");
    const cells = proLine.split("│").map((c) => c.trim());
    // Model, Condition, n, Nonsens., Valid, Conv., Refusal, Judge failed
    expect(cells.slice(1, 9)).toEqual(["m", "pro_ic", "71", "0", "71", "58", "0", "1"]);
  });

  it("prints n/a where nothing was valid and shows the gap", () => {
    const emptyLine = text.split("\n").find((l) => l.includes("empty"))!;
    expect(emptyLine.split("│").map((c) => c.trim())).toContain("n/a");
    expect(emptyLine).toMatch(/│\s+2\s+│\s+n\/a/);
    // Δ = (58 − 2)/71 = 78.87 pp
    expect(text).toMatch(/pro_ic − anti_ic │ \+78\.87 \[\+66\.3, \+86\.4\]/);
  });

  it("has no colour codes and neutralises control characters in names", () => {
    expect(text).not.toContain("\u001b");
    const evil = formatTerminal(buildTable1(outcomes("evil\u001b[31mred\nx", "c", ["convergence"])));
    expect(evil).not.toContain("\u001b");
    expect(evil).toContain("evil\uFFFD[31mred\uFFFDx");
  });

  it("adds the category table on request", () => {
    expect(text).not.toContain("by category");
    expect(formatTerminal(table, { categories: true })).toContain("Convergence by category (CIR)");
  });
});
