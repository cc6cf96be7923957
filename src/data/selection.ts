// Which scenarios a run uses, in run order.

import type { Category, Pack, Scenario, Selection } from "../types.js";
import { didYouMean } from "../util/did-you-mean.js";
import { PyRandom } from "./py-random.js";

/** A named selection, or: at most `maxPerCategory` tasks per category, sampled as the paper's runner does. */
export type SelectionSpec = Selection | { maxPerCategory: number; seed: number };

export interface SelectedItem {
  category: Category;
  scenario: Scenario;
}

/** The 2601.01584 setting: MAX_TASKS_PER_BENCH = 15, TASK_SAMPLE_SEED = 123. */
export const PAPER_SELECTION = { maxPerCategory: 15, seed: 123 } as const;

/**
 * Categories in pack (file-name) order; within a category, all tasks in file order, or — when it has more
 * than `maxPerCategory` — `random.Random(seed).sample(tasks, maxPerCategory)` with a fresh RNG per
 * category, in sampled order.
 */
export function selectScenarios(pack: Pick<Pack, "categories">, selection: SelectionSpec): SelectedItem[] {
  const spec = selection === "paper" ? PAPER_SELECTION : selection;
  if (spec !== "full" && (!Number.isInteger(spec.maxPerCategory) || spec.maxPerCategory < 0)) {
    throw new RangeError(`maxPerCategory must be a non-negative integer, got ${spec.maxPerCategory}`);
  }
  if (spec !== "full" && !Number.isSafeInteger(spec.seed)) {
    throw new RangeError(`seed must be an integer, got ${spec.seed}`);
  }
  const out: SelectedItem[] = [];
  for (const category of pack.categories) {
    let scenarios = category.scenarios;
    if (spec !== "full" && scenarios.length > spec.maxPerCategory) {
      scenarios = new PyRandom(spec.seed).sample(scenarios, spec.maxPerCategory);
    }
    for (const scenario of scenarios) out.push({ category, scenario });
  }
  return out;
}

/** Parses a CLI/config selection: `full`, `paper`, or `max=N,seed=S` (seed defaults to 123). */
export function parseSelection(text: string): SelectionSpec {
  const t = text.trim();
  if (t === "full" || t === "paper") return t;
  const m = /^max=(\d+)(?:,seed=(-?\d+))?$/.exec(t);
  if (!m) {
    throw new Error(
      `unknown selection "${text}"${didYouMean(t, ["paper", "full"])}: use full, paper, or max=N[,seed=S]`,
    );
  }
  return { maxPerCategory: Number(m[1]), seed: m[2] === undefined ? PAPER_SELECTION.seed : Number(m[2]) };
}
