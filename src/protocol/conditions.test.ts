import { beforeAll, describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import { loadPack } from "../data/pack.js";
import type { ProtocolStrings } from "../types.js";
import { conditionSchema, PRESET_NAMES, presetCondition, resolveConditions } from "./conditions.js";

let strings: ProtocolStrings;
beforeAll(async () => {
  strings = (await loadPack(packDir)).strings;
});

describe("presets", () => {
  it("take their texts from the pack's protocol strings", () => {
    expect(presetCondition("baseline", strings).prompt).toBeUndefined();
    expect(presetCondition("pro_ic", strings).prompt).toEqual({ userSuffix: strings.proIcSuffix });
    expect(presetCondition("anti_ic", strings).prompt).toEqual({ userSuffix: strings.antiIcSuffix });
    expect(presetCondition("conflict", strings).prompt).toEqual({
      systemSuffix: strings.antiIcSuffix,
      userSuffix: strings.proIcSuffix,
    });
    expect(presetCondition("agent_baseline", strings).prompt).toEqual({
      system: { kind: "instrumentaleval-agent" },
    });
    const other = { ...strings, proIcSuffix: "OTHER" };
    expect(presetCondition("pro_ic", other).prompt?.userSuffix).toBe("OTHER");
  });
});

describe("resolveConditions", () => {
  it("resolves preset names in order", () => {
    const out = resolveConditions(["baseline", "pro_ic", "anti_ic"], strings);
    expect(out.map((c) => c.name)).toEqual(["baseline", "pro_ic", "anti_ic"]);
  });

  it("lists the valid presets for an unknown name", () => {
    expect(() => resolveConditions(["baseline", "pro-ic"], strings)).toThrow(
      `conditions[1]: unknown preset "pro-ic"; valid presets: ${PRESET_NAMES.join(", ")}`,
    );
    expect(() => resolveConditions([{ name: "x", preset: "nope" as "pro_ic" }], strings)).toThrow(
      /valid presets/,
    );
  });

  it("rejects duplicate names, including a custom condition named like a preset", () => {
    expect(() => resolveConditions(["pro_ic", "pro_ic"], strings)).toThrow(
      /duplicate condition name "pro_ic"/,
    );
    expect(() => resolveConditions(["baseline", { name: "baseline", userSuffix: "x" }], strings)).toThrow(
      /duplicate/,
    );
  });

  it("builds custom conditions and overrides preset fields", () => {
    const [custom, fromPreset, steered] = resolveConditions(
      [
        {
          name: "polite",
          userPrefix: "Please.",
          system: { text: "You are careful." },
          requestBody: { top_k: 1 },
        },
        { name: "pro_agent", preset: "pro_ic", system: "instrumentaleval-agent", description: "pro + agent" },
        {
          name: "vec+2",
          preset: "baseline",
          activation: { vector: "anti.gguf", layers: [10, 20], strength: 2, normPreserving: true },
        },
      ],
      strings,
    );
    expect(custom).toEqual({
      name: "polite",
      prompt: { userPrefix: "Please.", system: { kind: "text", text: "You are careful." } },
      requestBody: { top_k: 1 },
    });
    expect(fromPreset).toEqual({
      name: "pro_agent",
      description: "pro + agent",
      prompt: { userSuffix: strings.proIcSuffix, system: { kind: "instrumentaleval-agent" } },
    });
    expect(steered).toEqual({
      name: "vec+2",
      description: presetCondition("baseline", strings).description,
      activation: { vector: "anti.gguf", layers: [10, 20], strength: 2, normPreserving: true },
    });
  });

  it("validates custom conditions with errors that name the entry and key", () => {
    expect(() => resolveConditions([{ name: "a b" }], strings)).toThrow(/conditions\[0\]\.name/);
    expect(() =>
      resolveConditions([{ name: "v", activation: { vector: "x", layers: [5, 2], strength: 1 } }], strings),
    ).toThrow(/conditions\[0\]\.activation\.layers: layers must be \[first, last\]/);
    expect(() => resolveConditions([{ name: "v", userSufix: "typo" } as never], strings)).toThrow(
      /conditions\[0\]/,
    );
  });
});

describe("conditionSchema", () => {
  it("accepts the documented shape and rejects unknown keys", () => {
    expect(conditionSchema.safeParse({ name: "x", systemSuffix: "s", system: "none" }).success).toBe(true);
    expect(conditionSchema.safeParse({ name: "x", system: "weird" }).success).toBe(false);
    expect(conditionSchema.safeParse({ name: "x", extra: 1 }).success).toBe(false);
    expect(conditionSchema.safeParse({ name: "x", activation: { vector: "v" } }).success).toBe(false);
  });

  it("takes directionLayer for ablate only, and carries it into the condition", () => {
    const ok = { name: "a", activation: { vector: "v", mode: "ablate" as const, directionLayer: 2 } };
    expect(conditionSchema.safeParse(ok).success).toBe(true);
    const add = conditionSchema.safeParse({
      name: "a",
      activation: { vector: "v", strength: 1, directionLayer: 2 },
    });
    expect(add.success).toBe(false);
    expect(add.error!.issues[0]!.message).toBe("directionLayer is for mode: ablate only");
    expect(add.error!.issues[0]!.path).toEqual(["activation", "directionLayer"]);
    const [c] = resolveConditions([ok], strings);
    expect(c!.activation).toEqual({ vector: "v", strength: 1, mode: "ablate", directionLayer: 2 });
  });
});
