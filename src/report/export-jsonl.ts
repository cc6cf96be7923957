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
  const rows = store.db
    .prepare(
      `SELECT i.*, r.status AS r_status, r.response, r.thinking, r.error AS r_error, r.prompt_tokens, r.completion_tokens, r.latency_ms
       FROM items i LEFT JOIN responses r ON r.item_id = i.id WHERE i.run_id = ? ORDER BY i.seq`,
    )
    .iterate(runId) as IterableIterator<Record<string, unknown>>;
  let n = 0;
  for (const row of rows) {
    const item: ExportedItem = {
      run: runId,
      model: row.model as string,
      condition: row.condition as string,
      scenario: row.scenario_id as string,
      category: row.category as string,
      epoch: row.epoch as number,
      seed: row.seed as number | null,
      system: row.system_prompt as string | null,
      prompt: row.user_prompt as string,
      response: (row.response as string | null) ?? null,
      thinking: (row.thinking as string | null) ?? null,
      responseStatus: (row.r_status as string | null) ?? null,
      responseError: (row.r_error as string | null) ?? null,
      promptTokens: (row.prompt_tokens as number | null) ?? null,
      completionTokens: (row.completion_tokens as number | null) ?? null,
      latencyMs: (row.latency_ms as number | null) ?? null,
      judgements: verdicts.get(row.id as number) ?? {},
    };
    if (!out.write(`${JSON.stringify(item)}\n`)) await new Promise((r) => out.once("drain", r));
    n++;
  }
  return n;
}
