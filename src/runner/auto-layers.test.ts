import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { extractionMeta } from "../../test/helpers/extraction-meta.js";
import { ConfigError, parseRunConfig } from "../config/run-config.js";
import { type ControlVector, type LayerQuality, writeControlVector } from "../gguf/vector-file.js";
import { resolveAutoLayers } from "./auto-layers.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-auto-layers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real vector file with per-layer extraction metadata (`quality`), or none. */
function vectorFile(name: string, quality?: [number, Partial<LayerQuality>][]): string {
  const layers = quality?.map(([il]) => il) ?? [1, 2];
  const vec: ControlVector = {
    directions: new Map(layers.map((il) => [il, new Float32Array(2).fill(1)])),
    nEmbd: 2,
    modelHint: "llama",
  };
  if (quality) {
    vec.meta = extractionMeta(quality, `${layers[0]}-${layers[layers.length - 1]}`);
  }
  const path = join(dir, name);
  writeControlVector(path, vec);
  return path;
}

const configWith = (vector: string, layers: unknown = "auto") =>
  parseRunConfig({
    conditions: ["baseline", { name: "steer", activation: { vector, strength: 2, layers } }],
    models: [{ provider: "llama", model: "m.gguf" }],
    judges: [{ provider: "llama", model: "m.gguf", mode: "score" }],
  });

describe("layers: auto", () => {
  it("replaces auto by the selective-steering range and says why; other conditions are left alone", () => {
    const v = vectorFile("good.gguf", [
      [2, { auc: 0.7, posMean: 1, negMean: -1 }],
      [3, { auc: 0.9, posMean: 1, negMean: -2 }],
      [4, { auc: 0.8, posMean: 0.5, negMean: -0.5 }],
      [5, { auc: 0.99, posMean: 2, negMean: 1 }],
    ]);
    const { config, choices } = resolveAutoLayers(configWith(v));
    expect(config.conditions[0]).toBe("baseline");
    expect(config.conditions[1]).toMatchObject({ activation: { vector: v, strength: 2, layers: [2, 4] } });
    expect(choices.steer?.layers).toEqual([2, 4]);
    expect(choices.steer?.reason).toMatch(
      /^layers 2-4: class means project with opposite signs at 2-4 \(not at 5\)/,
    );
    // A range given in the config is kept as it is, with no choice recorded.
    const fixed = resolveAutoLayers(configWith(v, [1, 2]));
    expect(fixed.choices).toEqual({});
    expect(fixed.config.conditions[1]).toMatchObject({ activation: { layers: [1, 2] } });
  });

  it("names the config key when the file cannot be read or cannot choose", () => {
    expect(() => resolveAutoLayers(configWith(join(dir, "missing.gguf")))).toThrow(ConfigError);
    expect(() => resolveAutoLayers(configWith(join(dir, "missing.gguf")))).toThrow(
      /^conditions\.1\.activation\.layers: auto reads the vector file's extraction metadata, and .*missing\.gguf cannot be read/,
    );
    expect(() => resolveAutoLayers(configWith(vectorFile("bare.gguf")))).toThrow(
      /^conditions\.1\.activation\.layers: auto needs per-layer extraction metadata, and .*bare\.gguf has none/,
    );
    const same = vectorFile("same.gguf", [[1, { posMean: 1, negMean: 1 }]]);
    expect(() => resolveAutoLayers(configWith(same))).toThrow(
      /opposite signs on its direction; give conditions\.1\.activation\.layers: \[first, last\]$/,
    );
  });
});
