// From a condition's `activation` (ActivationSteering) to the engine's ControlVectorSpec: load the vector file
// (cached by path, size and mtime, so a sweep reads it once and an edited file is re-read), check it fits the
// model, and pick the layers, strength and norm preservation. The llama provider calls this for every steered
// request; errors name the file and the expected and actual shapes.
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { type ControlVector, readControlVector } from "../gguf/vector-file.js";
import type { ActivationSteering } from "../types.js";
import type { LlamaModelInfo } from "./engine.js";
import type { SequenceSteeringSpec } from "./steer-ops.js";

export class SteeringError extends Error {}

/** Environment variable naming a folder where `vector: NAME` finds `NAME.gguf`. */
export const VECTORS_ENV = "STEERBENCH_VECTORS";

/**
 * The file a condition's `vector` names: a path (relative to the working directory), or a bare name looked up
 * as NAME or NAME.gguf in $STEERBENCH_VECTORS.
 */
export function resolveVectorPath(
  vector: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const direct = resolve(vector);
  if (existsSync(direct)) return direct;
  const dir = env[VECTORS_ENV];
  const bare = !vector.includes("/") && !vector.includes("\\") && !isAbsolute(vector);
  if (dir && bare) {
    for (const candidate of [join(dir, vector), join(dir, `${vector}.gguf`)]) {
      if (existsSync(candidate)) return resolve(candidate);
    }
  }
  throw new SteeringError(
    `control vector "${vector}" not found (looked for ${direct}${dir && bare ? ` and ${join(dir, vector)}[.gguf]` : ""}; a bare name is looked up in $${VECTORS_ENV})`,
  );
}

interface CacheEntry {
  size: number;
  mtimeMs: number;
  vector: ControlVector;
}

const cache = new Map<string, CacheEntry>();

/** Reads a control vector through the cache (keyed by absolute path; re-read when size or mtime change). */
export function loadControlVector(path: string): ControlVector {
  const abs = resolve(path);
  const st = statSync(abs);
  const hit = cache.get(abs);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.vector;
  const vector = readControlVector(abs);
  cache.set(abs, { size: st.size, mtimeMs: st.mtimeMs, vector });
  return vector;
}

/** Drops cached vectors (tests; long-lived servers after replacing files in place with equal mtimes). */
export function clearVectorCache(): void {
  cache.clear();
}

/** Checks that a vector fits a model's shape; the error names the file and both shapes. */
export function checkVectorFitsModel(
  vec: ControlVector,
  info: Pick<LlamaModelInfo, "nEmbd" | "nLayer">,
  label: string,
): void {
  if (vec.nEmbd !== info.nEmbd) {
    throw new SteeringError(
      `control vector ${label} has n_embd ${vec.nEmbd}, but the model has n_embd ${info.nEmbd}: it was made for another model`,
    );
  }
  if (vec.meta && vec.meta.modelLayers !== info.nLayer) {
    throw new SteeringError(
      `control vector ${label} was extracted from a model with ${vec.meta.modelLayers} layers, but this model has ${info.nLayer}`,
    );
  }
  const layers = [...vec.directions.keys()];
  const top = Math.max(...layers);
  if (top > info.nLayer - 1) {
    throw new SteeringError(
      `control vector ${label} has a direction for layer ${top}, but the model's steerable layers are 1..${info.nLayer - 1}`,
    );
  }
}

/**
 * The engine's steering spec for a condition's activation steering (mode add, ablate or rotate). Also a valid
 * ControlVectorSpec for `setControlVector` when the mode is add.
 */
export async function controlVectorSpec(
  steering: ActivationSteering,
  info: Pick<LlamaModelInfo, "nEmbd" | "nLayer">,
): Promise<SequenceSteeringSpec> {
  const mode = steering.mode ?? "add";
  if (mode !== "add" && mode !== "ablate" && mode !== "rotate") {
    throw new SteeringError(`activation mode "${String(mode)}" is not one of add, ablate, rotate`);
  }
  if (!Number.isFinite(steering.strength)) {
    throw new SteeringError(`activation strength ${steering.strength} is not a finite number`);
  }
  if (mode === "rotate" && !(Math.abs(steering.strength) <= Math.PI)) {
    throw new SteeringError(
      `activation mode rotate takes the rotation angle in radians as its strength (−π…π; + toward the direction, − away), got ${steering.strength}`,
    );
  }
  if (mode !== "ablate" && steering.directionLayer !== undefined) {
    throw new SteeringError(`activation directionLayer is for mode ablate, not ${mode}`);
  }
  if (mode !== "add" && steering.normPreserving) {
    throw new SteeringError(
      `activation mode ${mode} cannot be combined with normPreserving (that is for add)`,
    );
  }
  const path = resolveVectorPath(steering.vector);
  const vec = loadControlVector(path);
  checkVectorFitsModel(vec, info, path);
  const available = [...vec.directions.keys()].sort((a, b) => a - b);
  if (mode === "ablate") return ablationSpec(steering, vec, info, path);
  let layerStart = available[0]!;
  let layerEnd = available[available.length - 1]!;
  if (steering.layers) {
    [layerStart, layerEnd] = steering.layers;
    if (!Number.isInteger(layerStart) || !Number.isInteger(layerEnd) || layerStart > layerEnd) {
      throw new SteeringError(
        `activation layers [${steering.layers.join(", ")}] must be [first, last] integers`,
      );
    }
    if (layerStart < 1 || layerEnd > info.nLayer - 1) {
      throw new SteeringError(
        `activation layers ${layerStart}..${layerEnd} are outside the model's steerable layers 1..${info.nLayer - 1}`,
      );
    }
    if (!available.some((il) => il >= layerStart && il <= layerEnd)) {
      throw new SteeringError(
        `control vector ${path} has no direction in layers ${layerStart}..${layerEnd}; it has layers ${available.join(", ")}`,
      );
    }
  }
  return {
    data: vec.directions,
    layerStart,
    layerEnd,
    strength: steering.strength,
    normPreserving: steering.normPreserving ?? false,
    ...(mode !== "add" ? { mode } : {}),
  };
}

/**
 * The layer whose direction an ablation removes, at run time and in `vectors bake`: the vector's best held-out
 * AUC layer among the discriminative ones (class means of opposite signs), else among all, else its middle
 * layer. One direction for every block, as in Arditi et al.: per-layer directions
 * could not be baked into weights (a writer edited against one block's direction still leaves the other
 * directions in the residual stream).
 */
export function ablationDirectionLayer(vec: ControlVector): number {
  const layers = [...vec.directions.keys()].sort((a, b) => a - b);
  const q = vec.meta?.quality;
  const scored = layers.filter((il) => Number.isFinite(q?.get(il)?.auc));
  // Discriminative layers (class means on opposite sides, the `layers: auto` rule) first, so that the
  // runtime direction is the one `vectors bake --layers auto` removes: the top of the auto ranking.
  const discriminative = scored.filter((il) => {
    const lq = q!.get(il)!;
    return lq.posMean !== undefined && lq.negMean !== undefined && lq.posMean > 0 && lq.negMean < 0;
  });
  const pool = discriminative.length > 0 ? discriminative : scored;
  if (pool.length > 0) return pool.sort((a, b) => q!.get(b)!.auc - q!.get(a)!.auc || a - b)[0]!;
  return layers[Math.floor(layers.length / 2)]!;
}

/**
 * Ablation: blocks a..b (default all, 0..n−1; block 0 allowed, since our hooks, not llama.cpp, do it) stop
 * writing along v̂, and the embedding too when a = 0: what `vectors bake --mode ablate --layers a-b` does.
 */
function ablationSpec(
  steering: ActivationSteering,
  vec: ControlVector,
  info: Pick<LlamaModelInfo, "nEmbd" | "nLayer">,
  path: string,
): SequenceSteeringSpec {
  let layerStart = 0;
  let layerEnd = info.nLayer - 1;
  if (steering.layers) {
    [layerStart, layerEnd] = steering.layers;
    if (!Number.isInteger(layerStart) || !Number.isInteger(layerEnd) || layerStart > layerEnd) {
      throw new SteeringError(
        `activation layers [${steering.layers.join(", ")}] must be [first, last] integers`,
      );
    }
    if (layerStart < 0 || layerEnd > info.nLayer - 1) {
      throw new SteeringError(
        `activation layers ${layerStart}..${layerEnd} are outside the model's blocks 0..${info.nLayer - 1} (mode ablate)`,
      );
    }
  }
  const directionLayer = steering.directionLayer ?? ablationDirectionLayer(vec);
  if (!vec.directions.has(directionLayer)) {
    throw new SteeringError(
      `control vector ${path} has no direction for layer ${directionLayer}; it has ${[...vec.directions.keys()].join(", ")}`,
    );
  }
  return {
    data: vec.directions,
    layerStart,
    layerEnd,
    strength: steering.strength,
    normPreserving: false,
    mode: "ablate",
    directionLayer,
  };
}
