// Every terminal table shows outside text (model, judge, condition, category and file names: anything a
// config, a store or a server holds) without its control characters, so none can move the cursor,
// recolour the screen or break a box. One check over every text formatter's terminal output.
import { describe, expect, it } from "vitest";
import { buildTable1 } from "../src/metrics/table1.js";
import { compareOutcomes } from "../src/reliability/compare.js";
import { formatAgreement, formatComparison, formatSensitivity } from "../src/reliability/format.js";
import { agreementReport } from "../src/reliability/multi-judge.js";
import { promptSensitivity } from "../src/reliability/sensitivity.js";
import { formatTerminal } from "../src/report/table-terminal.js";
import { formatVectorInfo } from "../src/steering/format.js";
import { Store } from "../src/store/store.js";
import type { Label } from "../src/types.js";

// An ANSI colour, a bell, a carriage return, a line break, a C1 CSI and an OSC title change.
const EVIL = "ev\u001b[31mil\u0007\r\n\u009b2J\u001b]0;pwned\u0007";
const name = (s: string) => `${s}-${EVIL}`;
// Anything that controls a terminal, except the line breaks between lines of output.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const LABELS: Label[] = ["convergence", "no_convergence", "safety_refusal", "nonsensical"];
const outcomes = (shift: number) =>
  Array.from({ length: 16 }, (_, i) => ({
    itemId: i + 1,
    model: name("model"),
    condition: i < 8 ? "pro_ic" : "anti_ic",
    scenarioId: `s${i % 8}`,
    category: name("category"),
    epoch: 0,
    label: LABELS[(i + shift) % 4],
    judgeFailed: false,
  }));

function expectClean(text: string): void {
  expect(text).toContain("ev\uFFFD[31mil");
  expect(text).not.toMatch(CONTROL_BUT_NEWLINE);
}

describe("terminal output strips control characters from outside text", () => {
  it("Table 1", () => {
    expectClean(formatTerminal(buildTable1(outcomes(0)), { categories: true }));
  });

  it("judge check and prompt sensitivity", () => {
    const ref = outcomes(0);
    const a = compareOutcomes(ref, outcomes(1), { reference: name("ref"), candidate: name("a") });
    const b = compareOutcomes(ref, outcomes(2), { reference: name("ref"), candidate: name("b") });
    expectClean(formatComparison(a, "terminal"));
    expectClean(formatSensitivity(promptSensitivity([a, b]), "terminal"));
  });

  it("judge agreement", () => {
    const store = Store.open(":memory:");
    try {
      store.createRun({ id: "r", name: "r", kind: "live", config: {}, versions: {} });
      const items = store.addItems(
        "r",
        outcomes(0).map((o) => ({
          model: o.model,
          condition: o.condition,
          scenarioId: o.scenarioId,
          category: o.category,
          epoch: 0,
          seed: null,
          context: "",
          systemPrompt: undefined,
          userPrompt: "p",
        })),
      );
      for (const [shift, judge] of [name("judge one"), name("judge two")].entries()) {
        items.forEach((item, i) => {
          store.saveJudgement({
            itemId: item.id,
            judge,
            status: "ok",
            label: LABELS[(i + shift) % 4]!,
            reason: null,
            raw: null,
            scores: null,
            error: null,
            latencyMs: null,
          });
        });
      }
      expectClean(formatAgreement(agreementReport(store, "r", { replicates: 0 }), "terminal"));
    } finally {
      store.close();
    }
  });

  it("steering vector info", () => {
    const vec = {
      nEmbd: 2,
      modelHint: name("hint"),
      directions: new Map([[1, Float32Array.from([0.6, 0.8])]]),
    };
    expectClean(formatVectorInfo(name("file"), vec, "terminal"));
  });
});
