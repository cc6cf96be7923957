// Everything stored about each item of a run, in run order: the item, its response (if any) and
// every judge's verdict. Exporters (Inspect logs) read runs through this one query pair.
import type Database from "better-sqlite3";

export interface ItemDetail {
  itemId: number;
  seq: number;
  model: string;
  condition: string;
  scenarioId: string;
  category: string;
  epoch: number;
  seed: number | null;
  context: string;
  systemPrompt: string | null;
  userPrompt: string;
  response: {
    status: "ok" | "error";
    text: string | null;
    thinking: string | null;
    promptTokens: number | null;
    completionTokens: number | null;
    latencyMs: number | null;
    finishReason: string | null;
    error: string | null;
    createdAt: string;
  } | null;
  /** One entry per judge that left a verdict, in judge-name order. */
  judgements: {
    judge: string;
    status: "ok" | "failed" | "error";
    label: string | null;
    reason: string | null;
    raw: string | null;
    error: string | null;
    latencyMs: number | null;
  }[];
}

interface Row {
  id: number;
  seq: number;
  model: string;
  condition: string;
  scenario_id: string;
  category: string;
  epoch: number;
  seed: number | null;
  context: string;
  system_prompt: string | null;
  user_prompt: string;
  r_status: "ok" | "error" | null;
  response: string | null;
  thinking: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  r_latency: number | null;
  finish_reason: string | null;
  r_error: string | null;
  r_created: string | null;
}

interface JudgementRow {
  item_id: number;
  judge: string;
  status: "ok" | "failed" | "error";
  label: string | null;
  reason: string | null;
  raw: string | null;
  error: string | null;
  latency_ms: number | null;
}

/** Items of a run with their response and verdicts, in run order (two queries, joined in memory). */
export function itemDetails(db: Database.Database, runId: string): ItemDetail[] {
  const rows = db
    .prepare(
      `SELECT i.id, i.seq, i.model, i.condition, i.scenario_id, i.category, i.epoch, i.seed, i.context,
              i.system_prompt, i.user_prompt, r.status AS r_status, r.response, r.thinking, r.prompt_tokens,
              r.completion_tokens, r.latency_ms AS r_latency, r.finish_reason, r.error AS r_error,
              r.created_at AS r_created
         FROM items i LEFT JOIN responses r ON r.item_id = i.id WHERE i.run_id = ? ORDER BY i.seq`,
    )
    .all(runId) as Row[];
  const verdicts = new Map<number, ItemDetail["judgements"]>();
  const jrows = db
    .prepare(
      `SELECT j.item_id, j.judge, j.status, j.label, j.reason, j.raw, j.error, j.latency_ms
         FROM judgements j JOIN items i ON i.id = j.item_id WHERE i.run_id = ? ORDER BY i.seq, j.judge`,
    )
    .all(runId) as JudgementRow[];
  for (const j of jrows) {
    const list = verdicts.get(j.item_id) ?? [];
    list.push({
      judge: j.judge,
      status: j.status,
      label: j.label,
      reason: j.reason,
      raw: j.raw,
      error: j.error,
      latencyMs: j.latency_ms,
    });
    verdicts.set(j.item_id, list);
  }
  return rows.map((r) => ({
    itemId: r.id,
    seq: r.seq,
    model: r.model,
    condition: r.condition,
    scenarioId: r.scenario_id,
    category: r.category,
    epoch: r.epoch,
    seed: r.seed,
    context: r.context,
    systemPrompt: r.system_prompt,
    userPrompt: r.user_prompt,
    response:
      r.r_status === null
        ? null
        : {
            status: r.r_status,
            text: r.response,
            thinking: r.thinking,
            promptTokens: r.prompt_tokens,
            completionTokens: r.completion_tokens,
            latencyMs: r.r_latency,
            finishReason: r.finish_reason,
            error: r.r_error,
            createdAt: r.r_created ?? "",
          },
    judgements: verdicts.get(r.id) ?? [],
  }));
}
