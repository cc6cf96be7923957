// Activation steering end to end on the tiny GGUF, through the real run engine, the llama provider and the
// label-scoring llama judge: a config with activation conditions, the `vectors`, `sweep` and `compare`
// verbs, the stored sweep run (kind, strengths, perplexities) and its resume. Labels are meaningless on this
// model; what is checked is that steering reaches the model, is recorded, and is reported.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRunConfig } from "../src/config/run-config.js";
import { readControlVector, writeControlVector } from "../src/gguf/vector-file.js";
import { runEvaluation } from "../src/runner/run.js";
import { storedSweep } from "../src/steering/sweep.js";
import { Store } from "../src/store/store.js";
import { cliInProcess } from "./helpers/cli-in-process.js";
import { packDir, tinyModel } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-sweep-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const direction = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i * 1.3));
const vectorPath = join(dir, "planted.gguf");
const wrongPath = join(dir, "wrong-width.gguf");
beforeAll(() => {
  writeControlVector(vectorPath, {
    directions: new Map([
      [1, direction],
      [2, direction],
    ]),
    nEmbd: 64,
    modelHint: "llama",
  });
  writeControlVector(wrongPath, {
    directions: new Map([[1, new Float32Array(32).fill(1)]]),
    nEmbd: 32,
    modelHint: "llama",
  });
});

const cli = cliInProcess;

const local = ["--threads", "1", "--context-size", "128"];

describe("activation conditions in an ordinary run", () => {
  it("steer the llama provider, leave strength 0 identical to no steering, and record bad vectors as errors", async () => {
    const store = Store.open(join(dir, "run.sqlite"));
    try {
      const config = parseRunConfig({
        limit: 2,
        concurrency: 1,
        conditions: [
          "baseline",
          { name: "zero", activation: { vector: vectorPath, strength: 0 } },
          { name: "push", activation: { vector: vectorPath, strength: 6, layers: [1, 2] } },
          { name: "push-np", activation: { vector: vectorPath, strength: 6, normPreserving: true } },
          { name: "bad", activation: { vector: wrongPath, strength: 1 } },
        ],
        models: [{ model: tinyModel, provider: "llama", threads: 1, contextSize: 128 }],
        judges: [{ model: tinyModel, provider: "llama", mode: "score", threads: 1, contextSize: 128 }],
        decoding: { maxTokens: 12 },
        retry: { retries: 0 },
      });
      const summary = await runEvaluation({ config, store, packDir });
      expect(summary.items).toBe(10);
      expect(summary.generationErrors).toBe(2);
      const items = store.items(summary.run.id);
      const text = (condition: string) =>
        items.filter((i) => i.condition === condition).map((i) => store.response(i.id)!);
      const base = text("baseline").map((r) => r.response);
      expect(text("zero").map((r) => r.response)).toEqual(base);
      const pushed = text("push").map((r) => r.response);
      expect(pushed).not.toEqual(base);
      expect(text("push-np").map((r) => r.response)).not.toEqual(pushed);
      expect(JSON.parse(text("push")[0]!.requestJson!).steering).toEqual({
        vector: vectorPath,
        strength: 6,
        layers: [1, 2],
      });
      for (const r of text("bad")) {
        expect(r.status).toBe("error");
        expect(r.error).toContain(`control vector ${wrongPath} has n_embd 32, but the model has n_embd 64`);
      }
      // Every generated item got a label-scoring verdict.
      const judged = store.judgements(summary.run.id);
      expect(judged).toHaveLength(8);
      expect(judged.every((j) => j.status === "ok" && j.scores !== null)).toBe(true);
    } finally {
      store.close();
    }
  });
});

describe("the vectors, sweep and compare verbs", () => {
  const storePath = join(dir, "sweep.sqlite");
  const extracted = join(dir, "builtin.gguf");

  it("vectors extract writes a control vector and prints the per-layer AUC table; info reads it back", async () => {
    const { stdout } = await cli([
      "vectors",
      "extract",
      "--model",
      tinyModel,
      "--data",
      packDir,
      "--selection",
      "max=1",
      "--layers",
      "1-2",
      "--method",
      "pca",
      "--holdout",
      "0.34",
      "--seed",
      "4",
      "--out",
      extracted,
      "--quiet",
      ...local,
    ]);
    expect(stdout).toContain("Steering vectors (pca) from 6 pairs: 4 train, 2 held out");
    expect(stdout).toMatch(/│\s+2 │/);
    expect(stdout).toContain(`wrote ${extracted}`);
    const info = await cli(["vectors", "info", extracted, "--format", "json"]);
    const parsed = JSON.parse(info.stdout) as {
      layers: number[];
      nEmbd: number;
      meta: { method: string; pairCount: number };
    };
    expect(parsed.layers).toEqual([1, 2]);
    expect(parsed.nEmbd).toBe(64);
    expect(parsed.meta).toMatchObject({ method: "pca", pairCount: 6 });
    // --split-by category holds out a seeded half of the categories and records them.
    const split = join(dir, "split.gguf");
    const splitOut = await cli([
      "vectors",
      "extract",
      "--model",
      tinyModel,
      "--data",
      packDir,
      "--selection",
      "max=1",
      "--layers",
      "1",
      "--split-by",
      "category",
      "--seed",
      "3",
      "--out",
      split,
      "--quiet",
      ...local,
    ]);
    expect(splitOut.stdout).toContain("from 3 pairs");
    const held = readControlVector(split).meta!.holdoutCategories!;
    expect(held).toHaveLength(3);
    expect(splitOut.stdout).toContain(`held out categories ${held.join(", ")}`);
    await expect(
      cli([
        "vectors",
        "extract",
        "--model",
        tinyModel,
        "--pairs",
        join(dir, "nope.jsonl"),
        "--out",
        join(dir, "x.gguf"),
      ]),
    ).rejects.toThrow(/nope\.jsonl: ENOENT/);
  });

  it("sweep runs three strengths as one stored, resumable sweep run and reports the curve", async () => {
    const args = [
      "sweep",
      "--model",
      tinyModel,
      "--vector",
      extracted,
      "--strengths",
      "-4,4",
      "--limit",
      "2",
      "--judge",
      tinyModel,
      "--judge-mode",
      "score",
      "--max-tokens",
      "12",
      "--data",
      packDir,
      "--store",
      storePath,
      "--quiet",
      ...local,
    ];
    const first = await cli(args);
    // 3 strengths, the default 3 random-direction controls (seeds 0-2) at ±4, pro_ic and anti_ic:
    // 11 conditions × 2 items.
    expect(first.stderr).toContain("this session generated 22, judged 22");
    expect(first.stdout).toContain("Steerability curve:");
    for (const c of ["act-4", "act0", "act+4"]) expect(first.stdout).toContain(c);
    expect(first.stdout).toContain("strongest + vs −");
    expect(first.stdout).toMatch(/act\+4 − act-4/);
    expect(first.stdout).toContain("breakdown point");
    expect(first.stdout).toMatch(/\(×1\.00\)/);
    expect(first.stdout).toContain("Vector vs random-direction control (same per-layer norm)");
    expect(first.stdout).toMatch(/specificity Δ\(vector\)\/Δ\(control\) at \+4 vs -4 over 2 items/);
    expect(first.stdout).toMatch(/random-direction controls over 3 seeds \(0, 1, 2\) at \+4 vs -4, 2 items/);
    expect(first.stdout).toMatch(
      /sign check at layer 3 on 16 pairs \(all categories; they may overlap the extraction pairs\): (passed|FAILED)/,
    );
    expect(first.stdout).toContain("KL nats [95% CI]");

    const store = Store.open(storePath);
    try {
      const run = store.listRuns()[0]!;
      expect(run.kind).toBe("sweep");
      const sweep = storedSweep(run)!;
      expect(sweep.strengths).toEqual({ "act-4": -4, act0: 0, "act+4": 4 });
      expect(Object.keys(sweep.perplexity!.byCondition).sort()).toEqual([
        "act+4",
        "act-4",
        "act0",
        "anti_ic",
        "ctl+4",
        "ctl-4",
        "ctl.s1+4",
        "ctl.s1-4",
        "ctl.s2+4",
        "ctl.s2-4",
        "pro_ic",
      ]);
      expect(sweep.control).toMatchObject({ seed: 0, strengths: { "ctl-4": -4, "ctl+4": 4 } });
      expect(sweep.control!.extra!.map((c) => [c.seed, c.strengths])).toEqual([
        [1, { "ctl.s1-4": -4, "ctl.s1+4": 4 }],
        [2, { "ctl.s2-4": -4, "ctl.s2+4": 4 }],
      ]);
      // The control has the vector's per-layer norm and another direction.
      const v = readControlVector(extracted);
      const c = readControlVector(sweep.control!.vector);
      for (const il of [1, 2]) {
        const a = v.directions.get(il)!;
        const b = c.directions.get(il)!;
        expect(Math.hypot(...b)).toBeCloseTo(Math.hypot(...a), 4);
        expect(Math.abs(a.reduce((s, x, k) => s + x * b[k]!, 0)) / Math.hypot(...a) ** 2).toBeLessThan(0.9);
      }
      const se = sweep.sideEffects!.byCondition;
      expect(se.act0).toMatchObject({ klMean: 0, changed: 0, prompts: 12 });
      expect(se["act+4"]!.klMean).toBeGreaterThan(0);
      expect(sweep.signCheck!.shifts.map((x) => x.strength)).toEqual([4, -4]);
      expect(sweep.signCheck!.pairs).toBe(16);
      // Strength 0 is exactly the unsteered passage; steering changes it.
      expect(sweep.perplexity!.byCondition.act0!.logProb).toBe(sweep.perplexity!.reference.logProb);
      expect(sweep.perplexity!.byCondition["act+4"]!.logProb).not.toBe(sweep.perplexity!.reference.logProb);
      expect(store.countItems(run.id)).toBe(22);
    } finally {
      store.close();
    }

    // The same command again resumes: nothing is generated twice, and JSON output is pure JSON.
    const again = await cli([...args, "--format", "json"]);
    expect(again.stderr).toContain("22 items; this session generated 0, judged 0");
    const analyses = JSON.parse(again.stdout) as { points: { strength: number; total: number }[] }[];
    expect(analyses[0]!.points.map((p) => [p.strength, p.total])).toEqual([
      [-4, 2],
      [0, 2],
      [4, 2],
    ]);
  });

  it("compare puts prompt and activation steering side by side with their perplexity cost", async () => {
    const { stdout } = await cli(["compare", "--store", storePath]);
    expect(stdout).toContain("Prompt vs activation steering");
    expect(stdout).toContain("pro_ic − anti_ic");
    expect(stdout).toContain("act+4 − act-4 (strength 4 vs -4)");
    expect(stdout).toMatch(/\(×\d+\.\d\d\)/);
    const json = JSON.parse((await cli(["compare", "--store", storePath, "--format", "json"])).stdout) as {
      prompt: { gap: { pairs: number }; sideEffects: { low?: { klMean: number } } };
      activation: {
        highStrength: number;
        perplexity: { highRatio: number };
        sideEffects: { high?: { prompts: number } };
      };
    }[];
    expect(json).toHaveLength(1);
    expect(json[0]!.prompt.gap.pairs).toBeLessThanOrEqual(2);
    expect(json[0]!.activation.highStrength).toBe(4);
    expect(json[0]!.activation.perplexity.highRatio).toBeGreaterThan(0);
    // The sweep's next-token side effects, per side.
    expect(stdout).toContain("KL high [95% CI] / changed");
    expect(json[0]!.activation.sideEffects.high!.prompts).toBe(12);
    expect(json[0]!.prompt.sideEffects.low!.klMean).toBeGreaterThan(0);
  });

  it("sweep refuses a missing vector and a bad prompt condition", async () => {
    await expect(
      cli(["sweep", "--model", tinyModel, "--vector", join(dir, "none.gguf"), "--judge", tinyModel]),
    ).rejects.toThrow(/--vector: file not found/);
    await expect(
      cli([
        "sweep",
        "--model",
        tinyModel,
        "--vector",
        extracted,
        "--judge",
        tinyModel,
        "--with-prompt",
        "conflict",
      ]),
    ).rejects.toThrow(/--with-prompt must be one of baseline, pro_ic, anti_ic/);
    const base = ["sweep", "--model", tinyModel, "--vector", extracted, "--judge", tinyModel];
    await expect(cli([...base, "--control-seeds", "0"])).rejects.toThrow(
      /--control-seeds must be at least 1, got 0 \(to run none, give --no-control\)/,
    );
    await expect(cli([...base, "--no-control", "--control-seeds", "2"])).rejects.toThrow(
      /--control-seeds needs the control; drop --no-control/,
    );
    // The default's own value given explicitly is refused too (it was taken for the default).
    await expect(cli([...base, "--no-control", "--control-seeds", "3"])).rejects.toThrow(
      /--control-seeds needs the control; drop --no-control/,
    );
  });
});
