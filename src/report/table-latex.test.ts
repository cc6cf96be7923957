import { describe, expect, it } from "vitest";
import { buildTable1, type Outcome } from "../metrics/table1.js";
import { escapeLatex, formatLatex } from "./table-latex.js";

const outcome = (model: string, condition: string, id: string): Outcome => ({
  model,
  condition,
  scenarioId: id,
  category: "cat",
  epoch: 0,
  label: "convergence",
  judgeFailed: false,
});

/** Cells of a tabular row, splitting on unescaped &. */
const cells = (line: string): string[] => line.replace(/ \\\\$/, "").split(/(?<!\\)&/);

describe("escapeLatex", () => {
  it("escapes every special character once", () => {
    expect(escapeLatex("a_b & c% $d #e {f} ~g ^h \\i")).toBe(
      "a\\_b \\& c\\% \\$d \\#e \\{f\\} \\textasciitilde{}g \\textasciicircum{}h \\textbackslash{}i",
    );
    expect(escapeLatex("[x] <y> |z|")).toBe("{[}x{]} \\textless{}y\\textgreater{} \\textbar{}z\\textbar{}");
    expect(escapeLatex("pro − anti, Δ")).toBe("pro -- anti, $\\Delta$");
  });
});

describe("formatLatex", () => {
  const model = "org/model_v2 & 50% $cheap";
  const tex = formatLatex(buildTable1([outcome(model, "pro_ic", "s1"), outcome(model, "anti_ic", "s1")]));
  const lines = tex.split("\n");

  it("writes booktabs tabulars whose rows match the column spec", () => {
    const begin = lines.find((l) => l.startsWith("\\begin{tabular}"))!;
    const spec = begin.match(/\{([lr]+)\}$/)![1]!;
    expect(spec).toBe("llrrrrrrrrr");
    const rows = lines.filter((l) => l.endsWith(" \\\\"));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const r of rows.slice(0, 3)) expect(cells(r)).toHaveLength(spec.length);
    expect(tex).toContain("\\toprule");
    expect(tex).toContain("\\bottomrule");
    expect(tex.match(/\\begin\{tabular\}/g)).toHaveLength(2);
    expect(tex.match(/\\end\{tabular\}/g)).toHaveLength(2);
  });

  it("escapes model names and keeps the numbers", () => {
    const row = lines.find((l) => l.includes("pro\\_ic") && !l.includes("--"))!;
    expect(cells(row)[0]!.trim()).toBe("org/model\\_v2 \\& 50\\% \\$cheap");
    // 1/1: 100.00 [20.7, 100.0] (Wilson lower bound for 1/1 is 20.65%)
    expect(row).toContain("100.00 {[}20.7, 100.0{]}");
    expect(tex).toContain("pro\\_ic -- anti\\_ic");
  });
});
