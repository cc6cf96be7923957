import { beforeAll, describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import { parseRunConfig, type RunConfigInput } from "../config/run-config.js";
import { loadPack } from "../data/pack.js";
import { planRun } from "../runner/plan.js";
import type { Pack } from "../types.js";
import { firstDifference, runIdOf, storedRunIdentity } from "./merge.js";

let pack: Pack;
beforeAll(async () => {
  pack = await loadPack(packDir);
});

const base: RunConfigInput = {
  models: [{ model: "m", baseUrl: "http://127.0.0.1:1/v1" }],
  judges: [{ model: "j", baseUrl: "http://127.0.0.1:1/v1" }],
};

/** The stored config goes through JSON, as in the store. */
const stored = (input: RunConfigInput) =>
  JSON.parse(JSON.stringify(planRun(parseRunConfig(input), pack).storedConfig)) as Record<string, unknown>;

describe("storedRunIdentity", () => {
  const variants: Array<[string, RunConfigInput]> = [
    ["defaults", base],
    ["sharded", { ...base, shard: { index: 1, count: 3 } }],
    [
      "per-model decoding and names",
      {
        ...base,
        models: [
          {
            name: "a",
            model: "m",
            baseUrl: "http://127.0.0.1:1/v1",
            decoding: { temperature: 0.7, maxTokens: 64 },
          },
          { model: "m2", baseUrls: ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"], thinking: true },
        ],
      },
    ],
    [
      "selection, limit, categories, system text, epochs",
      {
        ...base,
        selection: "full",
        limit: 5,
        categories: ["evading-shutdown"],
        system: { text: "You are a test." },
        epochs: 3,
        decoding: { seed: 7, stop: ["\n\n"], topP: 0.9 },
      },
    ],
    [
      "custom condition and judge settings",
      {
        ...base,
        conditions: ["baseline", { name: "custom", userSuffix: "Be brief." }],
        judges: [
          {
            name: "jj",
            model: "j",
            baseUrl: "http://127.0.0.1:1/v1",
            prompt: "instrumentaleval",
            maxTokens: 50,
          },
        ],
      },
    ],
  ];

  for (const [name, input] of variants) {
    it(`gives back planRun's run id from the stored config (${name})`, () => {
      const plan = planRun(parseRunConfig(input), pack);
      const config = stored(input);
      expect(runIdOf(storedRunIdentity(config, config.shard))).toBe(plan.runId);
    });
  }

  it("computes for shards the id of the unsharded run", () => {
    const whole = planRun(parseRunConfig(base), pack).runId;
    for (const index of [0, 1, 2]) {
      const config = stored({ ...base, shard: { index, count: 3 } });
      expect(runIdOf(storedRunIdentity(config, config.shard))).not.toBe(whole);
      expect(runIdOf(storedRunIdentity(config, null))).toBe(whole);
    }
  });

  it("leaves operational settings out", () => {
    const a = stored({ ...base, concurrency: 2, retry: { retries: 1 } });
    const b = stored({
      ...base,
      concurrency: 64,
      models: [{ model: "m", baseUrl: "http://10.0.0.1:8000/v1", timeoutMs: 5 }],
    });
    expect(firstDifference(storedRunIdentity(a, null), storedRunIdentity(b, null))).toBeUndefined();
  });
});

describe("firstDifference", () => {
  it("names the first differing path", () => {
    expect(firstDifference({ a: 1, b: [1, { c: 2 }] }, { a: 1, b: [1, { c: 3 }] })).toBe("b[1].c");
    expect(firstDifference({ a: [1, 2] }, { a: [1] })).toBe("a");
    expect(firstDifference({ x: 1 }, { x: 1, y: undefined })).toBeUndefined();
    expect(firstDifference({ x: 1 }, { x: 1, y: 2 })).toBe("y");
  });
});
