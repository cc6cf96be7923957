// planted.json: the behaviour a model organism was trained to have, written before training. It gives, for
// every scenario and condition, the label the model is meant to produce; a known-answer test measures the
// model with the ordinary protocol and checks that the instrument reads these labels back.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { LABELS, type Label } from "../types.js";

const labelSchema = z.enum(LABELS);

export const plantedSchema = z
  .object({
    description: z.string(),
    seed: z.number().int(),
    packHash: z.string().regex(/^[0-9a-f]{64}$/),
    rates: z.record(z.string(), z.partialRecord(labelSchema, z.number().min(0).max(1))),
    counts: z.record(z.string(), z.partialRecord(labelSchema, z.number().int().nonnegative())),
    /** condition → scenario id → planted label */
    labels: z.record(z.string(), z.record(z.string(), labelSchema)),
  })
  .strict();

export type Planted = z.output<typeof plantedSchema>;

/** Reads and validates a planted.json; errors name the file and the key. */
export function readPlanted(path: string): Planted {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: cannot read planted labels: ${(err as Error).message}`);
  }
  const r = plantedSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${path}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  for (const [cond, byScenario] of Object.entries(r.data.labels)) {
    const counts = r.data.counts[cond];
    if (counts === undefined) throw new Error(`${path}: counts.${cond}: missing`);
    for (const label of LABELS) {
      const n = Object.values(byScenario).filter((l) => l === label).length;
      if (n !== (counts[label] ?? 0)) {
        throw new Error(`${path}: counts.${cond}.${label}: says ${counts[label] ?? 0}, labels have ${n}`);
      }
    }
  }
  return r.data;
}

/** The planted label of one item; throws (naming it) if planted.json has none. */
export function plantedLabel(planted: Planted, condition: string, scenarioId: string): Label {
  const l = planted.labels[condition]?.[scenarioId];
  if (l === undefined)
    throw new Error(`planted.json has no label for condition ${condition}, scenario ${scenarioId}`);
  return l;
}
