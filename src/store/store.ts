// The SQLite store: one file holds every run, item, response and judgement. All writes go through
// prepared statements; every finished generation and judgement is committed as it completes, so a
// crash loses at most the calls in flight and a resumed run redoes exactly those.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import type { Outcome as MetricsOutcome } from "../metrics/table1.js";
import { isLabel, type Label } from "../types.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.js";

export type RunKind = "live" | "import" | "sweep" | "judge-check";
export type RunStatus = "running" | "done" | "interrupted";

export interface RunRecord {
  id: string;
  name: string;
  kind: RunKind;
  status: RunStatus;
  config: unknown;
  versions: Record<string, string>;
  dataHash: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewItem {
  model: string;
  condition: string;
  scenarioId: string;
  category: string;
  epoch: number;
  seed: number | null;
  context: string;
  systemPrompt: string | undefined;
  userPrompt: string;
}

export interface ItemRecord extends NewItem {
  id: number;
  runId: string;
  seq: number;
}

export interface ResponseRecord {
  itemId: number;
  status: "ok" | "error";
  response: string | null;
  thinking: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  latencyMs: number | null;
  finishReason: string | null;
  requestJson: string | null;
  error: string | null;
  attempts: number;
}

export interface JudgementRecord {
  itemId: number;
  judge: string;
  status: "ok" | "failed" | "error";
  label: Label | null;
  reason: string | null;
  raw: string | null;
  scores: Record<string, number> | null;
  error: string | null;
  attempts: number;
  latencyMs: number | null;
}

/** One judged item as stored: the metrics' Outcome plus the item id. */
export interface StoredOutcome extends MetricsOutcome {
  itemId: number;
}

/** Short name used across the reliability code. */
export type Outcome = StoredOutcome;

export class StoreError extends Error {}

const nowIso = (): string => new Date().toISOString();

interface RunRow {
  id: string;
  name: string;
  kind: RunKind;
  status: RunStatus;
  config_json: string;
  versions_json: string;
  data_hash: string | null;
  created_at: string;
  updated_at: string;
}

/** An `items` row as SQLite returns it. */
export interface ItemRow {
  id: number;
  run_id: string;
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
}

interface JudgementRow {
  item_id: number;
  judge: string;
  status: "ok" | "failed" | "error";
  label: string | null;
  reason: string | null;
  raw: string | null;
  scores_json: string | null;
  error: string | null;
  attempts: number;
  latency_ms: number | null;
}

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    config: JSON.parse(row.config_json) as unknown,
    versions: JSON.parse(row.versions_json) as Record<string, string>,
    dataHash: row.data_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toItem(row: ItemRow): ItemRecord {
  return {
    id: row.id,
    runId: row.run_id,
    seq: row.seq,
    model: row.model,
    condition: row.condition,
    scenarioId: row.scenario_id,
    category: row.category,
    epoch: row.epoch,
    seed: row.seed,
    context: row.context,
    systemPrompt: row.system_prompt ?? undefined,
    userPrompt: row.user_prompt,
  };
}

function toJudgement(row: JudgementRow): JudgementRecord {
  return {
    itemId: row.item_id,
    judge: row.judge,
    status: row.status,
    label: isLabel(row.label) ? row.label : null,
    reason: row.reason,
    raw: row.raw,
    scores: row.scores_json === null ? null : (JSON.parse(row.scores_json) as Record<string, number>),
    error: row.error,
    attempts: row.attempts,
    latencyMs: row.latency_ms,
  };
}

export class Store {
  readonly path: string;
  readonly db: Database.Database;

  /** Prepared statements by SQL text: preparing was the harness's largest single cost per item. */
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
  }

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Opens (creating if needed) a store file and migrates it to the current schema. */
  static open(path: string): Store {
    const full = path === ":memory:" ? path : resolve(path);
    if (full !== ":memory:") mkdirSync(dirname(full), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(full);
    } catch (err) {
      throw new StoreError(`cannot open store ${full}: ${(err as Error).message}`);
    }
    // WAL: readers (steerbench view) never block the writer; NORMAL sync is durable across process
    // crashes (kill -9), which is what resume needs, and much faster than FULL.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    const store = new Store(full, db);
    store.migrate();
    return store;
  }

  get schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        `store ${this.path} has schema version ${current}, newer than this steerbench (${SCHEMA_VERSION}); upgrade steerbench`,
      );
    }
    const pending = MIGRATIONS.filter((m) => m.version > current);
    if (pending.length === 0) return;
    this.db.transaction(() => {
      for (const m of pending) {
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      }
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- runs ----

  createRun(run: {
    id: string;
    name: string;
    kind: RunKind;
    config: unknown;
    versions: Record<string, string>;
    dataHash?: string | null;
  }): RunRecord {
    const now = nowIso();
    this.stmt(
      `INSERT INTO runs (id, name, kind, status, config_json, versions_json, data_hash, created_at, updated_at)
         VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
    ).run(
      run.id,
      run.name,
      run.kind,
      JSON.stringify(run.config),
      JSON.stringify(run.versions),
      run.dataHash ?? null,
      now,
      now,
    );
    return this.getRun(run.id)!;
  }

  getRun(id: string): RunRecord | undefined {
    const row = this.stmt("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  /** Runs, newest first. */
  listRuns(): RunRecord[] {
    return (this.stmt("SELECT * FROM runs ORDER BY created_at DESC, id").all() as RunRow[]).map(toRun);
  }

  /** Finds a run by exact id or unique id prefix or exact name; errors when ambiguous. */
  resolveRun(ref: string | undefined): RunRecord {
    const runs = this.listRuns();
    if (runs.length === 0) throw new StoreError(`store ${this.path} holds no runs`);
    if (ref === undefined) return runs[0]!;
    const exact = runs.find((r) => r.id === ref);
    if (exact) return exact;
    const matches = runs.filter((r) => r.id.startsWith(ref) || r.name === ref);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new StoreError(`run "${ref}" is ambiguous: ${matches.map((r) => r.id).join(", ")}`);
    }
    throw new StoreError(`no run "${ref}" in ${this.path}; runs: ${runs.map((r) => r.id).join(", ")}`);
  }

  setRunStatus(id: string, status: RunStatus): void {
    this.stmt("UPDATE runs SET status = ?, updated_at = ? WHERE id = ?").run(status, nowIso(), id);
  }

  updateRunConfig(id: string, config: unknown): void {
    this.stmt("UPDATE runs SET config_json = ?, updated_at = ? WHERE id = ?").run(
      JSON.stringify(config),
      nowIso(),
      id,
    );
  }

  deleteRun(id: string): void {
    this.stmt("DELETE FROM runs WHERE id = ?").run(id);
  }

  // ---- items ----

  /**
   * Adds items that are not there yet (idempotent on model/condition/scenario/epoch) and returns all
   * items of the run in order. Resuming a run calls this again with the same plan: nothing doubles.
   */
  addItems(runId: string, items: readonly NewItem[]): ItemRecord[] {
    const maxSeq = this.stmt("SELECT COALESCE(MAX(seq), -1) AS m FROM items WHERE run_id = ?");
    const insert = this.stmt(
      `INSERT OR IGNORE INTO items (run_id, seq, model, condition, scenario_id, category, epoch, seed, context, system_prompt, user_prompt)
       VALUES (@runId, @seq, @model, @condition, @scenarioId, @category, @epoch, @seed, @context, @systemPrompt, @userPrompt)`,
    );
    this.db.transaction(() => {
      let seq = (maxSeq.get(runId) as { m: number }).m + 1;
      for (const item of items) {
        const res = insert.run({ ...item, systemPrompt: item.systemPrompt ?? null, runId, seq });
        if (res.changes > 0) seq++;
      }
    })();
    return this.items(runId);
  }

  items(runId: string): ItemRecord[] {
    // Contexts and prompts repeat across models, epochs and categories: one copy of each keeps a
    // 100k-item run's items in tens of MB instead of hundreds.
    const pool = new Map<string, string>();
    const intern = (text: string): string => {
      const seen = pool.get(text);
      if (seen !== undefined) return seen;
      pool.set(text, text);
      return text;
    };
    return (this.stmt("SELECT * FROM items WHERE run_id = ? ORDER BY seq").all(runId) as ItemRow[]).map(
      (row) => {
        const item = toItem(row);
        item.context = intern(item.context);
        item.userPrompt = intern(item.userPrompt);
        if (item.systemPrompt !== undefined) item.systemPrompt = intern(item.systemPrompt);
        return item;
      },
    );
  }

  countItems(runId: string): number {
    return (this.stmt("SELECT COUNT(*) AS n FROM items WHERE run_id = ?").get(runId) as { n: number }).n;
  }

  // ---- responses ----

  saveResponse(r: Omit<ResponseRecord, "attempts"> & { attempts?: number }): void {
    this.stmt(
      `INSERT INTO responses (item_id, status, response, thinking, prompt_tokens, completion_tokens, latency_ms, finish_reason, request_json, error, attempts, created_at)
         VALUES (@itemId, @status, @response, @thinking, @promptTokens, @completionTokens, @latencyMs, @finishReason, @requestJson, @error, @attempts, @createdAt)
         ON CONFLICT(item_id) DO UPDATE SET status = excluded.status, response = excluded.response, thinking = excluded.thinking,
           prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, latency_ms = excluded.latency_ms,
           finish_reason = excluded.finish_reason, request_json = excluded.request_json, error = excluded.error,
           attempts = responses.attempts + excluded.attempts, created_at = excluded.created_at
         WHERE responses.status <> 'ok'`,
    ).run({ ...r, attempts: r.attempts ?? 1, createdAt: nowIso() });
  }

  response(itemId: number): ResponseRecord | undefined {
    const row = this.stmt("SELECT * FROM responses WHERE item_id = ?").get(itemId) as
      | Record<string, unknown>
      | undefined;
    if (!row) return undefined;
    return {
      itemId: row.item_id as number,
      status: row.status as "ok" | "error",
      response: row.response as string | null,
      thinking: row.thinking as string | null,
      promptTokens: row.prompt_tokens as number | null,
      completionTokens: row.completion_tokens as number | null,
      latencyMs: row.latency_ms as number | null,
      finishReason: row.finish_reason as string | null,
      requestJson: row.request_json as string | null,
      error: row.error as string | null,
      attempts: row.attempts as number,
    };
  }

  /** Status and text of every stored response of a run, by item id (one query, for planning work). */
  responseStates(runId: string): Map<number, { status: "ok" | "error"; text: string | null }> {
    const rows = this.stmt(
      "SELECT r.item_id AS id, r.status AS status, r.response AS text FROM responses r JOIN items i ON i.id = r.item_id WHERE i.run_id = ?",
    ).all(runId) as { id: number; status: "ok" | "error"; text: string | null }[];
    return new Map(rows.map((r) => [r.id, { status: r.status, text: r.text }]));
  }

  // ---- judgements ----

  saveJudgement(j: Omit<JudgementRecord, "attempts"> & { attempts?: number }): void {
    if (j.status === "ok" && j.label === null) {
      throw new StoreError(`judgement for item ${j.itemId} by ${j.judge} has status ok but no label`);
    }
    this.stmt(
      `INSERT INTO judgements (item_id, judge, status, label, reason, raw, scores_json, error, attempts, latency_ms, created_at)
         VALUES (@itemId, @judge, @status, @label, @reason, @raw, @scoresJson, @error, @attempts, @latencyMs, @createdAt)
         ON CONFLICT(item_id, judge) DO UPDATE SET status = excluded.status, label = excluded.label, reason = excluded.reason,
           raw = excluded.raw, scores_json = excluded.scores_json, error = excluded.error,
           attempts = judgements.attempts + excluded.attempts, latency_ms = excluded.latency_ms, created_at = excluded.created_at
         WHERE judgements.status <> 'ok'`,
    ).run({
      itemId: j.itemId,
      judge: j.judge,
      status: j.status,
      label: j.label,
      reason: j.reason,
      raw: j.raw,
      scoresJson: j.scores === null ? null : JSON.stringify(j.scores),
      error: j.error,
      attempts: j.attempts ?? 1,
      latencyMs: j.latencyMs,
      createdAt: nowIso(),
    });
  }

  judgements(runId: string, judge?: string): JudgementRecord[] {
    const sql = `SELECT j.* FROM judgements j JOIN items i ON i.id = j.item_id WHERE i.run_id = ?${
      judge === undefined ? "" : " AND j.judge = ?"
    } ORDER BY i.seq, j.judge`;
    const args = judge === undefined ? [runId] : [runId, judge];
    return (this.stmt(sql).all(...args) as JudgementRow[]).map(toJudgement);
  }

  /** Names of the judges that judged items of a run, in first-use order. */
  judges(runId: string): string[] {
    const rows = this.stmt(
      `SELECT j.judge AS judge, MIN(i.seq) AS first FROM judgements j JOIN items i ON i.id = j.item_id
         WHERE i.run_id = ? GROUP BY j.judge ORDER BY first, judge`,
    ).all(runId) as { judge: string }[];
    return rows.map((r) => r.judge);
  }

  /** Judged items of a run for one judge (ok and failed verdicts; transport errors are not outcomes). */
  outcomes(runId: string, judge: string): StoredOutcome[] {
    const rows = this.stmt(
      `SELECT i.id, i.model, i.condition, i.scenario_id, i.category, i.epoch, j.status, j.label
         FROM items i JOIN judgements j ON j.item_id = i.id
         WHERE i.run_id = ? AND j.judge = ? AND j.status IN ('ok', 'failed') ORDER BY i.seq`,
    ).all(runId, judge) as {
      id: number;
      model: string;
      condition: string;
      scenario_id: string;
      category: string;
      epoch: number;
      status: string;
      label: string | null;
    }[];
    return rows.map((r) => ({
      itemId: r.id,
      model: r.model,
      condition: r.condition,
      scenarioId: r.scenario_id,
      category: r.category,
      epoch: r.epoch,
      label: r.status === "ok" && isLabel(r.label) ? r.label : undefined,
      judgeFailed: r.status === "failed",
    }));
  }

  // ---- progress ----

  /** Counts for progress and resume: items, ok responses, response errors, and per judge ok/failed/error. */
  progress(runId: string): {
    items: number;
    responsesOk: number;
    responseErrors: number;
    judged: Record<string, { ok: number; failed: number; error: number }>;
  } {
    const items = this.countItems(runId);
    const resp = this.stmt(
      `SELECT r.status AS status, COUNT(*) AS n FROM responses r JOIN items i ON i.id = r.item_id
         WHERE i.run_id = ? GROUP BY r.status`,
    ).all(runId) as { status: string; n: number }[];
    const judged: Record<string, { ok: number; failed: number; error: number }> = {};
    const jrows = this.stmt(
      `SELECT j.judge AS judge, j.status AS status, COUNT(*) AS n FROM judgements j JOIN items i ON i.id = j.item_id
         WHERE i.run_id = ? GROUP BY j.judge, j.status`,
    ).all(runId) as { judge: string; status: "ok" | "failed" | "error"; n: number }[];
    for (const r of jrows) {
      const entry = judged[r.judge] ?? { ok: 0, failed: 0, error: 0 };
      entry[r.status] = r.n;
      judged[r.judge] = entry;
    }
    return {
      items,
      responsesOk: resp.find((r) => r.status === "ok")?.n ?? 0,
      responseErrors: resp.find((r) => r.status === "error")?.n ?? 0,
      judged,
    };
  }

  // ---- judge cache ----

  getCachedReply(key: string): string | undefined {
    const row = this.stmt("SELECT reply FROM judge_cache WHERE key = ?").get(key) as
      | { reply: string }
      | undefined;
    return row?.reply;
  }

  setCachedReply(key: string, reply: string): void {
    this.stmt("INSERT OR REPLACE INTO judge_cache (key, reply, created_at) VALUES (?, ?, ?)").run(
      key,
      reply,
      nowIso(),
    );
  }

  deleteCachedReply(key: string): void {
    this.stmt("DELETE FROM judge_cache WHERE key = ?").run(key);
  }

  /** Runs `fn` in one transaction (batch imports). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
