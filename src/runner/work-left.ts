// What is left to do for each item of a run: its answer, and a verdict from each judge. One reading of
// the store for the whole run, shared by live runs, judge-only passes and cost estimates, so the three
// always agree on what a resume will do.
import type { Store } from "../store/store.js";

export type VerdictStatus = "ok" | "failed" | "error";

export interface ItemState {
  response: { status: "ok" | "error"; text: string | null } | undefined;
  judged: Map<string, VerdictStatus>;
}

/** Every item's stored state in two queries (responses, verdicts). */
export function loadItemStates(store: Store, runId: string): Map<number, ItemState> {
  const states = new Map<number, ItemState>();
  const get = (id: number): ItemState => {
    let s = states.get(id);
    if (!s) {
      s = { response: undefined, judged: new Map() };
      states.set(id, s);
    }
    return s;
  };
  for (const [id, r] of store.responseStates(runId)) get(id).response = r;
  for (const j of store.judgements(runId)) get(j.itemId).judged.set(j.judge, j.status);
  return states;
}

/** No answer yet, or (with retryErrors) a failed one. */
export function needsGeneration(s: ItemState | undefined, retryErrors: boolean): boolean {
  return s?.response === undefined || (retryErrors && s.response.status === "error");
}

/** No verdict from this judge yet, or (with retryErrors) a failed or errored one. */
export function needsJudge(s: ItemState | undefined, judge: string, retryErrors: boolean): boolean {
  const st = s?.judged.get(judge);
  return st === undefined || (retryErrors && st !== "ok");
}

/** What an item still needs: generation, and the judges whose verdict is missing. */
export function workLeft(
  s: ItemState | undefined,
  judges: readonly string[],
  retryErrors: boolean,
): { generate: boolean; judges: string[] } {
  const generate = needsGeneration(s, retryErrors);
  const answered = generate || s?.response?.status === "ok";
  return { generate, judges: answered ? judges.filter((j) => needsJudge(s, j, retryErrors)) : [] };
}
