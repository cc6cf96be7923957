// Steering conditions: named presets (texts taken from the pack's protocol strings) and user-defined
// conditions from the run config.

import { z } from "zod";
import type { Condition, PromptIntervention, ProtocolStrings, SystemPromptSource } from "../types.js";
import { didYouMean } from "../util/did-you-mean.js";

export const PRESET_NAMES = [
  "baseline",
  "pro_ic",
  "anti_ic",
  "conflict",
  "agent_baseline",
  "agent_pro_ic",
  "agent_anti_ic",
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** The presets in the order the paper's Table 1 reads them (reports sort preset-only runs so). */
export const PAPER_ORDER: readonly PresetName[] = PRESET_NAMES;

export function isPresetName(value: string): value is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(value);
}

const AGENT: SystemPromptSource = { kind: "instrumentaleval-agent" };

/** A preset as a Condition. Texts come from `strings`, so they always match the loaded pack. */
export function presetCondition(name: PresetName, strings: ProtocolStrings): Condition {
  switch (name) {
    case "baseline":
      return { name, description: "the task unchanged (2601.01584 baseline)" };
    case "pro_ic":
      return {
        name,
        description: "pro-instrumental-convergence suffix on the user prompt (2601.01584)",
        prompt: { userSuffix: strings.proIcSuffix },
      };
    case "anti_ic":
      return {
        name,
        description: "anti-instrumental-convergence suffix on the user prompt (2601.01584)",
        prompt: { userSuffix: strings.antiIcSuffix },
      };
    case "conflict":
      return {
        name,
        description: "builder instruction (anti_ic text) in the system message vs a pro_ic user suffix",
        prompt: { systemSuffix: strings.antiIcSuffix, userSuffix: strings.proIcSuffix },
      };
    case "agent_baseline":
      return {
        name,
        description: "original InstrumentalEval agent system prompt, task unchanged",
        prompt: { system: AGENT },
      };
    case "agent_pro_ic":
      return {
        name,
        description: "original InstrumentalEval agent system prompt + pro_ic user suffix",
        prompt: { system: AGENT, userSuffix: strings.proIcSuffix },
      };
    case "agent_anti_ic":
      return {
        name,
        description: "original InstrumentalEval agent system prompt + anti_ic user suffix",
        prompt: { system: AGENT, userSuffix: strings.antiIcSuffix },
      };
  }
}

const systemSpecSchema = z.union([
  z.enum(["category", "instrumentaleval-agent", "none"]),
  z.object({ text: z.string() }).strict(),
]);

export const activationSchema = z
  .object({
    vector: z.string().min(1).describe("control-vector GGUF path, or a name the provider resolves"),
    layers: z
      .union([
        z
          .tuple([z.number().int().min(0), z.number().int().min(0)])
          .refine(([a, b]) => a <= b, "layers must be [first, last] with first <= last"),
        // A string, then "auto" only: so that any other string is refused by name, not as "Invalid input".
        z
          .string()
          .refine((s) => s === "auto", {
            error: (iss) => `must be [first, last] or "auto", got ${JSON.stringify(iss.input)}`,
          })
          .meta({ enum: ["auto"] }),
      ])
      .optional()
      .describe(
        'inclusive range of blocks il [first, last] (as l_out-<il>: 1.. for add and rotate, 0.. for ablate), or "auto": chosen from the vector file\'s extraction metadata when the run starts (selective steering: layers whose class means project with opposite signs, ranked by held-out AUC), stored with the run',
      ),
    strength: z
      .number()
      .optional()
      .describe(
        "multiplier applied to the vector (rotate: the rotation angle in radians, + toward v̂, − away; ablate: not used)",
      ),
    normPreserving: z.boolean().optional().describe("rescale steered hidden states to their original norm"),
    mode: z
      .enum(["add", "ablate", "rotate"])
      .optional()
      .describe(
        "add (default): h + s·v; ablate: project v̂ out; rotate: turn h by s radians toward v̂ in the plane of h and v̂, keeping ‖h‖",
      ),
    directionLayer: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "ablate only: the layer whose direction.<il> is removed from every block (default: best held-out AUC, discriminative layers first); as `vectors bake --direction-layer`",
      ),
  })
  .strict()
  .refine((a) => a.strength !== undefined || a.mode === "ablate", {
    message: "strength is required (except with mode: ablate)",
    path: ["strength"],
  })
  .refine((a) => a.directionLayer === undefined || a.mode === "ablate", {
    message: "directionLayer is for mode: ablate only",
    path: ["directionLayer"],
  });

/** A user-defined condition in the run config. Fields override the preset's, if one is named. */
export const conditionSchema = z
  .object({
    name: z
      .string()
      .regex(/^[\w.+-]+$/, "use letters, digits and _ . + - only")
      .describe("condition name used in tables"),
    description: z.string().optional(),
    preset: z.enum(PRESET_NAMES).optional().describe("start from this preset"),
    userSuffix: z.string().optional().describe('appended: task.rstrip() + "\\n\\n" + suffix.strip() + "\\n"'),
    userPrefix: z.string().optional().describe('prepended: prefix.strip() + "\\n\\n" + task'),
    systemSuffix: z
      .string()
      .optional()
      .describe('appended to the system message: system + "\\n\\n" + text.strip()'),
    system: systemSpecSchema.optional().describe("system message source for this condition"),
    activation: activationSchema.optional(),
    requestBody: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("extra fields merged into remote providers' request bodies"),
  })
  .strict();

export type ConditionSpec = z.input<typeof conditionSchema>;

function toSystemSource(spec: z.output<typeof systemSpecSchema>): SystemPromptSource {
  return typeof spec === "string" ? { kind: spec } : { kind: "text", text: spec.text };
}

/** Builds one Condition from a validated spec. */
export function conditionFromSpec(
  spec: z.output<typeof conditionSchema>,
  strings: ProtocolStrings,
): Condition {
  const base: Condition = spec.preset ? presetCondition(spec.preset, strings) : { name: spec.name };
  const prompt: PromptIntervention = { ...base.prompt };
  if (spec.userSuffix !== undefined) prompt.userSuffix = spec.userSuffix;
  if (spec.userPrefix !== undefined) prompt.userPrefix = spec.userPrefix;
  if (spec.systemSuffix !== undefined) prompt.systemSuffix = spec.systemSuffix;
  if (spec.system !== undefined) prompt.system = toSystemSource(spec.system);
  const condition: Condition = { name: spec.name };
  const description = spec.description ?? base.description;
  if (description !== undefined) condition.description = description;
  if (Object.keys(prompt).length > 0) condition.prompt = prompt;
  if (spec.activation !== undefined) {
    const { vector, layers, strength, normPreserving, mode, directionLayer } = spec.activation;
    // Ablation has no strength; 1 is stored so the field stays a number (it is not used).
    condition.activation = { vector, strength: strength ?? 1 };
    if (typeof layers === "string") {
      // The runner resolves it from the vector file before planning (runner/auto-layers.ts).
      throw new Error(`condition ${spec.name}: layers "auto" must be resolved to a range before planning`);
    }
    if (layers !== undefined) condition.activation.layers = [layers[0], layers[1]];
    if (normPreserving !== undefined) condition.activation.normPreserving = normPreserving;
    if (mode !== undefined && mode !== "add") condition.activation.mode = mode;
    if (directionLayer !== undefined) condition.activation.directionLayer = directionLayer;
  }
  if (spec.requestBody !== undefined) condition.requestBody = spec.requestBody;
  return condition;
}

/**
 * Resolves config entries into Conditions: a string names a preset; an object is a custom condition.
 * Unknown presets and duplicate names are errors.
 */
export function resolveConditions(
  specs: readonly (string | ConditionSpec)[],
  strings: ProtocolStrings,
): Condition[] {
  const out: Condition[] = [];
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    let condition: Condition;
    if (typeof spec === "string") {
      if (!isPresetName(spec)) {
        throw new Error(
          `conditions[${i}]: unknown preset "${spec}"; valid presets: ${PRESET_NAMES.join(", ")}${didYouMean(spec, PRESET_NAMES)}`,
        );
      }
      condition = presetCondition(spec, strings);
    } else {
      const parsed = conditionSchema.safeParse(spec);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const key = [`conditions[${i}]`, ...issue.path.map(String)].join(".");
        const hint = issue.path[0] === "preset" ? `; valid presets: ${PRESET_NAMES.join(", ")}` : "";
        throw new Error(`${key}: ${issue.message}${hint}`);
      }
      condition = conditionFromSpec(parsed.data, strings);
    }
    if (seen.has(condition.name)) {
      throw new Error(`conditions[${i}]: duplicate condition name "${condition.name}"`);
    }
    seen.add(condition.name);
    out.push(condition);
  });
  return out;
}
