import { beforeAll, describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import { loadPack } from "../data/pack.js";
import { resolveConditions } from "../protocol/conditions.js";
import { planRun } from "../runner/plan.js";
import type { Pack } from "../types.js";
import {
  buildSweepConfig,
  controlConditionNames,
  controlsOf,
  parseLayerRange,
  parseStrengths,
  steeringBody,
  strengthLabel,
  sweepConditionName,
  sweepConditions,
  sweepRecord,
} from "./sweep-config.js";

let pack: Pack;
beforeAll(async () => {
  pack = await loadPack(packDir);
});

describe("sweep conditions", () => {
  it("parses strengths: sorted, unique, with 0 always present", () => {
    expect(parseStrengths("8,-4, 2,-4")).toEqual([-4, 0, 2, 8]);
    expect(parseStrengths("-0,0.5")).toEqual([0, 0.5]);
    expect(() => parseStrengths("1,x")).toThrow(/"x" is not a number/);
    expect(() => parseStrengths(" , ")).toThrow(/comma list/);
  });

  it("parses layer ranges", () => {
    expect(parseLayerRange("8-20")).toEqual([8, 20]);
    expect(parseLayerRange("5")).toEqual([5, 5]);
    expect(() => parseLayerRange("9-3")).toThrow(/first layer 9 is after last layer 3/);
    expect(() => parseLayerRange("a")).toThrow(/FIRST-LAST/);
  });

  it("names conditions by strength (and prompt)", () => {
    expect([strengthLabel(4), strengthLabel(-2.5), strengthLabel(0)]).toEqual(["+4", "-2.5", "0"]);
    expect(sweepConditionName(4)).toBe("act+4");
    expect(sweepConditionName(-1, "pro_ic")).toBe("pro_ic.act-1");
  });

  it("builds valid conditions: one per strength, plus pro_ic and anti_ic", () => {
    const spec = {
      vector: "/v/vec.gguf",
      vectorSha256: "ab".repeat(32),
      strengths: [-2, 2],
      layers: [1, 3] as [number, number],
    };
    const conditions = resolveConditions(sweepConditions(spec), pack.strings);
    expect(conditions.map((c) => c.name)).toEqual(["act-2", "act0", "act+2", "pro_ic", "anti_ic"]);
    expect(conditions[0]!.activation).toEqual({ vector: "/v/vec.gguf", strength: -2, layers: [1, 3] });
    expect(conditions[0]!.prompt).toBeUndefined();
    expect(conditions[0]!.description).toContain("abababababababab");
    expect(conditions[3]!.prompt?.userSuffix).toBe(pack.strings.proIcSuffix);
    expect(sweepRecord(spec).strengths).toEqual({ "act-2": -2, act0: 0, "act+2": 2 });
  });

  it("stacks strengths on a prompt condition and can send the steering in the request body", () => {
    const spec = {
      vector: "honesty",
      strengths: [3],
      withPrompt: "anti_ic" as const,
      promptSteering: false,
      requestBody: true,
      normPreserving: true,
    };
    const conditions = resolveConditions(sweepConditions(spec), pack.strings);
    expect(conditions.map((c) => c.name)).toEqual(["anti_ic.act0", "anti_ic.act+3"]);
    expect(conditions[1]!.prompt?.userSuffix).toBe(pack.strings.antiIcSuffix);
    expect(conditions[1]!.activation).toEqual({ vector: "honesty", strength: 3, normPreserving: true });
    expect(conditions[1]!.requestBody).toEqual({
      steering: { vector: "honesty", strength: 3, normPreserving: true },
    });
    expect(steeringBody({ vector: "v", strengths: [], layers: [2, 4] }, -1)).toEqual({
      steering: { vector: "v", layers: [2, 4], strength: -1, normPreserving: false },
    });
  });

  it("makes a run config that plans one item per strength and scenario, one at a time for a local model", () => {
    const config = buildSweepConfig({
      spec: { vector: "/v.gguf", strengths: [-1, 1] },
      model: { model: "/models/m.gguf", threads: 1 },
      judges: [{ model: "/models/m.gguf", provider: "llama", mode: "score" }],
      limit: 2,
      decoding: { maxTokens: 8, temperature: undefined },
    });
    expect(config.models[0]!.provider).toBe("llama");
    expect(config.concurrency).toBe(1);
    expect(config.decoding.maxTokens).toBe(8);
    const plan = planRun(config, pack);
    expect(plan.items).toHaveLength(5 * 2);
    const remote = buildSweepConfig({
      spec: { vector: "v", strengths: [1] },
      model: { model: "served", provider: "openai", baseUrl: "http://127.0.0.1:1/v1" },
      judges: [{ model: "j", baseUrl: "http://127.0.0.1:1/v1" }],
    });
    expect(remote.concurrency).toBe(16);
    // A changed vector file (different hash) is a different run.
    const a = buildSweepConfig({
      spec: { vector: "/v.gguf", vectorSha256: "1", strengths: [1] },
      model: { model: "m.gguf" },
      judges: [{ model: "m.gguf", provider: "llama", mode: "score" }],
    });
    const b = buildSweepConfig({
      spec: { vector: "/v.gguf", vectorSha256: "2", strengths: [1] },
      model: { model: "m.gguf" },
      judges: [{ model: "m.gguf", provider: "llama", mode: "score" }],
    });
    expect(planRun(a, pack).runId).not.toBe(planRun(b, pack).runId);
  });
});

describe("several control seeds", () => {
  it("sweeps each seed at every non-zero strength, under its own condition names", () => {
    const spec = {
      vector: "/v.gguf",
      strengths: [-1, 0, 1],
      promptSteering: false,
      control: { vector: "/v.control-seed0.gguf", seed: 0 },
      extraControls: [
        { vector: "/v.control-seed1.gguf", seed: 1 },
        { vector: "/v.control-seed2.gguf", seed: 2 },
      ],
    };
    const names = sweepConditions(spec).map((c) => (typeof c === "string" ? c : c.name));
    expect(names).toEqual([
      "act-1",
      "act0",
      "act+1",
      "ctl-1",
      "ctl+1",
      "ctl.s1-1",
      "ctl.s1+1",
      "ctl.s2-1",
      "ctl.s2+1",
    ]);
    const record = sweepRecord(spec);
    expect(controlsOf(record).map((c) => [c.seed, c.vector, c.strengths])).toEqual([
      [0, "/v.control-seed0.gguf", { "ctl-1": -1, "ctl+1": 1 }],
      [1, "/v.control-seed1.gguf", { "ctl.s1-1": -1, "ctl.s1+1": 1 }],
      [2, "/v.control-seed2.gguf", { "ctl.s2-1": -1, "ctl.s2+1": 1 }],
    ]);
    expect(controlConditionNames(record)).toEqual(names.filter((n) => n.startsWith("ctl")));
    // One seed: the record is as it always was.
    expect(sweepRecord({ ...spec, extraControls: undefined }).control).not.toHaveProperty("extra");
  });
});
