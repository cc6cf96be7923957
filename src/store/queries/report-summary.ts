// The reads behind a run's report summary (src/report/html/summary.ts): which models, conditions
// and categories a run holds, an example prompt per condition, and the per-cell health counts.
import type Database from "better-sqlite3";

/** One (model, condition, category) of a run, with the seq of its first item. */
export interface ItemGroupRow {
  model: string;
  condition: string;
  category: string;
}

/** A run's (model, condition, category) groups in the order their first items appear. */
export function itemGroups(db: Database.Database, runId: string): ItemGroupRow[] {
  return db
    .prepare(
      `SELECT model, condition, category, MIN(seq) AS first FROM items WHERE run_id = ?
       GROUP BY model, condition, category ORDER BY first`,
    )
    .all(runId) as ItemGroupRow[];
}

/** The first item of a condition: where its example prompt comes from. */
export interface ExamplePromptRow {
  model: string;
  scenario_id: string;
  epoch: number;
  user_prompt: string;
}

/**
 * Looks up example prompts: `first(condition)` is the condition's first item in run order,
 * `siblings(...)` the prompts of the same model, scenario and epoch under every condition. Both
 * statements are prepared once for the caller's loop over conditions.
 */
export function examplePrompts(
  db: Database.Database,
  runId: string,
): {
  first(condition: string): ExamplePromptRow | undefined;
  siblings(model: string, scenarioId: string, epoch: number): { user_prompt: string }[];
} {
  const example = db.prepare(
    "SELECT model, scenario_id, epoch, user_prompt FROM items WHERE run_id = ? AND condition = ? ORDER BY seq LIMIT 1",
  );
  const siblings = db.prepare(
    "SELECT user_prompt FROM items WHERE run_id = ? AND model = ? AND scenario_id = ? AND epoch = ?",
  );
  return {
    first: (condition) => example.get(runId, condition) as ExamplePromptRow | undefined,
    siblings: (model, scenarioId, epoch) =>
      siblings.all(runId, model, scenarioId, epoch) as { user_prompt: string }[],
  };
}

/** Items and response states of one (model, condition) cell. */
export interface CellWorkRow {
  model: string;
  condition: string;
  items: number;
  ok: number;
  err: number;
  pending: number;
}

/** Verdict counts of one judge in one (model, condition) cell. */
export interface CellVerdictRow {
  model: string;
  condition: string;
  judge: string;
  ok: number;
  failed: number;
  error: number;
  nonsensical: number;
}

/** Per-cell counts of a run's responses and of each judge's verdicts (the report's health table). */
export function cellHealth(
  db: Database.Database,
  runId: string,
): { work: CellWorkRow[]; verdicts: CellVerdictRow[] } {
  const work = db
    .prepare(
      `SELECT i.model, i.condition, COUNT(*) AS items,
         COALESCE(SUM(r.status = 'ok'), 0) AS ok, COALESCE(SUM(r.status = 'error'), 0) AS err,
         COALESCE(SUM(r.status IS NULL), 0) AS pending
       FROM items i LEFT JOIN responses r ON r.item_id = i.id
       WHERE i.run_id = ? GROUP BY i.model, i.condition`,
    )
    .all(runId) as CellWorkRow[];
  const verdicts = db
    .prepare(
      `SELECT i.model, i.condition, j.judge,
         SUM(j.status = 'ok') AS ok, SUM(j.status = 'failed') AS failed, SUM(j.status = 'error') AS error,
         SUM(j.status = 'ok' AND j.label = 'nonsensical') AS nonsensical
       FROM judgements j JOIN items i ON i.id = j.item_id
       WHERE i.run_id = ? GROUP BY i.model, i.condition, j.judge`,
    )
    .all(runId) as CellVerdictRow[];
  return { work, verdicts };
}
