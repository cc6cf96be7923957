// Per-sequence activation steering: what the eval callback does to one sequence's rows.
// Three modes, each on every position of the sequence at the chosen layers:
// - add:    h ← h + s·v on `l_out-<il>` (with normPreserving, rescaled back to ‖h‖ afterwards);
// - ablate: directional ablation (Arditi et al. 2024) with ONE unit direction v̂ (that of `directionLayer`):
//           x ← x − (x·v̂)v̂ on what blocks a..b write into the residual stream, the attention output
//           `attn_out-<il>` and the FFN output `ffn_out-<il>` (before their residual adds), and on the token
//           embedding `embd` when a = 0. That is exactly what `vectors bake --mode ablate --layers a-b` does
//           to the weights (W ← (I − v̂v̂ᵀ)W for the same writers), so runtime and baked ablation agree for any
//           range; for all blocks (the default, 0..n−1) the residual stream has no v̂ component anywhere;
// - rotate: the norm-preserving rotation of "Selective Steering" (h' = h − P h + ‖P h‖·(cos θ·b1 + sin θ·b2),
//           P the projector onto the steering plane span(b1, b2)), with b1 = v̂ and the plane that of h and v̂
//           (b2 = the unit part of h orthogonal to v̂), so P h = h and h' = ‖h‖·(cos θ·v̂ + sin θ·b2) with
//           θ = φ − α: h turns by α = strength radians from its own angle φ to v̂ (toward v̂ for α > 0, away
//           for α < 0, θ kept in [0, π]); strength 0 leaves h untouched, so a sweep's 0 is the unsteered
//           reference, and ‖h‖ is kept exactly.
// Arithmetic is float64, stored back as float32.
import { type ControlVectorSpec, prepareControlVector } from "./control-vector.js";

export type SteeringMode = "add" | "ablate" | "rotate";

/** A control vector plus how it acts: the per-sequence steering a generate or capture request carries. */
export interface SequenceSteeringSpec extends ControlVectorSpec {
  /**
   * Default "add". For "ablate" the strength is ignored; for "rotate" it is the angle α in radians (−π…π) by
   * which h turns in the plane of h and v̂: toward v̂ when positive, away when negative, 0 = unchanged.
   */
  mode?: SteeringMode;
  /**
   * Ablate only: the key of `data` whose direction is ablated at every chosen block (default: the middle key).
   * The layer range of an ablation is blocks 0..nLayer−1 (default: all), 0 included.
   */
  directionLayer?: number;
}

export interface PreparedSteering {
  mode: SteeringMode;
  layerStart: number;
  layerEnd: number;
  strength: number;
  normPreserving: boolean;
  /** Per steered layer: s·v (add, float32 as llama.cpp would add it) or the unit direction v̂ (ablate, rotate). */
  layers: Map<number, Float32Array>;
  /** The rotation angle α in radians (rotate): toward v̂ when positive, away when negative. */
  theta: number;
  /** Ablate: the layer of the vector whose direction is ablated. */
  directionLayer?: number;
  /** Ablate with layerStart 0: the token embedding is ablated too. */
  embedding: boolean;
}

/** Validates a spec against the model's shape (errors name the layer or value) and precomputes the rows. */
export function prepareSteering(spec: SequenceSteeringSpec, nEmbd: number, nLayer: number): PreparedSteering {
  const mode = spec.mode ?? "add";
  if (mode !== "add" && mode !== "ablate" && mode !== "rotate") {
    throw new RangeError(`steering mode "${String(mode)}" is not one of add, ablate, rotate`);
  }
  const strength = spec.strength ?? 1;
  if (mode === "rotate" && !(Math.abs(strength) <= Math.PI)) {
    throw new RangeError(`rotate steering: strength ${strength} must be an angle in radians, −π…π`);
  }
  if (mode !== "add" && spec.normPreserving) {
    throw new RangeError(`steering mode ${mode} keeps or sets the norm itself: normPreserving is for add`);
  }
  if (mode === "ablate") return prepareAblation(spec, nEmbd, nLayer);
  if (spec.directionLayer !== undefined) {
    throw new RangeError(`steering mode ${mode}: directionLayer is for ablate`);
  }
  const prepared = prepareControlVector({ ...spec, strength: mode === "add" ? strength : 1 }, nEmbd, nLayer);
  const layers = new Map<number, Float32Array>();
  for (const [il, row] of prepared.applied) {
    if (mode === "add") layers.set(il, row);
    else {
      let n = 0;
      for (const x of row) n += x * x;
      n = Math.sqrt(n);
      layers.set(
        il,
        Float32Array.from(row, (x) => x / n),
      );
    }
  }
  return {
    mode,
    layerStart: prepared.layerStart,
    layerEnd: prepared.layerEnd,
    strength,
    normPreserving: prepared.normPreserving,
    layers,
    theta: strength,
    embedding: false,
  };
}

function prepareAblation(spec: SequenceSteeringSpec, nEmbd: number, nLayer: number): PreparedSteering {
  // The data's shapes are checked as a control vector's; the range is checked here (block 0 is allowed).
  prepareControlVector({ data: spec.data }, nEmbd, nLayer);
  const keys = [...spec.data.keys()].sort((a, b) => a - b);
  const il = spec.directionLayer ?? keys[Math.floor(keys.length / 2)]!;
  const dir = spec.data.get(il);
  if (!dir)
    throw new RangeError(`ablate steering: no direction at layer ${il}; the vector has ${keys.join(", ")}`);
  const layerStart = spec.layerStart ?? 0;
  const layerEnd = spec.layerEnd ?? nLayer - 1;
  if (
    !Number.isInteger(layerStart) ||
    !Number.isInteger(layerEnd) ||
    layerStart < 0 ||
    layerEnd > nLayer - 1 ||
    layerStart > layerEnd
  ) {
    throw new RangeError(
      `ablate steering: blocks ${layerStart}..${layerEnd} are not a range within 0..${nLayer - 1}`,
    );
  }
  let n = 0;
  for (const x of dir) n += x * x;
  n = Math.sqrt(n);
  if (n === 0) throw new RangeError(`ablate steering: the direction at layer ${il} is the zero vector`);
  const u = Float32Array.from(dir, (x) => x / n);
  const layers = new Map<number, Float32Array>();
  for (let b = layerStart; b <= layerEnd; b++) layers.set(b, u);
  return {
    mode: "ablate",
    layerStart,
    layerEnd,
    strength: spec.strength ?? 1,
    normPreserving: false,
    layers,
    theta: 0,
    directionLayer: il,
    embedding: layerStart === 0,
  };
}

/** Applies a prepared steering's layer `il` to `rows` consecutive rows of `data` (nEmbd floats each), in place. */
export function steerRows(data: Float32Array, nEmbd: number, s: PreparedSteering, il: number): void {
  const v = s.layers.get(il);
  if (!v) return;
  for (let off = 0; off + nEmbd <= data.length; off += nEmbd) {
    const h = data.subarray(off, off + nEmbd);
    if (s.mode === "add") addRow(h, v, s.normPreserving);
    else if (s.mode === "ablate") ablateRow(h, v);
    else rotateRow(h, v, s.theta);
  }
}

function addRow(h: Float32Array, v: Float32Array, normPreserving: boolean): void {
  if (!normPreserving) {
    for (let i = 0; i < h.length; i++) h[i] = h[i]! + v[i]!;
    return;
  }
  let before = 0;
  let after = 0;
  for (let i = 0; i < h.length; i++) {
    const x = h[i]!;
    const y = x + v[i]!;
    before += x * x;
    after += y * y;
  }
  const scale = after === 0 ? 1 : Math.sqrt(before / after);
  for (let i = 0; i < h.length; i++) h[i] = (h[i]! + v[i]!) * scale;
}

function ablateRow(h: Float32Array, u: Float32Array): void {
  let d = 0;
  for (let i = 0; i < h.length; i++) d += h[i]! * u[i]!;
  for (let i = 0; i < h.length; i++) h[i] = h[i]! - d * u[i]!;
}

function rotateRow(h: Float32Array, u: Float32Array, alpha: number): void {
  if (alpha === 0) return; // strength 0 is the unsteered reference, bit for bit
  let a = 0;
  let r2 = 0;
  for (let i = 0; i < h.length; i++) {
    a += h[i]! * u[i]!;
    r2 += h[i]! * h[i]!;
  }
  // The orthogonal part w = h − a·v̂, summed directly (r² − a² would cancel when h is near ±v̂).
  let w2 = 0;
  for (let i = 0; i < h.length; i++) {
    const w = h[i]! - a * u[i]!;
    w2 += w * w;
  }
  // h along ±v̂: the plane of h and v̂ is undefined, so h is left as it is.
  if (!(w2 > 1e-24 * r2)) return;
  const r = Math.sqrt(r2);
  // Rotate by α within the plane: the angle to v̂ goes from φ to φ − α (toward v̂ for α > 0, away for α < 0),
  // kept within [0, π] so a large angle stops at ±v̂ instead of wrapping round.
  const phi = Math.atan2(Math.sqrt(w2), a);
  const target = Math.min(Math.PI, Math.max(0, phi - alpha));
  const c = r * Math.cos(target);
  const sn = (r * Math.sin(target)) / Math.sqrt(w2);
  for (let i = 0; i < h.length; i++) {
    const x = h[i]!;
    h[i] = c * u[i]! + sn * (x - a * u[i]!);
  }
}
