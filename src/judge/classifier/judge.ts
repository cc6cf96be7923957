// The offline judge as a judge provider: loads a model file once and labels responses locally, at no
// cost. Its verdict never fails (the classifier always has an argmax); the raw text keeps the
// probabilities so an audit can see how sure it was.
import type { Label, Verdict } from "../../types.js";
import { loadClassifier, type TextClassifier } from "./model.js";

export interface ClassifierJudgeInput {
  context: string;
  prompt: string;
  response: string;
}

/** The parts of a connected judge this provider supplies (the engine adds the limiter). */
export interface ClassifierJudge {
  classifier: TextClassifier;
  judge(input: ClassifierJudgeInput, signal?: AbortSignal): Promise<Verdict>;
  close(): Promise<void>;
}

export function classifierVerdict(classifier: TextClassifier, input: ClassifierJudgeInput): Verdict {
  const { label, probabilities } = classifier.predict({ prompt: input.prompt, response: input.response });
  const scores: Partial<Record<Label, number>> = {};
  for (const [l, p] of Object.entries(probabilities) as [Label, number][]) scores[l] = Math.log(p);
  const p = probabilities[label] ?? 0;
  return {
    label,
    reason: `classifier: p=${p.toFixed(3)}`,
    failed: false,
    raw: JSON.stringify({ decision: label, probabilities }),
    scores,
  };
}

/** Loads the model file at `path` (throws naming the file when it is missing or malformed). */
export function createClassifierJudge(path: string): ClassifierJudge {
  const classifier = loadClassifier(path);
  return {
    classifier,
    async judge(input, signal) {
      signal?.throwIfAborted();
      return classifierVerdict(classifier, input);
    },
    async close() {},
  };
}
