// Byte-for-byte check of prompt construction and selection against the 18 published runs of 2601.01584:
// every logged steered prompt must equal what buildPrompt produces for the same scenario and mode, and
// every run must visit the scenarios in the order selectScenarios("paper") gives.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { packDir, runsDir } from "../../test/paths.js";
import { loadPack } from "../data/pack.js";
import { selectScenarios } from "../data/selection.js";
import { type PublishedRun, parsePublishedRun } from "../importers/hoscilowicz-log.js";
import type { Category, Pack, Scenario } from "../types.js";
import { pyStrip } from "../util/pystr.js";
import { buildPrompt } from "./build-prompt.js";
import { resolveConditions } from "./conditions.js";

const runFolders = readdirSync(runsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

let pack: Pack;
let runs: PublishedRun[];

beforeAll(async () => {
  pack = await loadPack(packDir);
  runs = await Promise.all(runFolders.map((f) => parsePublishedRun(join(runsDir, f))));
});

describe("published 2601.01584 runs", () => {
  it("are 18 runs: 6 models × baseline/pro_ic/anti_ic, 71 items each", () => {
    expect(runFolders).toHaveLength(18);
    expect(runs.map((r) => r.items.length)).toEqual(new Array(18).fill(71));
    const modes = runs.map((r) => r.config.STEERING_MODE).sort();
    expect(new Set(modes)).toEqual(new Set(["baseline", "pro_ic", "anti_ic"]));
    for (const mode of ["baseline", "pro_ic", "anti_ic"])
      expect(modes.filter((m) => m === mode)).toHaveLength(6);
  });

  it("every logged steered prompt equals buildPrompt(...).user for its scenario and mode, byte for byte", () => {
    const conditions = new Map(
      resolveConditions(["baseline", "pro_ic", "anti_ic"], pack.strings).map((c) => [c.name, c]),
    );
    const byText = new Map<string, { category: Category; scenario: Scenario }>();
    for (const category of pack.categories) {
      for (const scenario of category.scenarios)
        byText.set(`${category.name}\0${scenario.prompt}`, { category, scenario });
    }
    let checked = 0;
    for (const run of runs) {
      const condition = conditions.get(run.config.STEERING_MODE);
      expect(condition, run.dir).toBeDefined();
      for (const item of run.items) {
        const found = byText.get(`${item.benchmark}\0${item.taskPrompt}`);
        expect(found, `${run.dir}: line ${item.line}: task text not in the pack`).toBeDefined();
        const built = buildPrompt(found!.category, found!.scenario, condition!, {
          strings: pack.strings,
          defaultSystem: { kind: "category" },
        });
        if (built.user !== item.steeredPrompt) {
          expect.fail(
            `${run.dir}: line ${item.line}: steered prompt differs\n${JSON.stringify(built.user)}\n${JSON.stringify(item.steeredPrompt)}`,
          );
        }
        // The task model's system message is the stripped category context.
        expect(built.system).toBe(pyStrip(found!.category.context));
        checked++;
      }
    }
    expect(checked).toBe(18 * 71);
  });

  it("visits scenarios in the order of the paper selection, with task_number counting within a category", () => {
    const order = selectScenarios(pack, "paper");
    expect(order).toHaveLength(71);
    for (const run of runs) {
      const logged = run.items.map((it) => `${it.benchmark}\0${it.taskPrompt}`);
      const expected = order.map(({ category, scenario }) => `${category.name}\0${scenario.prompt}`);
      expect(logged, run.dir).toEqual(expected);
      const perCategory = new Map<string, number>();
      for (const it of run.items) {
        const n = (perCategory.get(it.benchmark) ?? 0) + 1;
        perCategory.set(it.benchmark, n);
        expect(it.taskNumber).toBe(n);
      }
    }
  });

  it("the pro/anti suffix really changes the prompt (the check above is not vacuous)", () => {
    const pro = runs.find((r) => r.config.STEERING_MODE === "pro_ic")!;
    const base = runs.find((r) => r.config.STEERING_MODE === "baseline")!;
    expect(pro.items[0]!.steeredPrompt).not.toBe(pro.items[0]!.taskPrompt);
    expect(pro.items[0]!.steeredPrompt.endsWith(`${pyStrip(pack.strings.proIcSuffix)}\n`)).toBe(true);
    expect(base.items[0]!.steeredPrompt).toBe(base.items[0]!.taskPrompt);
  });
});
