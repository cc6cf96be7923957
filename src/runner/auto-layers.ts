// `layers: auto` in a run config's activation condition: resolved once, when the run starts, from the vector
// file's extraction metadata by the rule `sweep --layers auto` uses (protocol/layer-select.ts). The chosen
// range replaces "auto" in the condition before planning, so it is part of the run's identity: the same
// vector file gives the same run to resume, and a re-extracted vector that selects other layers is another
// run. The choice and its reason are stored with the run (`layerSelection`), for `runs` and the report.
import { ConfigError, type RunConfig } from "../config/run-config.js";
import type { LayerChoice } from "../config/stored-config.js";
import { loadControlVector, resolveVectorPath } from "../llama/apply-steering.js";
import { autoLayers, LayerSelectionError } from "../protocol/layer-select.js";

export interface ResolvedLayers {
  /** The config with every `layers: auto` replaced by the chosen range. */
  config: RunConfig;
  /** The choices, by condition name (empty when no condition asked for auto). */
  choices: Record<string, LayerChoice>;
}

export function resolveAutoLayers(config: RunConfig): ResolvedLayers {
  const choices: Record<string, LayerChoice> = {};
  const conditions = config.conditions.map((c, i) => {
    if (typeof c === "string" || c.activation?.layers !== "auto") return c;
    const key = `conditions.${i}.activation.layers`;
    const { vector } = c.activation;
    let path: string;
    let vec: ReturnType<typeof loadControlVector>;
    try {
      path = resolveVectorPath(vector);
      vec = loadControlVector(path);
    } catch (err) {
      throw new ConfigError(
        `${key}: auto reads the vector file's extraction metadata, and ${vector} cannot be read: ${(err as Error).message}`,
      );
    }
    let chosen: ReturnType<typeof autoLayers>;
    try {
      chosen = autoLayers(vec, path, { setting: `${key}: auto`, instead: `give ${key}: [first, last]` });
    } catch (err) {
      if (err instanceof LayerSelectionError) throw new ConfigError(err.message);
      throw err;
    }
    choices[c.name] = { vector, layers: chosen.range, reason: chosen.reason };
    return { ...c, activation: { ...c.activation, layers: chosen.range } };
  });
  return { config: { ...config, conditions }, choices };
}
