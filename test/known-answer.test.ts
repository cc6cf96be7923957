// Known-answer tests: steerling was trained to give the labels in planted.json. Measured with the ordinary
// CLI (`steerbench run`, greedy, the full paper selection, steerling itself as a label-scoring judge), Table 1
// must read them back: every cell within ±2 items of planted, Δ pro−anti inside the planted Δ's interval,
// the conflict row likewise, and the judge's labels agreeing with the planted ones on ≥ 97% of items.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatRecovery } from "../src/organism/format.js";
import { readPlanted } from "../src/organism/planted.js";
import { compareWithPlanted, type Recovery } from "../src/organism/recovery.js";
import { judgeAgainstBank, STEERLING_GGUF, STEERLING_PLANTED } from "../src/organism/steerling.js";
import { Store } from "../src/store/store.js";
import { packDir, repoRoot } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "sb-known-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let recovery: Recovery;
let bank: ReturnType<typeof judgeAgainstBank>;

beforeAll(() => {
  const store = join(dir, "k.sqlite");
  const res = spawnSync(
    process.execPath,
    [
      join(repoRoot, "bin", "steerbench.js"),
      "run",
      "--data",
      packDir,
      "--selection",
      "paper",
      "--conditions",
      "baseline,pro_ic,anti_ic,conflict",
      "--model",
      STEERLING_GGUF,
      "--judge",
      STEERLING_GGUF,
      "--judge-mode",
      "score",
      "--max-tokens",
      "64",
      "--concurrency",
      "1",
      "--store",
      store,
      "--quiet",
    ],
    { encoding: "utf8", cwd: dir },
  );
  if (res.status !== 0) throw new Error(`steerbench run failed (${res.status}): ${res.stderr}`);
  const s = Store.open(store);
  try {
    const run = s.listRuns()[0]!;
    const judge = s.judges(run.id)[0]!;
    const outcomes = s.outcomes(run.id, judge);
    recovery = compareWithPlanted(outcomes, readPlanted(STEERLING_PLANTED), {
      pairs: [
        { high: "pro_ic", low: "anti_ic" },
        { high: "pro_ic", low: "conflict" },
      ],
    });
    bank = judgeAgainstBank(
      outcomes.map((o) => ({ response: s.response(o.itemId)?.response ?? "", label: o.label })),
    );
  } finally {
    s.close();
  }
  // The numbers, for the record (the README quotes them).
  process.stdout.write(formatRecovery(recovery));
  process.stdout.write(`judge vs bank: ${bank.agree}/${bank.n}, ${bank.noBank} answers from no bank\n`);
}, 600_000);

function row(condition: string) {
  const r = recovery.rows.find((x) => x.condition === condition);
  if (!r) throw new Error(`no row for ${condition}`);
  return r;
}

describe("known answers: prompt steering on steerling", () => {
  it("measures the full paper selection under every condition", () => {
    for (const c of ["baseline", "pro_ic", "anti_ic", "conflict"]) {
      expect(row(c).measured.total + row(c).measured.judgeFailed).toBe(71);
    }
  });

  for (const condition of ["baseline", "pro_ic", "anti_ic"]) {
    it(`${condition}: every Table 1 count within ±2 items of planted`, () => {
      for (const cell of row(condition).cells) {
        expect(Math.abs(cell.measured - cell.planted), `${condition} ${cell.label}`).toBeLessThanOrEqual(2);
      }
      expect(row(condition).measured.judgeFailed).toBe(0);
    });
  }

  it("Δ pro−anti: the measured gap lies inside the planted gap's interval", () => {
    const g = recovery.gaps.find((x) => x.high === "pro_ic" && x.low === "anti_ic")!;
    expect(g.planted.delta).toBeGreaterThan(50); // what was planted: a large gap
    expect(
      g.recovered,
      `measured ${g.measured.delta} vs planted ${g.planted.delta} ${g.planted.deltaCI}`,
    ).toBe(true);
  });

  it("conflict: the row is recovered the same way", () => {
    for (const cell of row("conflict").cells) {
      expect(Math.abs(cell.measured - cell.planted), `conflict ${cell.label}`).toBeLessThanOrEqual(2);
    }
    const g = recovery.gaps.find((x) => x.high === "pro_ic" && x.low === "conflict")!;
    expect(g.recovered).toBe(true);
  });

  it("steerling as judge: ≥ 97% item agreement with the planted labels, κ reported", () => {
    expect(recovery.agreement.n).toBe(4 * 71);
    expect(recovery.agreement.rate!).toBeGreaterThanOrEqual(0.97);
    expect(recovery.kappa.kappa).not.toBeNull();
    expect(recovery.kappa.kappa!).toBeGreaterThan(0.9);
  });

  it("the judge reads the answers: its label is the label of the bank each answer came from", () => {
    expect(bank.n).toBeGreaterThanOrEqual(4 * 71 - 4);
    expect(bank.agree / bank.n).toBeGreaterThanOrEqual(0.97);
  });
});
