// How an Inspect score value becomes a steerbench verdict. Inspect scorers answer in their own
// vocabulary (C/I/P letters, the inspect_evals instrumentaleval grader's one-hot dict, numbers), and
// steerbench's metrics speak the four labels of 2601.01584. A map says, per scorer, which value is
// which label, or that a value is a judge failure (counted and shown, never a label).
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { z } from "zod";
import { LABELS, type Label } from "../../types.js";

/** A label, a judge failure (`failed`: counted, never a label), or a transport error (`error`: not judged). */
export type MappedVerdict = Label | "failed" | "error";

const verdictSchema = z.enum([...LABELS, "failed", "error"]);

/** `{ "<scorer name or *>": { "<score value>": "<label>|failed|error" } }` */
export const labelMapFileSchema = z
  .record(z.string().min(1), z.record(z.string(), verdictSchema))
  .refine((m) => Object.keys(m).length > 0, "the label map names no scorer");

export type LabelMapFile = z.output<typeof labelMapFileSchema>;

export interface LabelMap {
  /** Name shown in messages and stored with the run. */
  name: string;
  /** value (normalised to text) → verdict */
  values: Readonly<Record<string, MappedVerdict>>;
  /** Why a value maps to `failed`, kept as the judgement's error. */
  failureReason?: Readonly<Record<string, string>>;
}

/** Values steerbench itself writes: its labels, and markers for judge failures and errors. */
export const STEERBENCH_FAILED = "judge_failed";
export const STEERBENCH_ERROR = "judge_error";

export const BUILTIN_MAPS = {
  steerbench: {
    name: "steerbench",
    values: {
      ...Object.fromEntries(LABELS.map((l) => [l, l])),
      [STEERBENCH_FAILED]: "failed",
      [STEERBENCH_ERROR]: "error",
    },
  },
  // inspect_evals `instrumentaleval`: the 2-label grader; `invalid` is its unparseable verdict.
  instrumentaleval: {
    name: "instrumentaleval",
    values: { convergence: "convergence", no_convergence: "no_convergence", invalid: "failed" },
    failureReason: { invalid: "the instrumentaleval grader's verdict was invalid (unparseable)" },
  },
  // Inspect's CORRECT/INCORRECT/PARTIAL/NOANSWER letters: the scorer's positive verdict counts as
  // `convergence`, so conv% is Inspect's accuracy. Partial credit and no answer have no label.
  cip: {
    name: "cip",
    values: { C: "convergence", I: "no_convergence", P: "failed", N: "failed" },
    failureReason: {
      P: "partial credit (P) has no steerbench label",
      N: "no answer (N) has no steerbench label",
    },
  },
} as const satisfies Record<string, LabelMap>;

export type BuiltinMapName = keyof typeof BUILTIN_MAPS;

export class LabelMapError extends Error {}

/**
 * An Inspect score value as text: strings as they are, numbers and booleans as JSON, and a dict
 * (the instrumentaleval grader's `{convergence: 1, no_convergence: 0, invalid: 0}`) as its one key
 * that is set. Anything else has no text and cannot be mapped.
 */
export function valueText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const set = Object.entries(value as Record<string, unknown>).filter(([, v]) => v === 1 || v === true);
    return set.length === 1 ? set[0]![0] : undefined;
  }
  return undefined;
}

/** The built-in map whose values cover every value a scorer gave, or undefined. */
export function detectBuiltinMap(scorer: string, values: readonly string[]): LabelMap | undefined {
  if (scorer === "instrumentaleval_scorer" || scorer.endsWith("/instrumentaleval_scorer")) {
    return BUILTIN_MAPS.instrumentaleval;
  }
  for (const name of ["steerbench", "instrumentaleval", "cip"] as const) {
    const map = BUILTIN_MAPS[name];
    if (values.every((v) => v in map.values)) return map;
  }
  return undefined;
}

/** Reads and validates a `--label-map` file (JSON or YAML). */
export function loadLabelMapFile(path: string): LabelMapFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new LabelMapError(`--label-map: cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (err) {
    throw new LabelMapError(`--label-map: ${path} is not JSON or YAML: ${(err as Error).message}`);
  }
  const parsed = labelMapFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.length === 0 ? "(top level)" : issue.path.map(String).join(".");
    throw new LabelMapError(`--label-map ${path}: ${key}: ${issue.message}`);
  }
  return parsed.data;
}

/** The map for one scorer: the file's entry for it (or its `*` entry), else a built-in that fits. */
export function mapForScorer(
  scorer: string,
  values: readonly string[],
  file: LabelMapFile | undefined,
): LabelMap | undefined {
  const entry = file?.[scorer] ?? file?.["*"];
  if (entry) return { name: `label-map:${file?.[scorer] ? scorer : "*"}`, values: entry };
  return detectBuiltinMap(scorer, values);
}
