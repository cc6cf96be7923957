import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { dataDir, packDir, runsDir } from "../../test/paths.js";
import { loadPack } from "../data/pack.js";
import { importPublishedRuns } from "../importers/import-published.js";
import { importInspectLogs } from "../interop/inspect/import-logs.js";
import { planRun } from "../runner/plan.js";
import { sweepRecord } from "../steering/sweep-config.js";
import { Store } from "../store/store.js";
import { parseRunConfig } from "./run-config.js";
import {
  conditionsOf,
  modelsOf,
  readStoredConfig,
  StoredConfigError,
  storedConfig,
  sweepOf,
  withStored,
} from "./stored-config.js";

const pack = await loadPack(packDir);

const config = parseRunConfig({
  limit: 2,
  conditions: [
    "baseline",
    { name: "steer", activation: { vector: "/v/v.gguf", strength: 4, layers: [2, 3] } },
  ],
  models: [{ provider: "llama", model: "/models/m.gguf", threads: 1, headers: { "x-key": "secret" } }],
  judges: [{ model: "gpt-5.2", baseUrl: "http://127.0.0.1:9/v1" }],
});

/** Writes a run as a writer does and reads it back from a real SQLite store. */
function roundTrip(kind: "live" | "sweep", value: unknown) {
  const store = Store.open(":memory:");
  try {
    store.createRun({ id: "run-x", name: "x", kind, config: storedConfig(kind, value), versions: {} });
    return readStoredConfig(store.getRun("run-x")!);
  } finally {
    store.close();
  }
}

describe("the stored run config", () => {
  it("round-trips a live run as planRun builds it, header values never stored", () => {
    const plan = planRun(config, pack);
    const read = roundTrip("live", plan.storedConfig);
    expect(read.kind).toBe("live");
    expect(read.config).toEqual(JSON.parse(JSON.stringify(plan.storedConfig)));
    expect(modelsOf(read)[0]).toMatchObject({
      provider: "llama",
      model: "/models/m.gguf",
      headers: ["x-key"],
    });
    expect(JSON.stringify(read.config)).not.toContain("secret");
    expect(conditionsOf(read).map((c) => c.name)).toEqual(["baseline", "steer"]);
    expect(conditionsOf(read)[1]!.activation).toEqual({ vector: "/v/v.gguf", strength: 4, layers: [2, 3] });
  });

  it("round-trips a sweep run with its record, and a later measurement laid over it", () => {
    const plan = planRun(config, pack);
    const record = sweepRecord({
      vector: "/v/v.gguf",
      strengths: [-4, 4],
      control: { vector: "/v/c.gguf", seed: 0 },
    });
    const read = roundTrip("sweep", { ...plan.storedConfig, sweep: record });
    expect(sweepOf(read)).toEqual(record);
    const run = { id: "run-x", kind: "sweep", config: read.config };
    const next = withStored(run, { sweep: { ...record, sideEffectsSkipped: "no head" } });
    expect(sweepOf(readStoredConfig({ ...run, config: next }))?.sideEffectsSkipped).toBe("no head");
    // A sweep key this version does not know (a newer one wrote it) survives a rewrite by this one.
    const newer = { ...run, config: { ...read.config, sweep: { ...record, futureKey: 7 } } };
    const rewritten = withStored(newer, { addedJudges: [] }) as { sweep?: Record<string, unknown> };
    expect(rewritten.sweep?.futureKey).toBe(7);
    // A live run has no sweep record to set.
    expect(() => withStored({ ...run, kind: "live" }, { sweep: record })).toThrow(
      /run-x: a live run has no sweep record/,
    );
  });

  it("reads both imports as the importers write them (the paper's runs, Inspect logs)", async () => {
    const store = Store.open(":memory:");
    try {
      const published = (await importPublishedRuns(store, runsDir, { packDir })).run;
      const p = readStoredConfig(published);
      expect(p.kind).toBe("published");
      if (p.kind !== "published") return;
      expect(p.config.folders).toHaveLength(18);
      expect(p.config.conditions.sort()).toEqual(["anti_ic", "baseline", "pro_ic"]);
      expect(conditionsOf(p)).toEqual([]);

      const logs = resolve(dataDir, "inspect", "logs", "2025-05-12T20-28-26-04-00_security-guide.json");
      const inspect = readStoredConfig(importInspectLogs(store, [logs]).run);
      expect(inspect.kind).toBe("inspect");
      if (inspect.kind !== "inspect") return;
      expect(inspect.config.logs[0]!.file).toBe("2025-05-12T20-28-26-04-00_security-guide.json");
    } finally {
      store.close();
    }
  });

  it("refuses a damaged config, naming the run and the key", () => {
    const plan = planRun(config, pack);
    const damaged = JSON.parse(JSON.stringify(plan.storedConfig)) as { models: { model: unknown }[] };
    damaged.models[0]!.model = 42;
    expect(() => readStoredConfig({ id: "run-bad", kind: "live", config: damaged })).toThrow(
      StoredConfigError,
    );
    expect(() => readStoredConfig({ id: "run-bad", kind: "live", config: damaged })).toThrow(
      /^run run-bad: its stored config does not read as a live run at models\.0\.model: /,
    );
    expect(() =>
      readStoredConfig({ id: "run-bad", kind: "sweep", config: { sweep: { strengths: { act0: "zero" } } } }),
    ).toThrow(/run run-bad: .* sweep run at sweep\.strengths\.act0: /);
    expect(() => readStoredConfig({ id: "run-bad", kind: "import", config: { source: "inspect" } })).toThrow(
      /run run-bad: .* inspect run at models: /,
    );
    expect(() => readStoredConfig({ id: "run-bad", kind: "eval", config: {} })).toThrow(
      /run run-bad: unknown run kind "eval"/,
    );
    // A writer is held to the same schema.
    expect(() => storedConfig("live", damaged)).toThrow(/models\.0\.model/);
  });

  it("reads a config as the first versions wrote it: no pack, no chat template, an older sweep record", () => {
    // The shape of 3fc181a's planRun: identity + name, full model/judge entries, concurrency, retry, decoding.
    const old = {
      selection: "paper",
      limit: null,
      categories: null,
      system: "category",
      conditions: [{ name: "baseline", description: "no intervention" }],
      models: [
        {
          provider: "openai",
          model: "org/m",
          baseUrl: "http://127.0.0.1:9/v1",
          thinking: false,
          timeoutMs: 300000,
        },
      ],
      judges: [
        {
          provider: "openai",
          model: "j",
          mode: "generate",
          prompt: "paper",
          retries: 2,
          maxTokens: 200,
          temperature: 0,
        },
      ],
      epochs: 1,
      shard: null,
      dataHash: "a".repeat(64),
      name: "org/m × baseline",
      concurrency: 16,
      retry: { retries: 5, baseDelayMs: 500, maxDelayMs: 60000 },
      decoding: { temperature: 0, maxTokens: 1024, seed: 0, stop: [] },
      someKeyOfAnotherVersion: { kept: true },
    };
    const live = readStoredConfig({ id: "run-old", kind: "live", config: old });
    expect(modelsOf(live)[0]!.model).toBe("org/m");
    expect(live.config).toMatchObject({ someKeyOfAnotherVersion: { kept: true } });
    const sweep = readStoredConfig({
      id: "run-old",
      kind: "sweep",
      config: { ...old, sweep: { vector: "/v.gguf", strengths: { act0: 0, "act+4": 4 } } },
    });
    expect(sweepOf(sweep)?.strengths).toEqual({ act0: 0, "act+4": 4 });
  });
});
