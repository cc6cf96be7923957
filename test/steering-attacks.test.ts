// `compare --attacks` end to end on the 260K fixture: a vector from the built-in pairs, an addition sweep
// (with its control), a rotation sweep, a run with a directional-ablation condition, a baked weight edit run
// unsteered, then the attack-surface table (terminal, JSON, HTML). Labels are meaningless on this model; what
// is checked is that every attack class gets its row, against the same reference, with the right
// denominators and costs.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { modelLabel, parseRunConfig } from "../src/config/run-config.js";
import { runEvaluation } from "../src/runner/run.js";
import type { AttackTable } from "../src/steering/attacks.js";
import { Store } from "../src/store/store.js";
import { cliInProcess } from "./helpers/cli-in-process.js";
import { packDir, tinyModel } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-attacks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliInProcess;

const local = ["--threads", "1", "--context-size", "128"];
const HELD_OUT = "evading-shutdown";
const storePath = join(dir, "attacks.sqlite");
const vector = join(dir, "v.gguf");
const baked = join(dir, "baked.gguf");
const judge = { model: tinyModel, provider: "llama", mode: "score", threads: 1, contextSize: 128 };
const common = ["--limit", "2", "--judge", tinyModel, "--judge-mode", "score", "--max-tokens", "8"];

async function plainRun(model: string, conditions: unknown[]): Promise<void> {
  const store = Store.open(storePath);
  try {
    const config = parseRunConfig({
      limit: 2,
      categories: [HELD_OUT],
      concurrency: 1,
      conditions,
      models: [{ model, provider: "llama", threads: 1, contextSize: 128 }],
      judges: [judge],
      decoding: { maxTokens: 8 },
      retry: { retries: 0 },
    });
    await runEvaluation({ config, store, packDir });
  } finally {
    store.close();
  }
}

describe("compare --attacks", () => {
  it("builds one row per attack class against the unsteered baseline, with denominators and costs", async () => {
    await cli([
      "vectors",
      "extract",
      "--model",
      tinyModel,
      "--data",
      packDir,
      "--selection",
      "max=1",
      "--holdout-categories",
      HELD_OUT,
      "--out",
      vector,
      "--quiet",
      ...local,
    ]);
    const sweep = await cli([
      "sweep",
      "--model",
      tinyModel,
      "--vector",
      vector,
      "--strengths",
      "-4,4",
      "--categories",
      HELD_OUT,
      ...common,
      "--data",
      packDir,
      "--store",
      storePath,
      "--quiet",
      ...local,
    ]);
    expect(sweep.stdout).toContain("Vector vs random-direction control");
    const rotate = await cli([
      "sweep",
      "--model",
      tinyModel,
      "--vector",
      vector,
      "--layers",
      "auto",
      "--mode",
      "rotate",
      "--strengths",
      "0.5",
      "--no-control",
      "--no-prompt-steering",
      "--no-sign-check",
      "--categories",
      HELD_OUT,
      ...common,
      "--data",
      packDir,
      "--store",
      storePath,
      "--quiet",
      ...local,
    ]);
    // Every layer of the fixture's vector has opposite-sign class means: auto keeps the whole run.
    expect(rotate.stdout).toMatch(
      /--layers auto chose layers 1-3: class means project with opposite signs at 1-3/,
    );
    const bake = await cli([
      "vectors",
      "bake",
      "--model",
      tinyModel,
      "--vector",
      vector,
      "--mode",
      "ablate",
      "--out",
      baked,
    ]);
    expect(bake.stdout).toMatch(
      /ablated direction\.\d from 9 tensors: the token embedding and the residual-stream writers of blocks 0-3/,
    );
    await expect(
      cli([
        "vectors",
        "bake",
        "--model",
        tinyModel,
        "--vector",
        vector,
        "--mode",
        "add",
        "--strength",
        "2",
        "--out",
        join(dir, "x.gguf"),
      ]),
    ).rejects.toThrow(/Llama has no attention-output or FFN-down biases/);
    const ablate = { name: "ablate", activation: { vector, strength: 1, mode: "ablate" } };
    await plainRun(tinyModel, ["baseline", ablate]);
    await plainRun(baked, ["baseline"]);

    const html = join(dir, "attacks.html");
    const text = await cli(["compare", "--attacks", "--store", storePath, "--data", packDir, "--html", html]);
    expect(text.stdout).toContain(`Attack surface: ${modelLabel({ model: tinyModel, provider: "llama" })}`);
    expect(text.stdout).toContain("reference baseline");
    const json = JSON.parse(
      (await cli(["compare", "--attacks", "--store", storePath, "--data", packDir, "--format", "json"]))
        .stdout,
    ) as AttackTable[];
    expect(json).toHaveLength(1);
    const t = json[0]!;
    expect(t.reference).toBe("baseline");
    expect(t.rows.map((r) => [r.side, r.attack])).toEqual([
      ["attacker", "prompt suffix (pro_ic)"],
      ["attacker", "activation addition"],
      ["attacker", "norm-preserving rotation"],
      ["attacker", "directional ablation"],
      ["attacker", "baked weight edit"],
      ["builder", "prompt suffix (anti_ic)"],
      ["builder", "activation addition (negative)"],
    ]);
    const by = new Map(t.rows.map((r) => [r.attack, r]));
    expect(by.get("activation addition")!.condition).toBe("act+4");
    expect(by.get("norm-preserving rotation")!.condition).toBe("rot+0.5");
    expect(by.get("directional ablation")!.condition).toBe("ablate");
    expect(by.get("baked weight edit")!.model).toBe(modelLabel({ model: baked, provider: "llama" }));
    expect(by.get("activation addition (negative)")!.condition).toBe("act-4");
    for (const r of t.rows) {
      // Two items each side, all paired with the baseline's by (scenario, epoch).
      expect(r.gap, r.attack).not.toBeNull();
      expect(r.gap!.low).toBe("baseline");
      expect(r.gap!.pairs).toBeLessThanOrEqual(2);
      expect(r.gap!.discordant.highOnly + r.gap!.discordant.lowOnly).toBeLessThanOrEqual(r.gap!.pairs);
      expect(r.gap!.mcnemarP).toBeGreaterThan(0);
      expect(r.cost.sideEffects, r.attack).toBeDefined();
      expect(r.cost.sideEffects!.prompts).toBe(12);
      expect(r.cost.perplexityRatio, r.attack).toBeGreaterThan(0);
    }
    // The baked edit and the strong vector disturb the next token; the prompt suffix changes the prompt.
    expect(by.get("baked weight edit")!.cost.sideEffects!.klMean).toBeGreaterThan(0);
    expect(by.get("activation addition")!.cost.sideEffects!.klMean).toBeGreaterThan(0);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("<svg");
    expect(page).toContain("Cost against effect");
    expect(page).toContain("directional ablation");
    expect(page).not.toMatch(/<script/);
  });
});
