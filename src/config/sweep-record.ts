// The `sweep` record a strength sweep stores beside its run config: the spec, each activation condition's
// strength, and what was measured once (perplexities, side effects, the sign check). Lives here, below the
// runner, because it is part of the stored config's schema (stored-config.ts); steering/ builds it.
import { z } from "zod";

export const WITH_PROMPT = ["baseline", "pro_ic", "anti_ic"] as const;
export type WithPrompt = (typeof WITH_PROMPT)[number];

export const perplexityResultSchema = z.object({
  perplexity: z.number(),
  logProb: z.number(),
  tokens: z.number().int(),
  promptTruncated: z.boolean(),
  passageTruncated: z.boolean(),
});

const intervalSchema = z.tuple([z.number(), z.number()]);

export const sideEffectSchema = z.object({
  prompts: z.number().int(),
  klMean: z.number(),
  klCI: intervalSchema.nullable(),
  klMax: z.number(),
  changed: z.number().int(),
  changedRate: z.number(),
  changedCI: intervalSchema.nullable(),
  maxTokens: z.number().int(),
});

export const signCheckSchema = z.object({
  layer: z.number().int(),
  pairs: z.number().int(),
  source: z.string().optional(),
  passed: z.boolean(),
  classGap: z.number(),
  shifts: z.array(
    z.object({
      strength: z.number(),
      shift: z.number(),
      towardPositive: z.number().int(),
      prompts: z.number().int(),
      towardPositiveCI: intervalSchema.nullable(),
    }),
  ),
});

const controlRecordSchema = z.object({
  vector: z.string(),
  vectorSha256: z.string().optional(),
  seed: z.number().int(),
  /** Condition name → strength. */
  strengths: z.record(z.string(), z.number()),
});

/** One seeded random-direction control of a sweep. */
export type ControlRecord = z.infer<typeof controlRecordSchema>;

// Loose, as the rest of the stored config: a key a newer version adds survives a rewrite (withStored) by this one.
export const sweepRecordSchema = z.looseObject({
  /** The swept vector (always set by `steerbench sweep`; a library caller's sweep run may omit it). */
  vector: z.string().optional(),
  vectorSha256: z.string().optional(),
  layers: z.tuple([z.number().int(), z.number().int()]).optional(),
  /** Why these layers, when they were chosen by `--layers auto`. */
  layersReason: z.string().optional(),
  normPreserving: z.boolean().optional(),
  mode: z.enum(["add", "rotate"]).optional(),
  withPrompt: z.enum(WITH_PROMPT).optional(),
  strengths: z.record(z.string(), z.number()),
  control: controlRecordSchema
    .extend({
      /** Further seeds (`--control-seeds`), each swept at the same strengths. */
      extra: z.array(controlRecordSchema).optional(),
    })
    .optional(),
  /** Next-token KL and changed answers on neutral prompts, per condition (see steering/side-effects.ts). */
  sideEffects: z
    .object({ promptsSha256: z.string(), byCondition: z.record(z.string(), sideEffectSchema) })
    .optional(),
  /** Skipped side effects, with the reason (e.g. a K-quant output head). */
  sideEffectsSkipped: z.string().optional(),
  signCheck: signCheckSchema.optional(),
  signCheckSkipped: z.string().optional(),
  perplexity: z
    .object({
      passageSha256: z.string(),
      reference: perplexityResultSchema,
      byCondition: z.record(z.string(), perplexityResultSchema),
    })
    .optional(),
});

export type SweepRecord = z.infer<typeof sweepRecordSchema>;
