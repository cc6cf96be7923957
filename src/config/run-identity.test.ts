import { describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import { loadPack } from "../data/pack.js";
import { planRun } from "../runner/plan.js";
import { storedRunIdentity } from "../store/merge.js";
import { parseRunConfig } from "./run-config.js";
import { runIdOf } from "./run-identity.js";

describe("one run identity", () => {
  it("a stored config gives back its run id, for local and remote models alike (regression: merge re-derived it)", async () => {
    const pack = await loadPack(packDir);
    for (const models of [
      [{ provider: "llama", model: "/models/deep/path/Qwen3-4B-Q8_0.gguf" }],
      [{ model: "Qwen/Qwen3-4B", baseUrl: "http://127.0.0.1:9/v1" }],
    ]) {
      for (const extra of [{}, { maxResponseChars: 1000 }, { shard: { index: 1, count: 3 } }]) {
        const config = parseRunConfig({
          limit: 3,
          models,
          judges: [{ model: "gpt-5.2", baseUrl: "http://127.0.0.1:9/v1" }],
          ...extra,
        });
        const plan = planRun(config, pack);
        const stored = plan.storedConfig as Record<string, unknown>;
        expect(runIdOf(storedRunIdentity(stored, stored.shard ?? null))).toBe(plan.runId);
      }
    }
  });
});
