// JSONL export of a run: one line per item with everything needed to audit a label.
import type { Store } from "../store/store.js";

export interface ExportedItem {
  run: string;
  model: string;
  condition: string;
  scenario: string;
  category: string;
  epoch: number;
  seed: number | null;
  system: string | null;
  prompt: string;
  response: string | null;
  thinking: string | null;
  responseStatus: string | null;
  responseError: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  latencyMs: number | null;
  judgements: Record<
    string,
    { status: string; label: string | null; reason: string | null; error: string | null }
  >;
}

/** Streams the run's items as JSON lines, in run order; returns the number of lines. */
export async function exportRunJsonl(
  store: Store,
  runId: string,
  out: NodeJS.WritableStream,
): Promise<number> {
  const verdicts = new Map<number, ExportedItem["judgements"]>();
  for (const j of store.judgements(runId)) {
    const entry = verdicts.get(j.itemId) ?? {};
    entry[j.judge] = { status: j.status, label: j.label, reason: j.reason, error: j.error };
    verdicts.set(j.itemId, entry);
  }
  let n = 0;
  for (const row of store.iterateItemsWithResponses(runId)) {
    const item: ExportedItem = {
      run: runId,
      model: row.model,
      condition: row.condition,
      scenario: row.scenario_id,
      category: row.category,
      epoch: row.epoch,
      seed: row.seed,
      system: row.system_prompt,
      prompt: row.user_prompt,
      response: row.response ?? null,
      thinking: row.thinking ?? null,
      responseStatus: row.r_status ?? null,
      responseError: row.r_error ?? null,
      promptTokens: row.prompt_tokens ?? null,
      completionTokens: row.completion_tokens ?? null,
      latencyMs: row.latency_ms ?? null,
      judgements: verdicts.get(row.id) ?? {},
    };
    if (!out.write(`${JSON.stringify(item)}\n`)) await new Promise((r) => out.once("drain", r));
    n++;
  }
  return n;
}
