// Control vectors in llama.cpp's layout. `llama_set_adapter_cvec(ctx, data, len, n_embd, il_start, il_end)`
// takes one n_embd row per layer *starting at layer 1* (row k is layer k + 1; layer 0 never has one) and adds
// row il to the output of block il — the tensor the graph names `l_out-<il>` — for il_start <= il <= il_end.
// It has no strength parameter, so the strength is folded into the rows here.

/** A steering direction per layer, applied as `l_out-<il> += strength * data.get(il)`. */
export interface ControlVectorSpec {
  /** Direction per layer, keyed by layer il (1 … nLayer − 1, as in `l_out-<il>`), each nEmbd long. */
  data: ReadonlyMap<number, Float32Array>;
  /** First steered layer (inclusive). Default: the smallest key of `data`. */
  layerStart?: number;
  /** Last steered layer (inclusive). Default: the largest key of `data`. */
  layerEnd?: number;
  /** Multiplier for every direction. Default 1. */
  strength?: number;
  /**
   * Rescale each steered hidden state back to the norm it had before the vector was added (per token and
   * layer). Needs the engine's hooks (the default).
   */
  normPreserving?: boolean;
}

export interface PreparedControlVector {
  /** (nLayer − 1) × nEmbd floats, already multiplied by the strength: the buffer llama.cpp takes. */
  buffer: Float32Array;
  layerStart: number;
  layerEnd: number;
  strength: number;
  normPreserving: boolean;
  /** strength × direction for each layer in [layerStart, layerEnd] that has a non-zero direction. */
  applied: Map<number, Float32Array>;
}

/** Validates a spec against the model's shape and builds llama.cpp's buffer. Errors name the layer and index. */
export function prepareControlVector(
  spec: ControlVectorSpec,
  nEmbd: number,
  nLayer: number,
): PreparedControlVector {
  if (!(spec.data instanceof Map))
    throw new TypeError("control vector: data must be a Map<layer, Float32Array>");
  if (spec.data.size === 0) throw new RangeError("control vector: data has no layers");
  const strength = spec.strength ?? 1;
  if (!Number.isFinite(strength)) throw new RangeError(`control vector: strength ${strength} is not finite`);
  const keys = [...spec.data.keys()];
  for (const il of keys) {
    if (!Number.isInteger(il) || il < 1 || il > nLayer - 1) {
      throw new RangeError(
        `control vector: layer ${il} is outside 1..${nLayer - 1} (layer 0 cannot be steered in llama.cpp)`,
      );
    }
    const v = spec.data.get(il)!;
    if (!(v instanceof Float32Array))
      throw new TypeError(`control vector: layer ${il} is not a Float32Array`);
    if (v.length !== nEmbd) {
      throw new RangeError(
        `control vector: layer ${il} has ${v.length} values, the model's n_embd is ${nEmbd}`,
      );
    }
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad !== -1) throw new RangeError(`control vector: layer ${il} value ${bad} is ${v[bad]}`);
  }
  const layerStart = spec.layerStart ?? Math.min(...keys);
  const layerEnd = spec.layerEnd ?? Math.max(...keys);
  if (
    !Number.isInteger(layerStart) ||
    !Number.isInteger(layerEnd) ||
    layerStart < 1 ||
    layerEnd > nLayer - 1
  ) {
    throw new RangeError(
      `control vector: layer range ${layerStart}..${layerEnd} is outside 1..${nLayer - 1}`,
    );
  }
  if (layerStart > layerEnd) {
    throw new RangeError(`control vector: layerStart ${layerStart} is after layerEnd ${layerEnd}`);
  }
  const buffer = new Float32Array((nLayer - 1) * nEmbd);
  const applied = new Map<number, Float32Array>();
  for (const [il, v] of spec.data) {
    const row = buffer.subarray((il - 1) * nEmbd, il * nEmbd);
    for (let i = 0; i < nEmbd; i++) row[i] = strength * v[i]!;
    if (il >= layerStart && il <= layerEnd && row.some((x) => x !== 0))
      applied.set(il, Float32Array.from(row));
  }
  return { buffer, layerStart, layerEnd, strength, normPreserving: spec.normPreserving ?? false, applied };
}

/**
 * Splits a flat llama.cpp-layout buffer (row k = layer k + 1, as stored by control-vector GGUF loaders) into
 * the per-layer map `ControlVectorSpec.data` takes.
 */
export function controlVectorFromFlat(flat: Float32Array, nEmbd: number): Map<number, Float32Array> {
  if (nEmbd <= 0 || flat.length % nEmbd !== 0) {
    throw new RangeError(`control vector: ${flat.length} values is not a whole number of ${nEmbd}-wide rows`);
  }
  const out = new Map<number, Float32Array>();
  for (let k = 0; k < flat.length / nEmbd; k++) out.set(k + 1, flat.slice(k * nEmbd, (k + 1) * nEmbd));
  return out;
}
