// A strength sweep as a run config: one activation condition per strength (strength 0 = the unsteered
// reference), optionally on top of a prompt condition, plus the pro_ic / anti_ic prompt conditions so that the
// same run (same items, same judge) also measures prompt steering for the comparison.
import { parseRunConfig, type RunConfig } from "../config/run-config.js";
import type { ControlRecord, SweepRecord, WithPrompt } from "../config/sweep-record.js";
import type { ConditionSpec } from "../protocol/conditions.js";

// The stored `sweep` record's schema lives with the stored config's (config/sweep-record.ts).
export { type SweepRecord, WITH_PROMPT, type WithPrompt } from "../config/sweep-record.js";

/** What a sweep steers with, as stored beside the run config (`sweep` key). */
export interface SweepSpec {
  /** The vector as the conditions name it (an absolute path for local files). */
  vector: string;
  /** sha256 of the vector file: part of the condition descriptions, so an edited vector is a new run. */
  vectorSha256?: string;
  strengths: number[];
  layers?: [number, number];
  normPreserving?: boolean;
  /** Apply every strength on top of this prompt condition. */
  withPrompt?: WithPrompt;
  /** Also run the pro_ic and anti_ic prompt conditions (default true). */
  promptSteering?: boolean;
  /** How the direction acts (default add); ablate has no strength, so it is no sweep. */
  mode?: "add" | "rotate";
  /** The random-direction control swept at the same strengths (`ctl<strength>` conditions). */
  control?: ControlSpec;
  /**
   * Further seeded controls (`ctl.s<seed><strength>` conditions): one random direction can move behaviour
   * by chance as much as the vector, so specificity is also reported over several seeds.
   */
  extraControls?: ControlSpec[];
  /**
   * Also send the steering in the request body, for remote servers (steerbench `serve`):
   * `{"steering": {"vector", "layers", "strength", "normPreserving"}}`.
   */
  requestBody?: boolean;
}

export interface ControlSpec {
  vector: string;
  vectorSha256?: string;
  seed: number;
}

/** "+4", "-2.5", "0": strengths as they appear in condition names. */
export function strengthLabel(strength: number): string {
  if (strength === 0) return "0";
  return strength > 0 ? `+${strength}` : `${strength}`;
}

export function sweepConditionName(strength: number, withPrompt?: WithPrompt, prefix = "act"): string {
  const act = `${prefix}${strengthLabel(strength)}`;
  return withPrompt ? `${withPrompt}.${act}` : act;
}

/** The control's condition name at a strength (`ctl+4`, or `pro_ic.ctl+4` on top of a prompt). */
export function controlConditionName(
  strength: number,
  withPrompt?: WithPrompt,
  mode?: "add" | "rotate",
  /** A further control's seed (`ctl.s3+4`); the first control has none. */
  extraSeed?: number,
): string {
  const prefix = `${mode === "rotate" ? "rotctl" : "ctl"}${extraSeed === undefined ? "" : `.s${extraSeed}`}`;
  return sweepConditionName(strength, withPrompt, prefix);
}

/** Condition-name prefix of a sweep's own strengths: `act` for addition, `rot` for rotation. */
export const sweepPrefix = (mode?: "add" | "rotate"): string => (mode === "rotate" ? "rot" : "act");

/** Parses "-8,-4,0,4,8" (sorted, de-duplicated; 0 is added when missing: it is the reference). */
export function parseStrengths(text: string): number[] {
  const parts = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.length === 0) throw new RangeError("--strengths: give a comma list, e.g. -8,-4,0,4,8");
  const values = parts.map((p) => {
    const n = Number(p);
    if (!Number.isFinite(n)) throw new RangeError(`--strengths: "${p}" is not a number`);
    return n;
  });
  return normaliseStrengths(values);
}

export function normaliseStrengths(values: readonly number[]): number[] {
  const set = new Set(values.map((v) => (Object.is(v, -0) ? 0 : v)));
  set.add(0);
  return [...set].sort((a, b) => a - b);
}

/** Parses "a-b" or "a" into an inclusive layer range. */
export function parseLayerRange(text: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) throw new RangeError(`layers "${text}": use FIRST-LAST (e.g. 8-20) or one layer`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a > b) throw new RangeError(`layers "${text}": first layer ${a} is after last layer ${b}`);
  return [a, b];
}

/** The steering object a remote steerbench `serve` reads from the request body. */
export function steeringBody(
  spec: SweepSpec,
  strength: number,
  vector = spec.vector,
): Record<string, unknown> {
  return {
    steering: {
      vector,
      ...(spec.layers ? { layers: spec.layers } : {}),
      strength,
      normPreserving: spec.normPreserving ?? false,
      ...(spec.mode && spec.mode !== "add" ? { mode: spec.mode } : {}),
    },
  };
}

/** The sweep's conditions, as run-config condition entries (presets by name, the rest as objects). */
export function sweepConditions(spec: SweepSpec): (string | ConditionSpec)[] {
  const strengths = normaliseStrengths(spec.strengths);
  const hash = spec.vectorSha256 ? ` (sha256 ${spec.vectorSha256.slice(0, 16)})` : "";
  const out: (string | ConditionSpec)[] = strengths.map((strength) => {
    const c: ConditionSpec = {
      name: sweepConditionName(strength, spec.withPrompt, sweepPrefix(spec.mode)),
      description:
        strength === 0
          ? `activation steering at strength 0: the unsteered reference${hash}`
          : `activation steering with ${spec.vector}${hash} at strength ${strength}`,
      activation: {
        vector: spec.vector,
        strength,
        ...(spec.layers ? { layers: spec.layers } : {}),
        ...(spec.normPreserving ? { normPreserving: true } : {}),
        ...(spec.mode && spec.mode !== "add" ? { mode: spec.mode } : {}),
      },
    };
    if (spec.withPrompt) c.preset = spec.withPrompt;
    if (spec.requestBody) c.requestBody = steeringBody(spec, strength);
    return c;
  });
  const controls: [ControlSpec, number | undefined][] = [
    ...(spec.control ? [[spec.control, undefined] as [ControlSpec, undefined]] : []),
    ...(spec.extraControls ?? []).map((c): [ControlSpec, number] => [c, c.seed]),
  ];
  for (const [control, extraSeed] of controls) {
    const chash = control.vectorSha256 ? ` (sha256 ${control.vectorSha256.slice(0, 16)})` : "";
    for (const strength of strengths.filter((s) => s !== 0)) {
      const c: ConditionSpec = {
        name: controlConditionName(strength, spec.withPrompt, spec.mode, extraSeed),
        description: `random-direction control (seed ${control.seed}, the vector's per-layer norm) ${control.vector}${chash} at strength ${strength}`,
        activation: {
          vector: control.vector,
          strength,
          ...(spec.layers ? { layers: spec.layers } : {}),
          ...(spec.normPreserving ? { normPreserving: true } : {}),
          ...(spec.mode && spec.mode !== "add" ? { mode: spec.mode } : {}),
        },
      };
      if (spec.withPrompt) c.preset = spec.withPrompt;
      if (spec.requestBody) c.requestBody = steeringBody(spec, strength, control.vector);
      out.push(c);
    }
  }
  if (spec.promptSteering ?? true) out.push("pro_ic", "anti_ic");
  return out;
}

export function sweepRecord(spec: SweepSpec): SweepRecord {
  const strengths: Record<string, number> = {};
  for (const s of normaliseStrengths(spec.strengths)) {
    strengths[sweepConditionName(s, spec.withPrompt, sweepPrefix(spec.mode))] = s;
  }
  const record: SweepRecord = { vector: spec.vector, strengths };
  if (spec.vectorSha256) record.vectorSha256 = spec.vectorSha256;
  if (spec.layers) record.layers = spec.layers;
  if (spec.normPreserving) record.normPreserving = true;
  if (spec.mode && spec.mode !== "add") record.mode = spec.mode;
  if (spec.withPrompt) record.withPrompt = spec.withPrompt;
  const strengthsOf = (extraSeed?: number) => {
    const cs: Record<string, number> = {};
    for (const s of normaliseStrengths(spec.strengths)) {
      if (s !== 0) cs[controlConditionName(s, spec.withPrompt, spec.mode, extraSeed)] = s;
    }
    return cs;
  };
  if (spec.control) {
    record.control = { ...spec.control, strengths: strengthsOf() };
    if (spec.extraControls && spec.extraControls.length > 0) {
      record.control.extra = spec.extraControls.map((c) => ({ ...c, strengths: strengthsOf(c.seed) }));
    }
  }
  return record;
}

/** Every seeded control of a stored sweep record, the first one first. */
export function controlsOf(record: SweepRecord | undefined): ControlRecord[] {
  if (!record?.control) return [];
  const { extra, ...first } = record.control;
  return [first, ...(extra ?? [])];
}

/** The condition names of every control of a stored sweep record. */
export function controlConditionNames(record: SweepRecord | undefined): string[] {
  return controlsOf(record).flatMap((c) => Object.keys(c.strengths));
}

export interface SweepConfigInput {
  spec: SweepSpec;
  /** The subject model entry (as in a run config's `models`). */
  model: Record<string, unknown> & { model: string };
  /** Judge entries (as in a run config's `judges`). */
  judges: Record<string, unknown>[];
  name?: string;
  data?: string;
  selection?: unknown;
  limit?: number;
  categories?: string[];
  decoding?: { maxTokens?: number; temperature?: number; seed?: number };
  epochs?: number;
  concurrency?: number;
}

/**
 * The run config of a sweep. With an in-process model, items run one at a time by default: there is one
 * llama.cpp context, and a label-scoring judge on the same model must not score while another item's control
 * vector is set.
 */
export function buildSweepConfig(input: SweepConfigInput): RunConfig {
  const local =
    (input.model.provider ?? (input.model.model.endsWith(".gguf") ? "llama" : "openai")) === "llama";
  const raw: Record<string, unknown> = {
    conditions: sweepConditions(input.spec),
    models: [{ ...input.model, provider: local ? "llama" : input.model.provider }],
    judges: input.judges,
    concurrency: input.concurrency ?? (local ? 1 : 16),
  };
  if (input.name !== undefined) raw.name = input.name;
  if (input.data !== undefined) raw.data = input.data;
  if (input.selection !== undefined) raw.selection = input.selection;
  if (input.limit !== undefined) raw.limit = input.limit;
  if (input.categories !== undefined) raw.categories = input.categories;
  if (input.epochs !== undefined) raw.epochs = input.epochs;
  const decoding = Object.fromEntries(
    Object.entries(input.decoding ?? {}).filter(([, v]) => v !== undefined),
  );
  if (Object.keys(decoding).length > 0) raw.decoding = decoding;
  return parseRunConfig(raw, "(sweep)");
}
