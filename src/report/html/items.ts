// A run's items with their responses and verdicts, shaped for the report: the store reads them in two
// statements for the whole run (or for what changed since a cursor), never one query per item, so
// 20,000 items load in well under a second. Repeated long texts (contexts, steered prompts) are
// interned into one table.
import type { Store } from "../../store/store.js";
import { isLabel } from "../../types.js";
import type { ItemsPayload, ReportItem, VerdictView } from "./types.js";

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
  const { rows, verdicts } = store.itemsWithVerdicts(runId, since);

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
  const row = store.runWriteMarks(runId);
  const latest = [row.r, row.j, row.u].filter((x): x is string => x !== null).sort();
  return `${latest[latest.length - 1] ?? ""}#${row.n}`;
}

/** Splits a cursor into its time and item count; undefined for a malformed one. */
export function parseCursor(cursor: string): { time: string; items: number } | undefined {
  const m = /^([0-9T:.\-Z+]*)#(\d+)$/.exec(cursor);
  if (!m) return undefined;
  return { time: m[1]!, items: Number(m[2]) };
}
