import { describe, expect, it } from "vitest";
import {
  JUDGE_PROVIDER_KINDS,
  kindList,
  MODEL_PROVIDER_KINDS,
  PROVIDER_KINDS,
  providerKind,
} from "./provider-kinds.js";
import { judgeSchema, modelSchema } from "./run-config.js";

describe("provider kinds", () => {
  it("are the one list the config schema accepts", () => {
    expect(modelSchema.shape.provider.unwrap().options).toEqual(MODEL_PROVIDER_KINDS);
    expect(judgeSchema.shape.provider.unwrap().options).toEqual(JUDGE_PROVIDER_KINDS);
    expect(kindList("judge")).toBe("openai | openai-completions | llama | classifier");
  });

  it("describe what each kind can do", () => {
    expect(providerKind("classifier")).toMatchObject({
      canGenerate: false,
      canJudge: true,
      needsBaseUrl: false,
    });
    expect(providerKind("llama")?.defaultConcurrency?.(16)).toBe(4);
    expect(PROVIDER_KINDS.filter((k) => k.canScore).map((k) => k.kind)).toEqual(["llama"]);
    expect(providerKind("nope")).toBeUndefined();
  });
});
