import { describe, expect, it } from "vitest";
import { extractionMeta } from "../../test/helpers/extraction-meta.js";
import type { ControlVector, LayerQuality } from "../gguf/vector-file.js";
import { autoLayers, LayerSelectionError } from "./layer-select.js";

function vector(quality: [number, Partial<LayerQuality>][]): ControlVector {
  return {
    directions: new Map(quality.map(([il]) => [il, new Float32Array(2).fill(1)])),
    nEmbd: 2,
    modelHint: "llama",
    meta: extractionMeta(quality, "1-6"),
  };
}

describe("--layers auto", () => {
  it("keeps layers whose class means project with opposite signs, ranks them by AUC, steers the run around the best", () => {
    const v = vector([
      [1, { auc: 0.99, posMean: 2, negMean: 1 }], // same sign: rejected despite the AUC
      [2, { auc: 0.7, posMean: 1, negMean: -1 }],
      [3, { auc: 0.9, posMean: 1, negMean: -2 }],
      [4, { auc: 0.8, posMean: 0.5, negMean: -0.5 }],
      [5, { auc: 0.6, posMean: -1, negMean: -2 }],
      [6, { auc: 0.95, posMean: 3, negMean: -3 }],
    ]);
    const r = autoLayers(v, "v.gguf");
    expect(r.ranked.map((c) => c.layer)).toEqual([6, 3, 4, 2]);
    // Best is 6, alone (5 is rejected): the run around it is 6-6.
    expect(r.range).toEqual([6, 6]);
    expect(r.rejected).toEqual([1, 5]);
    expect(r.reason).toContain("opposite signs at 2,3,4,6");
    expect(r.reason).toContain("(not at 1,5)");
    const v2 = vector([
      [2, { auc: 0.7, posMean: 1, negMean: -1 }],
      [3, { auc: 0.9, posMean: 1, negMean: -2 }],
      [4, { auc: 0.8, posMean: 0.5, negMean: -0.5 }],
    ]);
    expect(autoLayers(v2, "v.gguf").range).toEqual([2, 4]);
  });

  it("refuses when no layer qualifies or the file has no metadata", () => {
    expect(() => autoLayers(vector([[1, { posMean: 1, negMean: 1 }]]), "v.gguf")).toThrow(
      /no layer of v\.gguf has positive and negative class means projecting with opposite signs/,
    );
    expect(() => autoLayers(vector([[1, {}]]), "old.gguf")).toThrow(
      /old\.gguf records no class-mean projections/,
    );
    expect(() =>
      autoLayers({ directions: new Map([[1, new Float32Array(2)]]), nEmbd: 2, modelHint: "" }, "x.gguf"),
    ).toThrow(LayerSelectionError);
  });
});
