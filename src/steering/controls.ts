// Controls for a steering vector, run by every sweep:
//
// - A random-direction control: per layer, a seeded Gaussian direction rescaled to the vector's own norm at
//   that layer, swept at the same strengths. A vector that moves behaviour only as much as any push of the
//   same size is not specific.
// - Specificity Δ(vector) / Δ(control): Δ is the Conv.% gap between the strongest usable positive and negative
//   strengths (or either against 0), for the vector and for the control at the same strengths. Its 95%
//   interval is a seeded paired percentile bootstrap (2,000 resamples) over benchmark items (scenario, epoch):
//   each resample draws items with replacement and recomputes all four Conv.% over the drawn items that are
//   valid in each condition. Resamples where the control's Δ is 0 give ±∞ (kept: the interval is then
//   unbounded on that side); resamples where both Δ are 0 are undefined and left out (their count is reported).
// - A sign check: does positive strength move held-out prompts' hidden states toward the positive class?
//   Measured at the first layer after the steered range (the last layer if none), on the axis between the
//   unsteered class means of the held-out pairs.

import type { ControlVector } from "../gguf/vector-file.js";
import type { LlamaEngine } from "../llama/engine.js";
import { fitPrompt } from "../llama/fit-prompt.js";
import type { SequenceSteeringSpec } from "../llama/steer-ops.js";
import type { Interval } from "../metrics/interval.js";
import { mulberry32, quantileSorted } from "../metrics/random.js";
import type { Outcome } from "../metrics/table1.js";
import { wilson } from "../metrics/wilson.js";
import type { ChatMessage } from "../types.js";
import { norm } from "./math.js";
import type { ContrastPair } from "./pairs.js";

/** A seeded random direction per layer with the vector's per-layer norm. */
export function randomControl(vec: ControlVector, seed: number): ControlVector {
  const rand = mulberry32(seed);
  const gauss = () => {
    const u = 1 - rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const directions = new Map<number, Float32Array>();
  for (const il of [...vec.directions.keys()].sort((a, b) => a - b)) {
    const target = norm(vec.directions.get(il)!);
    const r = Float64Array.from({ length: vec.nEmbd }, gauss);
    const n = norm(r);
    directions.set(
      il,
      Float32Array.from(r, (x) => (n === 0 ? 0 : (x / n) * target)),
    );
  }
  return { directions, nEmbd: vec.nEmbd, modelHint: vec.modelHint };
}

export interface Specificity {
  /** The strengths compared (high vs low). */
  high: number;
  low: number;
  /** Conv.% gap high − low, percentage points. */
  vectorDelta: number | null;
  controlDelta: number | null;
  /** vectorDelta / controlDelta (±Infinity when the control does not move at all). */
  ratio: number | null;
  ratioCI: Interval | null;
  /** Bootstrap resamples left out because both gaps were 0. */
  undefinedResamples: number;
  resamples: number;
  /** Items in the comparison (distinct scenario × epoch). */
  items: number;
}

const key = (o: Outcome) => `${o.scenarioId}\u0000${o.epoch}`;

function convRate(list: readonly (Outcome | undefined)[]): number | null {
  let valid = 0;
  let conv = 0;
  for (const o of list) {
    if (!o || o.label === undefined || o.label === "nonsensical") continue;
    valid++;
    if (o.label === "convergence") conv++;
  }
  return valid === 0 ? null : (100 * conv) / valid;
}

/** condition → item key → outcome. */
function byCondition(outcomes: readonly Outcome[]): Map<string, Map<string, Outcome>> {
  const by = new Map<string, Map<string, Outcome>>();
  for (const o of outcomes) {
    let m = by.get(o.condition);
    if (!m) {
      m = new Map();
      by.set(o.condition, m);
    }
    m.set(key(o), o);
  }
  return by;
}

/**
 * Specificity of the vector against its control at `high` vs `low` strength. `names` maps each of the four
 * (vector/control × high/low) to its condition name.
 */
export function specificity(
  outcomes: readonly Outcome[],
  names: { vectorHigh: string; vectorLow: string; controlHigh: string; controlLow: string },
  strengths: { high: number; low: number },
  opts: { seed?: number; resamples?: number } = {},
): Specificity {
  const by = byCondition(outcomes);
  const conds = [names.vectorHigh, names.vectorLow, names.controlHigh, names.controlLow];
  const items = [...new Set(conds.flatMap((c) => [...(by.get(c)?.keys() ?? [])]))].sort();
  const deltas = (sample: readonly string[]) => {
    const r = conds.map((c) => convRate(sample.map((k) => by.get(c)?.get(k))));
    const dv = r[0] === null || r[1] === null ? null : r[0]! - r[1]!;
    const dc = r[2] === null || r[3] === null ? null : r[2]! - r[3]!;
    return { dv, dc };
  };
  const ratioOf = (dv: number | null, dc: number | null): number | null => {
    if (dv === null || dc === null) return null;
    if (dc === 0) return dv === 0 ? Number.NaN : dv > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    return dv / dc;
  };
  const { dv, dc } = deltas(items);
  const point = ratioOf(dv, dc);
  const resamples = opts.resamples ?? 2000;
  const rand = mulberry32(opts.seed ?? 0);
  const ratios: number[] = [];
  let undefinedResamples = 0;
  if (items.length > 0 && point !== null) {
    for (let b = 0; b < resamples; b++) {
      const sample = items.map(() => items[Math.floor(rand() * items.length)]!);
      const d = deltas(sample);
      const r = ratioOf(d.dv, d.dc);
      if (r === null || Number.isNaN(r)) undefinedResamples++;
      else ratios.push(r);
    }
  }
  ratios.sort((a, b) => a - b);
  // Linear interpolation between an infinity and anything is undefined: fall back to the nearest rank there.
  const q = (p: number) => {
    const v = quantileSorted(ratios, p);
    return Number.isNaN(v) ? ratios[Math.round((ratios.length - 1) * p)]! : v;
  };
  return {
    high: strengths.high,
    low: strengths.low,
    vectorDelta: dv,
    controlDelta: dc,
    ratio: point === null || Number.isNaN(point) ? null : point,
    ratioCI: ratios.length > 0 ? [q(0.025), q(0.975)] : null,
    undefinedResamples,
    resamples: items.length > 0 && point !== null ? resamples : 0,
    items: items.length,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Controls over several seeds. One random direction can move Conv.% by chance as much as the vector (measured
// on the previous steerling, issue 13: seeds 0-7 at the same strengths moved it from 3 to 71 pp), so the vector is also compared
// with the mean over N seeds of how much each control moves Conv.%, measured two ways: |gap| (high − low,
// as for the vector) and the largest one-sided move from strength 0 (a push that sends both signs the same
// way has a small gap but still moves behaviour). Both ratios are the vector's value over the controls'
// mean; their 95% intervals come from the same paired bootstrap over items as `specificity`.

export interface ControlSeedMove {
  seed: number;
  /** Conv.% gap high − low, pp. */
  gap: number | null;
  /** max(|Conv.%(high) − Conv.%(0)|, |Conv.%(low) − Conv.%(0)|), pp. */
  shift: number | null;
}

export interface ControlSpread {
  high: number;
  low: number;
  seeds: ControlSeedMove[];
  vectorGap: number | null;
  vectorShift: number | null;
  /** Mean over seeds of |gap| and of shift, pp, with bootstrap intervals. */
  meanAbsGap: number | null;
  meanAbsGapCI: Interval | null;
  meanShift: number | null;
  meanShiftCI: Interval | null;
  /** |vectorGap| / meanAbsGap and vectorShift / meanShift (+Infinity when the controls do not move). */
  gapRatio: number | null;
  gapRatioCI: Interval | null;
  shiftRatio: number | null;
  shiftRatioCI: Interval | null;
  resamples: number;
  /** Resamples left out of an interval because a rate in them was undefined (no valid item drawn), per measure. */
  undefinedResamples: { meanAbsGap: number; meanShift: number; gapRatio: number; shiftRatio: number };
  items: number;
}

export interface SpreadNames {
  zero: string;
  vectorHigh: string;
  vectorLow: string;
  controls: { seed: number; high: string; low: string }[];
}

/** The vector against the mean movement of several seeded controls at `high` vs `low` strength. */
export function controlSpread(
  outcomes: readonly Outcome[],
  names: SpreadNames,
  strengths: { high: number; low: number },
  opts: { seed?: number; resamples?: number } = {},
): ControlSpread {
  const by = byCondition(outcomes);
  const conds = [
    names.zero,
    names.vectorHigh,
    names.vectorLow,
    ...names.controls.flatMap((c) => [c.high, c.low]),
  ];
  const items = [...new Set(conds.flatMap((c) => [...(by.get(c)?.keys() ?? [])]))].sort();
  const rate = (c: string, sample: readonly string[]) => convRate(sample.map((k) => by.get(c)?.get(k)));
  const move = (zero: number | null, high: number | null, low: number | null) => ({
    gap: high === null || low === null ? null : high - low,
    shift:
      zero === null || high === null || low === null
        ? null
        : Math.max(Math.abs(high - zero), Math.abs(low - zero)),
  });
  const mean = (xs: (number | null)[]) =>
    xs.length === 0 || xs.some((x) => x === null) ? null : xs.reduce((a, x) => a! + x!, 0)! / xs.length;
  const ratio = (v: number | null, c: number | null) =>
    v === null || c === null ? null : c === 0 ? (v === 0 ? null : Number.POSITIVE_INFINITY) : v / c;
  const measure = (sample: readonly string[]) => {
    const zero = rate(names.zero, sample);
    const vector = move(zero, rate(names.vectorHigh, sample), rate(names.vectorLow, sample));
    const seeds = names.controls.map((c) => ({
      seed: c.seed,
      ...move(zero, rate(c.high, sample), rate(c.low, sample)),
    }));
    const meanAbsGap = mean(seeds.map((x) => (x.gap === null ? null : Math.abs(x.gap))));
    const meanShift = mean(seeds.map((x) => x.shift));
    return {
      vector,
      seeds,
      meanAbsGap,
      meanShift,
      gapRatio: ratio(vector.gap === null ? null : Math.abs(vector.gap), meanAbsGap),
      shiftRatio: ratio(vector.shift, meanShift),
    };
  };
  const point = measure(items);
  const resamples = items.length > 0 ? (opts.resamples ?? 2000) : 0;
  const rand = mulberry32(opts.seed ?? 0);
  const draws = {
    meanAbsGap: [] as number[],
    meanShift: [] as number[],
    gapRatio: [] as number[],
    shiftRatio: [] as number[],
  };
  const undefinedResamples = { meanAbsGap: 0, meanShift: 0, gapRatio: 0, shiftRatio: 0 };
  for (let b = 0; b < resamples; b++) {
    const m = measure(items.map(() => items[Math.floor(rand() * items.length)]!));
    for (const k of Object.keys(draws) as (keyof typeof draws)[]) {
      if (m[k] !== null) draws[k].push(m[k]!);
      else undefinedResamples[k]++;
    }
  }
  const ci = (xs: number[]): Interval | null => {
    if (xs.length === 0) return null;
    xs.sort((a, b) => a - b);
    // Nearest rank where an infinity is involved (interpolating with it is undefined).
    const q = (p: number) => {
      const v = quantileSorted(xs, p);
      return Number.isNaN(v) ? xs[Math.round((xs.length - 1) * p)]! : v;
    };
    return [q(0.025), q(0.975)];
  };
  return {
    high: strengths.high,
    low: strengths.low,
    seeds: point.seeds,
    vectorGap: point.vector.gap,
    vectorShift: point.vector.shift,
    meanAbsGap: point.meanAbsGap,
    meanAbsGapCI: ci(draws.meanAbsGap),
    meanShift: point.meanShift,
    meanShiftCI: ci(draws.meanShift),
    gapRatio: point.gapRatio,
    gapRatioCI: ci(draws.gapRatio),
    shiftRatio: point.shiftRatio,
    shiftRatioCI: ci(draws.shiftRatio),
    resamples,
    undefinedResamples,
    items: items.length,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Sign check.

export type SignCheckEngine = Pick<
  LlamaEngine,
  | "info"
  | "tokenize"
  | "applyChatTemplate"
  | "captureHiddenStates"
  | "setControlVector"
  | "clearControlVector"
>;

export interface SignShift {
  strength: number;
  /** Mean shift of the held-out prompts' projections on the class axis, as a share of the class-mean gap. */
  shift: number;
  /** Prompts whose projection moved toward the positive class. */
  towardPositive: number;
  prompts: number;
  /** Wilson interval of towardPositive / prompts, percent. */
  towardPositiveCI: Interval | null;
}

export interface SignCheck {
  /** Layer il where the projections were read. */
  layer: number;
  pairs: number;
  /** Where the pairs came from, e.g. "held-out categories a, b". */
  source?: string;
  shifts: SignShift[];
  /** Positive strengths move toward the positive class and negative ones away from it. */
  passed: boolean;
  /** Unsteered class-mean gap along the axis (‖μ₊ − μ₋‖). */
  classGap: number;
}

/** The layer read by the sign check: the first after the steered range, else the last one. */
export function signCheckLayer(range: [number, number], nLayer: number): number {
  return Math.min(range[1] + 1, nLayer - 1);
}

type SpecFor = (strength: number) => Promise<SequenceSteeringSpec>;

async function lastStates(
  engine: SignCheckEngine,
  prompts: ChatMessage[][],
  layer: number,
  steering?: SequenceSteeringSpec,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const full of prompts) {
    // Long prompts are cut from the front, as extraction cuts them.
    const messages = fitPrompt(engine, full, engine.info.contextSize).prompt as ChatMessage[];
    const s = await engine.captureHiddenStates({
      messages,
      layers: [layer],
      positions: "last",
      ...(steering ? { steering } : {}),
    });
    out.push(s.get(layer)![0]!);
  }
  return out;
}

/**
 * Runs the sign check on held-out pairs at the given strengths (`specFor` gives the engine's control-vector
 * spec of a strength, as the sweep's conditions would set it).
 */
export async function signCheck(
  engine: SignCheckEngine,
  pairs: readonly ContrastPair[],
  strengths: readonly number[],
  specFor: SpecFor,
  layer: number,
): Promise<SignCheck> {
  if (pairs.length === 0) throw new RangeError("sign check: no held-out pairs");
  const messages = (m: string | ChatMessage[]): ChatMessage[] =>
    typeof m === "string" ? [{ role: "user", content: m }] : m;
  const prompts = pairs.flatMap((p) => [messages(p.positive), messages(p.negative)]);
  await engine.clearControlVector();
  const base = await lastStates(engine, prompts, layer);
  const nEmbd = engine.info.nEmbd;
  const mean = (rows: Float32Array[]) => {
    const m = new Float64Array(nEmbd);
    for (const r of rows) for (let k = 0; k < nEmbd; k++) m[k]! += r[k]! / rows.length;
    return m;
  };
  const muPos = mean(base.filter((_, i) => i % 2 === 0));
  const muNeg = mean(base.filter((_, i) => i % 2 === 1));
  const axis = Float64Array.from(muPos, (x, k) => x - muNeg[k]!);
  const gap = norm(axis);
  const unitAxis = Float64Array.from(axis, (x) => (gap === 0 ? 0 : x / gap));
  const proj = (h: Float32Array) => h.reduce((a, x, k) => a + x * unitAxis[k]!, 0);
  const shifts: SignShift[] = [];
  for (const s of strengths) {
    // Per request, so the spec's mode (add, rotate, ablate) acts as in the sweep's runs.
    const steered = await lastStates(engine, prompts, layer, await specFor(s));
    const d = steered.map((h, i) => proj(h) - proj(base[i]!));
    const toward = d.filter((x) => x > 0).length;
    const w = wilson(toward, d.length);
    shifts.push({
      strength: s,
      shift: gap === 0 ? 0 : d.reduce((a, b) => a + b, 0) / d.length / gap,
      towardPositive: toward,
      prompts: d.length,
      towardPositiveCI: w ? [w[0] * 100, w[1] * 100] : null,
    });
  }
  const passed =
    gap > 0 && shifts.every((x) => (x.strength > 0 ? x.shift > 0 : x.strength < 0 ? x.shift < 0 : true));
  return { layer, pairs: pairs.length, shifts, passed, classGap: gap };
}
