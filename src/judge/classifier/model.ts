// The offline judge's model file: feature settings, kept hash buckets with their IDF, softmax weights
// and where the model came from (run, judge, models, item counts, training settings). Validated with
// zod on load, so a truncated or foreign file fails with a message naming the file and key.
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { LABELS, type Label } from "../../types.js";
import {
  type Document,
  featureSettingsSchema,
  positions,
  type SparseVector,
  termCounts,
  type Vocabulary,
  vectorize,
} from "./features.js";
import { predictProba, type SoftmaxModel } from "./softmax.js";

export const MODEL_FORMAT = "steerbench-classifier";
export const MODEL_VERSION = 1;

export const provenanceSchema = z
  .object({
    run: z.string(),
    runName: z.string(),
    judge: z.string(),
    models: z.array(z.string()),
    conditions: z.array(z.string()),
    items: z.number().int().nonnegative(),
    labelCounts: z.record(z.string(), z.number().int().nonnegative()),
    l2: z.number().nonnegative(),
    classWeight: z.enum(["none", "balanced"]),
    iterations: z.number().int().nonnegative(),
    loss: z.number(),
    converged: z.boolean(),
    dataHash: z.string().nullable(),
    steerbench: z.string(),
    createdAt: z.string(),
  })
  .strict();

export type Provenance = z.infer<typeof provenanceSchema>;

export const classifierFileSchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    version: z.literal(MODEL_VERSION),
    labels: z.array(z.enum(LABELS)).min(2),
    features: featureSettingsSchema,
    buckets: z.array(z.number().int().nonnegative()),
    idf: z.array(z.number().positive()),
    /** weights[label][bucket position] */
    weights: z.array(z.array(z.number())),
    bias: z.array(z.number()),
    training: provenanceSchema,
  })
  .strict()
  .superRefine((m, ctx) => {
    const k = m.labels.length;
    const d = m.buckets.length;
    if (new Set(m.labels).size !== k)
      ctx.addIssue({ code: "custom", path: ["labels"], message: "labels repeat" });
    if (m.idf.length !== d) ctx.addIssue({ code: "custom", path: ["idf"], message: `expected ${d} values` });
    if (m.bias.length !== k)
      ctx.addIssue({ code: "custom", path: ["bias"], message: `expected ${k} values` });
    if (m.weights.length !== k)
      ctx.addIssue({ code: "custom", path: ["weights"], message: `expected ${k} rows` });
    m.weights.forEach((row, i) => {
      if (row.length !== d)
        ctx.addIssue({ code: "custom", path: ["weights", i], message: `expected ${d} values` });
    });
    const limit = 2 ** m.features.hashBits;
    for (let i = 0; i < d; i++) {
      if (m.buckets[i]! >= limit || (i > 0 && m.buckets[i]! <= m.buckets[i - 1]!)) {
        ctx.addIssue({
          code: "custom",
          path: ["buckets", i],
          message: "buckets must be ascending and below 2^hashBits",
        });
        break;
      }
    }
  });

export type ClassifierFile = z.infer<typeof classifierFileSchema>;

export interface Prediction {
  label: Label;
  /** Probability per label of the model. */
  probabilities: Partial<Record<Label, number>>;
}

/** A loaded model, ready to label documents. */
export class TextClassifier {
  readonly file: ClassifierFile;
  private readonly vocab: Vocabulary;
  private readonly position: Map<number, number>;
  private readonly softmax: SoftmaxModel;

  constructor(file: ClassifierFile) {
    this.file = file;
    this.vocab = { buckets: file.buckets, idf: file.idf };
    this.position = positions(this.vocab);
    const dim = file.buckets.length;
    const weights = new Float64Array(file.labels.length * dim);
    const classes = file.labels.length;
    file.weights.forEach((row, k) => {
      for (let j = 0; j < dim; j++) weights[j * classes + k] = row[j]!;
    });
    this.softmax = { classes: file.labels.length, dim, weights, bias: Float64Array.from(file.bias) };
  }

  vector(doc: Document): SparseVector {
    return vectorize(termCounts(doc, this.file.features), this.vocab, this.position);
  }

  predict(doc: Document): Prediction {
    return this.predictCounts(termCounts(doc, this.file.features));
  }

  /** Predicts from term counts made with this model's feature settings (lets callers featurize once). */
  predictCounts(counts: Map<number, number>): Prediction {
    const p = predictProba(this.softmax, vectorize(counts, this.vocab, this.position));
    let best = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[best]!) best = k;
    const probabilities: Partial<Record<Label, number>> = {};
    this.file.labels.forEach((l, k) => {
      probabilities[l] = p[k]!;
    });
    return { label: this.file.labels[best]!, probabilities };
  }
}

/** Rounds weights so the file stays small; 7 significant digits change no prediction in practice. */
const round = (x: number): number => Number(x.toPrecision(7));

export function toClassifierFile(args: {
  labels: Label[];
  features: ClassifierFile["features"];
  vocab: Vocabulary;
  model: SoftmaxModel;
  training: Provenance;
}): ClassifierFile {
  const { model, vocab } = args;
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    labels: args.labels,
    features: args.features,
    buckets: vocab.buckets,
    idf: vocab.idf.map(round),
    weights: args.labels.map((_, k) =>
      Array.from({ length: model.dim }, (_, j) => round(model.weights[j * model.classes + k]!)),
    ),
    bias: Array.from(model.bias, round),
    training: args.training,
  };
}

export function parseClassifierFile(value: unknown, source: string): ClassifierFile {
  const parsed = classifierFileSchema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues
      .slice(0, 5)
      .map((i) => `  ${i.path.length === 0 ? "(top level)" : i.path.join(".")}: ${i.message}`);
    throw new Error(`${source} is not a steerbench classifier model:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export function loadClassifier(path: string): TextClassifier {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read classifier model ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`classifier model ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return new TextClassifier(parseClassifierFile(value, path));
}

export function saveClassifier(path: string, file: ClassifierFile): void {
  writeFileSync(path, `${JSON.stringify(file)}\n`);
}
