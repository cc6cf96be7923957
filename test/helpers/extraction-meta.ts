// The extraction metadata `vectors extract` writes into a vector file, for tests of what reads it (layer
// selection): fixed provenance, and per-layer quality from `quality` over defaults (AUC 0.5, norm 1).
import type { ControlVector, LayerQuality } from "../../src/gguf/vector-file.js";

export function extractionMeta(
  quality: [number, Partial<LayerQuality>][],
  layers: string,
): NonNullable<ControlVector["meta"]> {
  return {
    model: "m.gguf",
    method: "mean-diff",
    pairs: "builtin",
    pairCount: 8,
    testPairs: 2,
    layers,
    created: "2026-01-01T00:00:00.000Z",
    modelLayers: 8,
    modelEmbd: 2,
    lastTokens: 1,
    seed: 0,
    holdout: 0.25,
    quality: new Map(quality.map(([il, q]) => [il, { auc: 0.5, pairAccuracy: 0.5, norm: 1, ...q }])),
  };
}
