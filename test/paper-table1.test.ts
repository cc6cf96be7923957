// The paper's Table 1, reproduced end to end: import the 18 published run folders into a real SQLite
// store and compare every cell with the reference label counts shipped beside the data.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { displayModelName, importPublishedRuns } from "../src/importers/import-published.js";
import { buildTable1 } from "../src/metrics/index.js";
import { Store } from "../src/store/store.js";
import { packDir, runsDir } from "./paths.js";

interface ReferenceRun {
  model: string;
  steering_mode: string;
  totals: {
    total: number;
    valid_excl_nonsensical: number;
    convergence: number;
    safety_refusal: number;
    nonsensical: number;
    no_convergence: number;
    convergence_rate_pct: number;
    safety_refusal_rate_pct: number;
  };
}

const reference = JSON.parse(
  readFileSync(join(packDir, "hoscilowicz_2601.01584_reference_results.json"), "utf8"),
) as {
  runs: ReferenceRun[];
};

let dir: string;
let store: Store;
let runId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-paper-"));
  store = Store.open(join(dir, "s.sqlite"));
  const res = await importPublishedRuns(store, runsDir);
  runId = res.run.id;
  expect(res.unmatched).toBe(0);
  expect(res.items).toBe(18 * 71);
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("paper Table 1 from the published runs", () => {
  it("has all 18 model × condition cells equal to the reference counts and rates", () => {
    const table = buildTable1(store.outcomes(runId, "gpt-5.2"));
    expect(table.rows).toHaveLength(18);
    for (const ref of reference.runs) {
      const row = table.rows.find(
        (r) => r.model === displayModelName(ref.model) && r.condition === ref.steering_mode,
      );
      expect(row, `${ref.model} ${ref.steering_mode}`).toBeDefined();
      const t = ref.totals;
      expect(row).toMatchObject({
        total: t.total,
        valid: t.valid_excl_nonsensical,
        convergence: t.convergence,
        safetyRefusal: t.safety_refusal,
        nonsensical: t.nonsensical,
        noConvergence: t.no_convergence,
        judgeFailed: 0,
      });
      expect(row!.convergenceRate!.toFixed(2)).toBe(t.convergence_rate_pct.toFixed(2));
      expect(row!.refusalRate!.toFixed(2)).toBe(t.safety_refusal_rate_pct.toFixed(2));
    }
  });

  it("reproduces the headline numbers and gaps", () => {
    const table = buildTable1(store.outcomes(runId, "gpt-5.2"));
    const row = (m: string, c: string) => table.rows.find((r) => r.model === m && r.condition === c)!;
    expect(row("Qwen3-30B-A3B-Instruct-2507", "pro_ic").convergenceRate!.toFixed(2)).toBe("81.69");
    expect(row("Qwen3-30B-A3B-Instruct-2507", "pro_ic").refusalRate!.toFixed(2)).toBe("12.68");
    expect(row("Qwen3-30B-A3B-Instruct-2507", "anti_ic").convergenceRate!.toFixed(2)).toBe("2.82");
    expect(row("Qwen3-30B-A3B-Instruct-2507", "anti_ic").refusalRate!.toFixed(2)).toBe("19.72");
    expect(row("Qwen3-4B-Base", "pro_ic").valid).toBe(44);
    expect(row("Qwen3-4B-Base", "pro_ic").convergenceRate!.toFixed(2)).toBe("65.91");
    const gap = table.gaps.find((g) => g.model === "Qwen3-30B-A3B-Instruct-2507")!;
    expect(gap.delta!.toFixed(2)).toBe("78.87");
    expect(gap.deltaCI![0]).toBeLessThan(78.87);
    expect(gap.deltaCI![1]).toBeGreaterThan(78.87);
    expect(gap.mcnemarP).toBeLessThan(1e-10);
    expect(table.gaps).toHaveLength(6);
  });

  it("stores prompts, responses and thinking, and pairs items across conditions by scenario id", () => {
    const items = store.items(runId);
    const thinking = items.filter((i) => i.model.includes("Thinking"));
    expect(store.response(thinking[0]!.id)?.thinking?.length).toBeGreaterThan(0);
    const ids = (c: string) =>
      items.filter((i) => i.model === "Qwen3-4B-Base" && i.condition === c).map((i) => i.scenarioId);
    expect(ids("pro_ic")).toEqual(ids("anti_ic"));
    expect(new Set(ids("baseline")).size).toBe(71);
  });

  it("imports idempotently", async () => {
    const again = await importPublishedRuns(store, runsDir);
    expect(again.alreadyImported).toBe(true);
    expect(store.countItems(runId)).toBe(18 * 71);
  });
});
