// Bulk reads of a run's items with their responses and verdicts: two SQL statements for the whole run
// (or for what changed since a cursor), never one query per item, so 20,000 items load in well under a
// second. Repeated long texts (contexts, steered prompts) are interned into one table.
import type { Store } from "../../store/store.js";
import { isLabel } from "../../types.js";
import type { ItemsPayload, ReportItem, VerdictView } from "./types.js";

interface ItemRow {
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

interface VerdictRow {
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

class Interner {
  readonly texts: string[] = [];
  private readonly index = new Map<string, number>();
  ref(text: string): number {
    let i = this.index.get(text);
    if (i === undefined) {
      i = this.texts.length;
      this.texts.push(text);
      this.index.set(text, i);
    }
    return i;
  }
}

/**
 * Items of a run in run order with responses and every judge's verdict. With `since` (an ISO time),
 * only items whose response or a verdict was written at or after it.
 */
export function loadItems(store: Store, runId: string, since?: string): ItemsPayload {
  const params = { runId, since: since ?? "" };
  const filter = since === undefined ? "" : ` AND ${CHANGED}`;
  const rows = store.db
    .prepare(
      `SELECT ${ITEM_COLUMNS} FROM items i LEFT JOIN responses r ON r.item_id = i.id
       WHERE i.run_id = @runId${filter} ORDER BY i.seq`,
    )
    .all(params) as ItemRow[];
  const verdicts = store.db
    .prepare(
      `SELECT j.item_id, j.judge, j.status, j.label, j.reason, j.error
       FROM items i JOIN judgements j ON j.item_id = i.id${since === undefined ? "" : " LEFT JOIN responses r ON r.item_id = i.id"}
       WHERE i.run_id = @runId${filter}`,
    )
    .all(params) as VerdictRow[];

  const byItem = new Map<number, Record<string, VerdictView>>();
  for (const v of verdicts) {
    let map = byItem.get(v.item_id);
    if (map === undefined) {
      map = {};
      byItem.set(v.item_id, map);
    }
    map[v.judge] = {
      status: v.status,
      label: v.status === "ok" && isLabel(v.label) ? v.label : null,
      reason: v.reason,
      error: v.error,
    };
  }

  const interner = new Interner();
  const items = rows.map(
    (r): ReportItem => ({
      id: r.id,
      seq: r.seq,
      model: r.model,
      condition: r.condition,
      scenarioId: r.scenario_id,
      category: r.category,
      epoch: r.epoch,
      context: interner.ref(r.context),
      system: r.system_prompt === null ? null : interner.ref(r.system_prompt),
      prompt: interner.ref(r.user_prompt),
      response:
        r.r_status === null
          ? null
          : {
              status: r.r_status,
              text: r.response,
              thinking: r.thinking,
              promptTokens: r.prompt_tokens,
              completionTokens: r.completion_tokens,
              finishReason: r.finish_reason,
              latencyMs: r.latency_ms,
              error: r.r_error,
            },
      verdicts: byItem.get(r.id) ?? {},
    }),
  );
  return { texts: interner.texts, items };
}

/**
 * A cursor that changes whenever anything of the run is written: the newest response, verdict or run
 * update time, and the item count (items are added without a timestamp).
 */
export function runCursor(store: Store, runId: string): string {
  const row = store.db
    .prepare(
      `SELECT
         (SELECT MAX(r.created_at) FROM responses r JOIN items i ON i.id = r.item_id WHERE i.run_id = @runId) AS r,
         (SELECT MAX(j.created_at) FROM judgements j JOIN items i ON i.id = j.item_id WHERE i.run_id = @runId) AS j,
         (SELECT updated_at FROM runs WHERE id = @runId) AS u,
         (SELECT COUNT(*) FROM items WHERE run_id = @runId) AS n`,
    )
    .get({ runId }) as { r: string | null; j: string | null; u: string | null; n: number };
  const latest = [row.r, row.j, row.u].filter((x): x is string => x !== null).sort();
  return `${latest[latest.length - 1] ?? ""}#${row.n}`;
}

/** Splits a cursor into its time and item count; undefined for a malformed one. */
export function parseCursor(cursor: string): { time: string; items: number } | undefined {
  const m = /^([0-9T:.\-Z+]*)#(\d+)$/.exec(cursor);
  if (!m) return undefined;
  return { time: m[1]!, items: Number(m[2]) };
}
