// The JSONL export's read: every item of a run with its response, streamed in run order.
import type Database from "better-sqlite3";

/** An `items` row joined with its response's columns (null while none is stored). */
export interface ExportRow {
  id: number;
  model: string;
  condition: string;
  scenario_id: string;
  category: string;
  epoch: number;
  seed: number | null;
  system_prompt: string | null;
  user_prompt: string;
  r_status: string | null;
  response: string | null;
  thinking: string | null;
  r_error: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  latency_ms: number | null;
}

/** Iterates a run's items with their responses in seq order, one row at a time (constant memory). */
export function iterateItemsWithResponses(db: Database.Database, runId: string): IterableIterator<ExportRow> {
  return db
    .prepare(
      `SELECT i.*, r.status AS r_status, r.response, r.thinking, r.error AS r_error, r.prompt_tokens, r.completion_tokens, r.latency_ms
       FROM items i LEFT JOIN responses r ON r.item_id = i.id WHERE i.run_id = ? ORDER BY i.seq`,
    )
    .iterate(runId) as IterableIterator<ExportRow>;
}
