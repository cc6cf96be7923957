// Training the offline judge on a run's labelled responses, and evaluating it honestly: fit on some
// models' responses, label the other models' responses, and compare with the reference labels
// (accuracy, κ, and the error it would put into Table 1 and Δ).

import {
  DEFAULT_FEATURES,
  type Document,
  type FeatureSettings,
  featureSettingsSchema,
  fitVocabulary,
  positions,
  termCounts,
  vectorize,
} from "../../judge/classifier/features.js";
import {
  type ClassifierFile,
  type Provenance,
  TextClassifier,
  toClassifierFile,
} from "../../judge/classifier/model.js";
import { trainSoftmax } from "../../judge/classifier/softmax.js";
import type { Store, StoredOutcome } from "../../store/store.js";
import { LABELS, type Label } from "../../types.js";
import { STEERBENCH_VERSION } from "../../version.js";
import { type CompareOptions, compareOutcomes, type JudgeComparison } from "../compare.js";

/** One judged item of a run with the text the classifier reads. */
export interface Example extends Document {
  itemId: number;
  model: string;
  condition: string;
  /** The reference outcome (label undefined when the reference judge failed on it). */
  outcome: StoredOutcome;
}

export interface ClassifierTrainOptions {
  features?: Partial<FeatureSettings>;
  /** L2 strength (default 1e-4). */
  l2?: number;
  maxIterations?: number;
  /** L-BFGS history size. */
  memory?: number;
  /** `balanced` weights each example by N / (classes × count of its label). Default none. */
  classWeight?: "none" | "balanced";
}

export const DEFAULT_L2 = 1e-4;

/** What the caller says about where the examples came from; the rest of the provenance is filled in. */
export type SourceInfo = Pick<Provenance, "run" | "runName" | "judge" | "dataHash">;

/**
 * The items of a run that `judge` has an outcome for and that have an ok response, in run order,
 * optionally only some models' (each must exist in the run).
 */
export function judgedExamples(
  store: Store,
  runId: string,
  judge: string,
  models?: readonly string[],
): Example[] {
  const known = store.judges(runId);
  if (!known.includes(judge)) {
    throw new Error(
      `run ${runId} has no judge "${judge}"; judges: ${known.length > 0 ? known.join(", ") : "(none)"}`,
    );
  }
  const items = new Map(store.items(runId).map((i) => [i.id, i]));
  if (models !== undefined) {
    const present = new Set([...items.values()].map((i) => i.model));
    for (const m of models) {
      if (!present.has(m))
        throw new Error(`run ${runId} has no model "${m}"; models: ${[...present].join(", ")}`);
    }
  }
  const wanted = models === undefined ? undefined : new Set(models);
  const examples: Example[] = [];
  for (const o of store.outcomes(runId, judge)) {
    if (wanted !== undefined && !wanted.has(o.model)) continue;
    const r = store.response(o.itemId);
    if (r === undefined || r.status !== "ok") continue;
    const item = items.get(o.itemId)!;
    examples.push({
      itemId: o.itemId,
      model: o.model,
      condition: o.condition,
      prompt: item.userPrompt,
      response: r.response ?? "",
      outcome: o,
    });
  }
  return examples;
}

/** Examples with their term counts under one feature setting, computed once and shared. */
interface Featurized {
  example: Example;
  label: Label;
  counts: Map<number, number>;
}

function featurize(examples: readonly Example[], features: FeatureSettings): Featurized[] {
  return examples.flatMap((example) =>
    example.outcome.label === undefined
      ? []
      : [{ example, label: example.outcome.label, counts: termCounts(example, features) }],
  );
}

function fitModel(
  data: readonly Featurized[],
  features: FeatureSettings,
  source: SourceInfo,
  options: ClassifierTrainOptions,
): ClassifierFile {
  const labels = LABELS.filter((l) => data.some((d) => d.label === l));
  if (labels.length < 2) {
    throw new Error(
      `training needs at least 2 different labels; got ${labels.length === 0 ? "no labelled examples" : `only ${labels[0]}`}`,
    );
  }
  const vocab = fitVocabulary(
    data.map((d) => d.counts),
    features.minDf,
  );
  const pos = positions(vocab);
  const xs = data.map((d) => vectorize(d.counts, vocab, pos));
  const ys = data.map((d) => labels.indexOf(d.label));
  const labelCounts: Record<string, number> = {};
  for (const l of labels) labelCounts[l] = data.filter((d) => d.label === l).length;
  const classWeight = options.classWeight ?? "none";
  const sampleWeights =
    classWeight === "balanced"
      ? data.map((d) => data.length / (labels.length * labelCounts[d.label]!))
      : undefined;
  const l2 = options.l2 ?? DEFAULT_L2;
  const result = trainSoftmax(xs, ys, labels.length, vocab.buckets.length, {
    l2,
    maxIterations: options.maxIterations,
    memory: options.memory,
    sampleWeights,
  });
  return toClassifierFile({
    labels,
    features,
    vocab,
    model: result.model,
    training: {
      ...source,
      models: [...new Set(data.map((d) => d.example.model))],
      conditions: [...new Set(data.map((d) => d.example.condition))],
      items: data.length,
      labelCounts,
      l2,
      classWeight,
      iterations: result.iterations,
      loss: result.loss,
      converged: result.converged,
      steerbench: STEERBENCH_VERSION,
      createdAt: new Date().toISOString(),
    },
  });
}

const settingsOf = (options: ClassifierTrainOptions): FeatureSettings =>
  featureSettingsSchema.parse({ ...DEFAULT_FEATURES, ...options.features });

/** Fits the classifier on examples (those whose reference judge failed are skipped). */
export function trainClassifier(
  examples: readonly Example[],
  source: SourceInfo,
  options: ClassifierTrainOptions = {},
): ClassifierFile {
  const features = settingsOf(options);
  return fitModel(featurize(examples, features), features, source, options);
}

/** Trains on a run's labels by one judge, optionally only on some models' responses. */
export function trainFromStore(
  store: Store,
  runId: string,
  judge: string,
  options: ClassifierTrainOptions & { models?: readonly string[] } = {},
): ClassifierFile {
  const run = store.getRun(runId);
  if (!run) throw new Error(`no run ${runId}`);
  return trainClassifier(
    judgedExamples(store, runId, judge, options.models),
    { run: run.id, runName: run.name, judge, dataHash: run.dataHash },
    options,
  );
}

export interface SplitEvaluation {
  trainModels: string[];
  testModels: string[];
  /** Labelled training examples. */
  trainItems: number;
  /** Accuracy on the training examples themselves (how well it fits; not a quality measure). */
  trainAccuracy: number;
  model: ClassifierFile;
  /** The classifier's labels of the test models' items vs the reference labels. */
  comparison: JudgeComparison;
}

export interface Split {
  train: readonly string[];
  test: readonly string[];
}

/**
 * For each split: train on the train models' labelled items, label every test-model item, compare
 * with the reference. Features are computed once for all splits.
 */
export function crossEvaluate(
  store: Store,
  runId: string,
  judge: string,
  splits: readonly Split[],
  options: ClassifierTrainOptions & CompareOptions = {},
): SplitEvaluation[] {
  const run = store.getRun(runId);
  if (!run) throw new Error(`no run ${runId}`);
  for (const s of splits) {
    const overlap = s.train.filter((m) => s.test.includes(m));
    if (overlap.length > 0) throw new Error(`models both in training and test: ${overlap.join(", ")}`);
    if (s.train.length === 0 || s.test.length === 0)
      throw new Error("a split needs training and test models");
  }
  const features = settingsOf(options);
  const all = judgedExamples(store, runId, judge, [
    ...new Set(splits.flatMap((s) => [...s.train, ...s.test])),
  ]);
  const countsById = new Map<number, Map<number, number>>();
  for (const e of all) countsById.set(e.itemId, termCounts(e, features));
  const source: SourceInfo = { run: run.id, runName: run.name, judge, dataHash: run.dataHash };

  return splits.map((split): SplitEvaluation => {
    const train = all.filter((e) => split.train.includes(e.model) && e.outcome.label !== undefined);
    const test = all.filter((e) => split.test.includes(e.model));
    const data = train.map((e) => ({
      example: e,
      label: e.outcome.label!,
      counts: countsById.get(e.itemId)!,
    }));
    const model = fitModel(data, features, source, options);
    const classifier = new TextClassifier(model);
    const correct = data.filter((d) => classifier.predictCounts(d.counts).label === d.label).length;
    const predicted: StoredOutcome[] = test.map((e) => ({
      ...e.outcome,
      label: classifier.predictCounts(countsById.get(e.itemId)!).label,
      judgeFailed: false,
    }));
    return {
      trainModels: [...split.train],
      testModels: [...split.test],
      trainItems: data.length,
      trainAccuracy: correct / data.length,
      model,
      comparison: compareOutcomes(
        test.map((e) => e.outcome),
        predicted,
        { reference: judge, candidate: "classifier" },
        options,
      ),
    };
  });
}
