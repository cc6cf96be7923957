// `layers: auto` in a run config, end to end on steerling (1 thread, one item per condition, 8 tokens): the
// run chooses the layers from the vector file once, prints them with the reason, stores them with the run
// (so `runs`, the report and a resume show the same), and chooses what `sweep --layers auto` chooses.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { conditionsOf, readStoredConfig } from "../src/config/stored-config.js";
import { buildSummary } from "../src/report/html/summary.js";
import { Store } from "../src/store/store.js";
import { cliInProcess } from "./helpers/cli-in-process.js";
import { packDir, repoRoot } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-layers-auto-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const STEERLING = join(repoRoot, "models", "steerling", "steerling.gguf");
const CATEGORY = "hiding-unwanted-behavior";

/** A verb in this process; a run's exit status is read and reset, so it never becomes vitest's. */
async function cli(args: string[]): Promise<{ out: string; code: number }> {
  const res = await cliInProcess(args);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out: res.stdout + res.stderr, code };
}

describe("layers: auto in a run config", () => {
  it("chooses, prints and stores the layers sweep --layers auto chooses, and a resume keeps them", async () => {
    const vector = join(dir, "ic.gguf");
    await cli([
      "vectors",
      "extract",
      "--model",
      STEERLING,
      "--pairs",
      "builtin",
      "--data",
      packDir,
      "--categories",
      "evading-shutdown,deceptive-behavior",
      "--threads",
      "1",
      "--out",
      vector,
      "--quiet",
    ]);

    const llama = { provider: "llama", model: STEERLING, threads: 1, contextSize: 512 };
    const config = join(dir, "auto.json");
    writeFileSync(
      config,
      JSON.stringify({
        limit: 1,
        categories: [CATEGORY],
        concurrency: 1,
        // Relative to the config file, as users write it.
        conditions: [
          "baseline",
          { name: "steer", activation: { vector: "ic.gguf", strength: 0.125, layers: "auto" } },
        ],
        models: [llama],
        judges: [{ ...llama, mode: "score" }],
        decoding: { maxTokens: 8 },
      }),
    );
    const storePath = join(dir, "run.sqlite");
    const first = await cli(["run", config, "--data", packDir, "--store", storePath]);
    expect(first.code, first.out).toBe(0);
    const printed =
      /layers auto for steer: (layers (\d+)(?:-(\d+))?: class means project with opposite signs at [^\n]*)/.exec(
        first.out,
      );
    expect(printed, first.out).not.toBeNull();
    const reason = printed![1]!;
    const range = [Number(printed![2]), Number(printed![3] ?? printed![2])];

    const store = Store.open(storePath);
    let runId: string;
    try {
      const run = store.listRuns()[0]!;
      runId = run.id;
      const sc = readStoredConfig(run);
      expect(sc.kind).toBe("live");
      if (sc.kind !== "live") return;
      expect(sc.config.layerSelection).toEqual({ steer: { vector, layers: range, reason } });
      // The condition the run steered with (and its identity) carries the range, not "auto".
      expect(conditionsOf(sc).find((c) => c.name === "steer")?.activation?.layers).toEqual(range);
      expect(store.progress(run.id).responsesOk).toBe(2);
      const steer = buildSummary(store, run).settings.conditions.find((c) => c.name === "steer");
      expect(steer?.activation).toMatchObject({ layers: range, layersReason: reason });
    } finally {
      store.close();
    }

    const runs = await cli(["runs", "--store", storePath]);
    expect(runs.out).toContain(`steer: layers auto chose ${reason}`);

    // The same config again is the same run: nothing to redo, the same layers.
    const again = await cli(["run", config, "--data", packDir, "--store", storePath]);
    expect(again.out).toContain(`resuming run ${runId}`);
    expect(again.out).toContain(`layers auto for steer: ${reason}`);

    const sweep = await cli([
      "sweep",
      "--model",
      STEERLING,
      "--vector",
      vector,
      "--layers",
      "auto",
      "--strengths",
      "0.125",
      "--no-control",
      "--no-prompt-steering",
      "--no-sign-check",
      "--no-perplexity",
      "--no-side-effects",
      "--categories",
      CATEGORY,
      "--limit",
      "1",
      "--judge",
      STEERLING,
      "--judge-mode",
      "score",
      "--max-tokens",
      "8",
      "--threads",
      "1",
      "--data",
      packDir,
      "--store",
      join(dir, "sweep.sqlite"),
      "--quiet",
    ]);
    expect(sweep.out).toContain(`--layers auto chose ${reason}`);
  }, 300_000);

  it("refuses any other string by name", async () => {
    const config = join(dir, "bad.json");
    writeFileSync(
      config,
      JSON.stringify({
        conditions: [{ name: "steer", activation: { vector: "ic.gguf", strength: 1, layers: "all" } }],
        models: [{ provider: "llama", model: STEERLING }],
        judges: [{ provider: "llama", model: STEERLING, mode: "score" }],
      }),
    );
    await expect(
      cliInProcess(["run", config, "--data", packDir, "--store", join(dir, "bad.sqlite")]),
    ).rejects.toThrow(/conditions\.0\.activation\.layers: must be \[first, last\] or "auto", got "all"/);
  });
});
