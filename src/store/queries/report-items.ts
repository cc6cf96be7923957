// Bulk reads of a run's items with their responses and verdicts, for the report and the viewer: two
// statements for the whole run (or for what changed since a time), never one query per item.
import type Database from "better-sqlite3";

/** An item joined with its response (response columns null while none is stored). */
export interface ItemWithResponseRow {
  id: number;
  seq: number;
  model: string;
  condition: string;
  scenario_id: string;
  category: string;
  epoch: number;
  context: string;
  system_prompt: string | null;
  user_prompt: string;
  r_status: "ok" | "error" | null;
  response: string | null;
  thinking: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  finish_reason: string | null;
  latency_ms: number | null;
  r_error: string | null;
}

/** One judge's verdict on one item. */
export interface ItemVerdictRow {
  item_id: number;
  judge: string;
  status: "ok" | "failed" | "error";
  label: string | null;
  reason: string | null;
  error: string | null;
}

const ITEM_COLUMNS = `i.id, i.seq, i.model, i.condition, i.scenario_id, i.category, i.epoch, i.context, i.system_prompt,
  i.user_prompt, r.status AS r_status, r.response, r.thinking, r.prompt_tokens, r.completion_tokens,
  r.finish_reason, r.latency_ms, r.error AS r_error`;

// "Changed since": a response or a verdict written at or after the cursor's time.
const CHANGED = `(r.created_at >= @since OR EXISTS (SELECT 1 FROM judgements j2 WHERE j2.item_id = i.id AND j2.created_at >= @since))`;

/**
 * Items of a run in run order with their responses, and every judge's verdict on them. With `since`
 * (an ISO time), only items whose response or a verdict was written at or after it.
 */
export function itemsWithVerdicts(
  db: Database.Database,
  runId: string,
  since?: string,
): { rows: ItemWithResponseRow[]; verdicts: ItemVerdictRow[] } {
  const params = { runId, since: since ?? "" };
  const filter = since === undefined ? "" : ` AND ${CHANGED}`;
  const rows = db
    .prepare(
      `SELECT ${ITEM_COLUMNS} FROM items i LEFT JOIN responses r ON r.item_id = i.id
       WHERE i.run_id = @runId${filter} ORDER BY i.seq`,
    )
    .all(params) as ItemWithResponseRow[];
  const verdicts = db
    .prepare(
      `SELECT j.item_id, j.judge, j.status, j.label, j.reason, j.error
       FROM items i JOIN judgements j ON j.item_id = i.id${since === undefined ? "" : " LEFT JOIN responses r ON r.item_id = i.id"}
       WHERE i.run_id = @runId${filter}`,
    )
    .all(params) as ItemVerdictRow[];
  return { rows, verdicts };
}

/** The newest write times of a run (null where nothing is written yet) and its item count. */
export interface RunWriteMarks {
  r: string | null;
  j: string | null;
  u: string | null;
  n: number;
}

/** Newest response, verdict and run-update times of a run, and its item count (for the viewer's cursor). */
export function runWriteMarks(db: Database.Database, runId: string): RunWriteMarks {
  return db
    .prepare(
      `SELECT
         (SELECT MAX(r.created_at) FROM responses r JOIN items i ON i.id = r.item_id WHERE i.run_id = @runId) AS r,
         (SELECT MAX(j.created_at) FROM judgements j JOIN items i ON i.id = j.item_id WHERE i.run_id = @runId) AS j,
         (SELECT updated_at FROM runs WHERE id = @runId) AS u,
         (SELECT COUNT(*) FROM items WHERE run_id = @runId) AS n`,
    )
    .get({ runId }) as RunWriteMarks;
}

/** Number of items of every run, by run id. */
export function itemCountsByRun(db: Database.Database): Map<string, number> {
  const rows = db.prepare("SELECT run_id, COUNT(*) AS n FROM items GROUP BY run_id").all() as {
    run_id: string;
    n: number;
  }[];
  return new Map(rows.map((r) => [r.run_id, r.n]));
}
