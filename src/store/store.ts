// The SQLite store: one file holds every run, item, response and judgement. All writes go through
// prepared statements; every finished generation and judgement is committed as it completes, so a
// crash loses at most the calls in flight and a resumed run redoes exactly those.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { isLabel, type JudgedOutcome, type Label } from "../types.js";
import { bindConnection } from "./connection.js";
import { type ExportRow, iterateItemsWithResponses } from "./queries/export.js";
import { type ItemDetail, itemDetails } from "./queries/item-details.js";
import {
  type ItemVerdictRow,
  type ItemWithResponseRow,
  itemCountsByRun,
  itemsWithVerdicts,
  type RunWriteMarks,
  runWriteMarks,
} from "./queries/report-items.js";
import {
  type CellVerdictRow,
  type CellWorkRow,
  cellHealth,
  type ExamplePromptRow,
  examplePrompts,
  type ItemGroupRow,
  itemGroups,
} from "./queries/report-summary.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.js";

export type RunKind = "live" | "import" | "sweep" | "judge-check";
export type RunStatus = "running" | "done" | "interrupted" | "failed";

export interface RunRecord {
  id: string;
  name: string;
  kind: RunKind;
  status: RunStatus;
  config: unknown;
  versions: Record<string, string>;
  dataHash: string | null;
  /** The judge whose labels outputs use by default (fixed at creation; see `setPrimaryJudge`). */
  primaryJudge: string | null;
  /** Why the run failed, for status `failed`. */
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What happened to an answer on its way into the store (all optional; absent = nothing happened). */
export interface ResponseFlags {
  /** max_tokens was lowered so that prompt + answer fit the model's context. */
  maxTokensCapped?: { requested: number; granted: number };
  /** The prompt alone did not fit and was cut as documented (tokens before and after). */
  promptTruncated?: { from: number; to: number };
  /** The answer was longer than the stored size limit and was cut to it (characters). */
  responseTruncated?: { chars: number; keptChars: number };
  /** The model answered with empty text. */
  empty?: true;
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
  flags: ResponseFlags | null;
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
export interface StoredOutcome extends JudgedOutcome {
  itemId: number;
}

export class StoreError extends Error {}

/** Another live process holds the run's write lease. */
export class RunBusyError extends StoreError {}

/** A lease renewed at least this often; one older than STALE_MS is treated as abandoned. */
export const LEASE_RENEW_MS = 2_000;
export const LEASE_STALE_MS = 15_000;

export interface RunLease {
  runId: string;
  owner: string;
  /** Renews the lease (throws RunBusyError if another process took it over meanwhile). */
  renew(): void;
  release(): void;
}

export interface OpenOptions {
  /** Fail with "no such store" instead of creating the file (every verb that only reads results). */
  mustExist?: boolean;
  /** Run PRAGMA quick_check and refuse a damaged file, naming it and how to recover. */
  check?: boolean;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const nowIso = (): string => new Date().toISOString();

interface RunRow {
  id: string;
  name: string;
  kind: RunKind;
  status: RunStatus;
  config_json: string;
  versions_json: string;
  data_hash: string | null;
  primary_judge: string | null;
  error: string | null;
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
    primaryJudge: row.primary_judge,
    error: row.error,
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
  private readonly db: Database.Database;

  /** Prepared statements by SQL text: preparing was the harness's largest single cost per item. */
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.db = db;
    bindConnection(this, db);
  }

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /**
   * Opens a store file and migrates it to the current schema. By default a missing file is created
   * (writers); `mustExist` refuses instead, and `check` verifies the file's integrity first.
   */
  static open(path: string, options: OpenOptions = {}): Store {
    const full = path === ":memory:" ? path : resolve(path);
    if (full !== ":memory:") {
      if (options.mustExist) {
        if (!existsSync(full)) throw new StoreError(`no such store: ${full}`);
        if (!statSync(full).isFile()) throw new StoreError(`store ${full} is not a file`);
      } else {
        mkdirSync(dirname(full), { recursive: true });
      }
    }
    let db: Database.Database;
    try {
      db = new Database(full, options.mustExist ? { fileMustExist: true } : {});
    } catch (err) {
      throw new StoreError(`cannot open store ${full}: ${(err as Error).message}`);
    }
    try {
      // busy_timeout first: the pragmas and the migration below may meet another process's lock.
      db.pragma("busy_timeout = 10000");
      if (options.check) Store.checkIntegrity(db, full);
      // WAL: readers (steerbench view) never block the writer; NORMAL sync is durable across process
      // crashes (kill -9), which is what resume needs, and much faster than FULL.
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      const store = new Store(full, db);
      store.migrate();
      return store;
    } catch (err) {
      db.close();
      if (err instanceof StoreError) throw err;
      const msg = (err as Error).message;
      if (/malformed|not a database|corrupt/i.test(msg)) throw Store.damaged(full, msg);
      throw new StoreError(`cannot open store ${full}: ${msg}`);
    }
  }

  /** Opens an existing store for reading results: never creates a file, refuses a damaged one. */
  static openExisting(path: string): Store {
    return Store.open(path, { mustExist: true, check: true });
  }

  private static damaged(path: string, detail: string): StoreError {
    return new StoreError(
      `store ${path} is damaged (${detail}); its results cannot be trusted. Recover what is readable with ` +
        `\`sqlite3 ${path} .recover | sqlite3 recovered.sqlite\`, or restore a backup`,
    );
  }

  /** PRAGMA quick_check: a damaged page would otherwise silently drop rows from Table 1. */
  private static checkIntegrity(db: Database.Database, path: string): void {
    let rows: { quick_check: string }[];
    try {
      rows = db.pragma("quick_check(5)") as { quick_check: string }[];
    } catch (err) {
      throw Store.damaged(path, (err as Error).message);
    }
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
    if (problems.length > 0) throw Store.damaged(path, `quick_check: ${problems.join("; ")}`);
  }

  get schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  private migrate(): void {
    const check = (current: number): void => {
      if (current > SCHEMA_VERSION) {
        throw new StoreError(
          `store ${this.path} has schema version ${current}, newer than this steerbench (${SCHEMA_VERSION}); upgrade steerbench`,
        );
      }
    };
    check(this.schemaVersion);
    if (this.schemaVersion === SCHEMA_VERSION) return;
    // IMMEDIATE takes the write lock before reading the version, so two processes opening a fresh
    // store never both migrate it ("table runs already exists"): the second waits, then sees it done.
    this.db
      .transaction(() => {
        const current = this.schemaVersion;
        check(current);
        for (const m of MIGRATIONS.filter((m) => m.version > current)) {
          this.db.exec(m.sql);
          this.db.pragma(`user_version = ${m.version}`);
        }
      })
      .immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Caps this connection's page cache at `kib` KiB (SQLite's own default is 2 MiB; better-sqlite3's 16).
   * A run appends: the larger cache only held the plan's inserted item pages, 14 MB of a 100k-item run's RSS.
   * Returns the previous setting, for `restorePageCache`.
   */
  setPageCacheKiB(kib: number): number {
    const before = Number(this.db.pragma("cache_size", { simple: true }));
    this.db.pragma(`cache_size = -${Math.max(64, Math.floor(kib))}`);
    return before;
  }

  /** Puts back a page-cache setting that `setPageCacheKiB` returned (for the store's later readers). */
  restorePageCache(setting: number): void {
    if (this.db.open && Number.isInteger(setting)) this.db.pragma(`cache_size = ${setting}`);
  }

  // ---- runs ----

  createRun(run: {
    id: string;
    name: string;
    kind: RunKind;
    config: unknown;
    versions: Record<string, string>;
    dataHash?: string | null;
    /** The run's primary judge (first judge of the config; the paper's for imports). */
    primaryJudge?: string | null;
  }): RunRecord {
    const now = nowIso();
    // OR IGNORE: two processes starting the same run at once both get the one row.
    this.stmt(
      `INSERT OR IGNORE INTO runs (id, name, kind, status, config_json, versions_json, data_hash, primary_judge, created_at, updated_at)
         VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
    ).run(
      run.id,
      run.name,
      run.kind,
      JSON.stringify(run.config),
      JSON.stringify(run.versions),
      run.dataHash ?? null,
      run.primaryJudge ?? null,
      now,
      now,
    );
    return this.getRun(run.id)!;
  }

  /** Makes `judge` the run's primary judge (the only way it changes after creation). */
  setPrimaryJudge(runId: string, judge: string): void {
    const known = this.judges(runId);
    if (!known.includes(judge)) {
      throw new StoreError(`run ${runId} has no judge "${judge}"; judges: ${known.join(", ") || "(none)"}`);
    }
    this.stmt("UPDATE runs SET primary_judge = ?, updated_at = ? WHERE id = ?").run(judge, nowIso(), runId);
  }

  /**
   * The judge whose labels a run's outputs use by default: the stored primary judge when it has
   * judged anything, else the first judge in use (older stores, runs whose primary never answered).
   */
  primaryJudge(runId: string): string | undefined {
    return this.judges(runId)[0];
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

  setRunStatus(id: string, status: RunStatus, error?: string): void {
    this.stmt("UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE id = ?").run(
      status,
      status === "failed" ? (error ?? "unknown error") : null,
      nowIso(),
      id,
    );
  }

  renameRun(id: string, name: string): void {
    this.stmt("UPDATE runs SET name = ?, updated_at = ? WHERE id = ?").run(name, nowIso(), id);
  }

  // ---- write leases (one writer per run) ----

  /**
   * Takes the run's write lease for this process, or throws RunBusyError naming the live process that
   * holds it. A lease whose holder died (same host, pid gone) or that has not been renewed for
   * LEASE_STALE_MS is taken over, so a resume right after kill -9 proceeds at once.
   */
  acquireLease(runId: string, opts: { now?: () => number; staleMs?: number } = {}): RunLease {
    const now = opts.now ?? Date.now;
    const staleMs = opts.staleMs ?? LEASE_STALE_MS;
    const owner = randomBytes(8).toString("hex");
    const host = hostname();
    const take = (): void => {
      const held = this.stmt("SELECT * FROM run_leases WHERE run_id = ?").get(runId) as
        | { owner: string; pid: number; host: string; acquired_at: string; heartbeat_ms: number }
        | undefined;
      if (held && held.owner !== owner) {
        const fresh = now() - held.heartbeat_ms < staleMs;
        const alive = held.host !== host || processAlive(held.pid);
        if (fresh && alive) {
          throw new RunBusyError(
            `run ${runId} is being written by pid ${held.pid} on ${held.host} (since ${held.acquired_at}); ` +
              "wait for it to finish, or split the work with --shard i/n into separate stores",
          );
        }
      }
      this.stmt(
        `INSERT INTO run_leases (run_id, owner, pid, host, acquired_at, heartbeat_ms) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(run_id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, host = excluded.host,
             acquired_at = excluded.acquired_at, heartbeat_ms = excluded.heartbeat_ms`,
      ).run(runId, owner, process.pid, host, nowIso(), now());
    };
    this.db.transaction(take).immediate();
    return {
      runId,
      owner,
      renew: () => {
        this.db
          .transaction(() => {
            const held = this.stmt("SELECT owner, pid, host FROM run_leases WHERE run_id = ?").get(runId) as
              | { owner: string; pid: number; host: string }
              | undefined;
            if (held && held.owner !== owner) {
              throw new RunBusyError(
                `run ${runId}: write lease taken over by pid ${held.pid} on ${held.host}`,
              );
            }
            this.stmt(
              `INSERT INTO run_leases (run_id, owner, pid, host, acquired_at, heartbeat_ms) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT(run_id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms`,
            ).run(runId, owner, process.pid, host, nowIso(), now());
          })
          .immediate();
      },
      release: () => {
        if (this.db.open)
          this.stmt("DELETE FROM run_leases WHERE run_id = ? AND owner = ?").run(runId, owner);
      },
    };
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
    this.insertItems(runId, items);
    return this.items(runId);
  }

  /**
   * The run's items as planned, with their store ids: `planned` (the same config's plan, whose texts
   * are already shared strings) is inserted where missing, and each stored row is matched to its
   * planned item by key. Reading 100k items' texts back from SQLite made a fresh copy of every
   * context and prompt, hundreds of MB of garbage before the first call; this reads only the keys.
   * A stored item the plan does not have (none, for a resumed config) is read in full.
   */
  planItems(runId: string, planned: readonly NewItem[]): ItemRecord[] {
    this.insertItems(runId, planned);
    const key = (model: string, condition: string, scenarioId: string, epoch: number) =>
      `${model}\u0000${condition}\u0000${scenarioId}\u0000${epoch}`;
    // Stored rows come back in plan order (seq follows it), so the planned item at the same position is
    // tried first; the map by key (100k key strings, tens of MB of start-up garbage) only if one differs.
    let byKey: Map<string, NewItem> | undefined;
    const plannedFor = (
      r: { model: string; condition: string; scenario_id: string; epoch: number },
      i: number,
    ) => {
      const p = planned[i];
      if (
        p !== undefined &&
        p.model === r.model &&
        p.condition === r.condition &&
        p.scenarioId === r.scenario_id &&
        p.epoch === r.epoch
      )
        return p;
      byKey ??= new Map(planned.map((q) => [key(q.model, q.condition, q.scenarioId, q.epoch), q]));
      return byKey.get(key(r.model, r.condition, r.scenario_id, r.epoch));
    };
    const out: ItemRecord[] = [];
    const rows = this.stmt(
      "SELECT id, seq, model, condition, scenario_id, epoch FROM items WHERE run_id = ? ORDER BY seq",
    ).iterate(runId) as IterableIterator<{
      id: number;
      seq: number;
      model: string;
      condition: string;
      scenario_id: string;
      epoch: number;
    }>;
    const missing: number[] = [];
    for (const r of rows) {
      const p = plannedFor(r, out.length);
      if (p === undefined) {
        missing.push(out.length);
        out.push({ id: r.id, runId, seq: r.seq } as ItemRecord);
      } else {
        // A literal, not `{ ...p, id, runId, seq }`: V8 gave every spread copy its own hidden class
        // (map + descriptors, ~400 B each: 40 MB of a 100k-item run's heap before the first call).
        out.push({
          id: r.id,
          runId,
          seq: r.seq,
          model: p.model,
          condition: p.condition,
          scenarioId: p.scenarioId,
          category: p.category,
          epoch: p.epoch,
          seed: p.seed,
          context: p.context,
          systemPrompt: p.systemPrompt,
          userPrompt: p.userPrompt,
        });
      }
    }
    for (const i of missing) {
      const row = this.stmt("SELECT * FROM items WHERE id = ?").get(out[i]!.id) as ItemRow;
      out[i] = toItem(row);
    }
    return out;
  }

  /** Inserts the items that are not there yet (idempotent on model/condition/scenario/epoch). */
  insertItems(runId: string, items: readonly NewItem[]): void {
    const maxSeq = this.stmt("SELECT COALESCE(MAX(seq), -1) AS m FROM items WHERE run_id = ?");
    const insert = this.stmt(
      `INSERT OR IGNORE INTO items (run_id, seq, model, condition, scenario_id, category, epoch, seed, context, system_prompt, user_prompt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // IMMEDIATE: a deferred read-then-write transaction fails at once with "database is locked"
    // when another process writes meanwhile; taking the write lock first makes it wait instead.
    this.db
      .transaction(() => {
        let seq = (maxSeq.get(runId) as { m: number }).m + 1;
        for (const item of items) {
          // Positional, without a spread copy per row: a 100k-item plan is inserted before the first call.
          const res = insert.run(
            runId,
            seq,
            item.model,
            item.condition,
            item.scenarioId,
            item.category,
            item.epoch,
            item.seed,
            item.context,
            item.systemPrompt ?? null,
            item.userPrompt,
          );
          if (res.changes > 0) seq++;
        }
      })
      .immediate();
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
    // iterate(), not all(): all() would first hold every row's own copy of each text (hundreds of MB
    // for a 100k-item run) before the interning above could share them.
    const out: ItemRecord[] = [];
    for (const row of this.stmt("SELECT * FROM items WHERE run_id = ? ORDER BY seq").iterate(
      runId,
    ) as IterableIterator<ItemRow>) {
      const item = toItem(row);
      item.context = intern(item.context);
      item.userPrompt = intern(item.userPrompt);
      if (item.systemPrompt !== undefined) item.systemPrompt = intern(item.systemPrompt);
      out.push(item);
    }
    return out;
  }

  countItems(runId: string): number {
    return (this.stmt("SELECT COUNT(*) AS n FROM items WHERE run_id = ?").get(runId) as { n: number }).n;
  }

  // ---- responses ----

  saveResponse(
    r: Omit<ResponseRecord, "attempts" | "flags"> & { attempts?: number; flags?: ResponseFlags | null },
  ): void {
    const flags = r.flags && Object.keys(r.flags).length > 0 ? JSON.stringify(r.flags) : null;
    this.stmt(
      `INSERT INTO responses (item_id, status, response, thinking, prompt_tokens, completion_tokens, latency_ms, finish_reason, request_json, error, attempts, flags_json, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(item_id) DO UPDATE SET status = excluded.status, response = excluded.response, thinking = excluded.thinking,
           prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens, latency_ms = excluded.latency_ms,
           finish_reason = excluded.finish_reason, request_json = excluded.request_json, error = excluded.error,
           attempts = responses.attempts + excluded.attempts, flags_json = excluded.flags_json, created_at = excluded.created_at
         WHERE responses.status <> 'ok'`,
    ).run(
      // Positional (named binding and the spread copy cost ~4 µs of a ~20 µs write): the order above.
      r.itemId,
      r.status,
      r.response,
      r.thinking,
      r.promptTokens,
      r.completionTokens,
      r.latencyMs,
      r.finishReason,
      r.requestJson,
      r.error,
      r.attempts ?? 1,
      flags,
      nowIso(),
    );
  }

  /** How many of a run's stored answers carry each flag (for run summaries and reports). */
  responseFlagCounts(runId: string): Record<keyof ResponseFlags, number> {
    const row = this.stmt(
      `SELECT
         SUM(json_extract(r.flags_json, '$.maxTokensCapped') IS NOT NULL) AS capped,
         SUM(json_extract(r.flags_json, '$.promptTruncated') IS NOT NULL) AS cut,
         SUM(json_extract(r.flags_json, '$.responseTruncated') IS NOT NULL) AS long,
         SUM(json_extract(r.flags_json, '$.empty') IS NOT NULL) AS empty
       FROM responses r JOIN items i ON i.id = r.item_id WHERE i.run_id = ? AND r.flags_json IS NOT NULL`,
    ).get(runId) as { capped: number | null; cut: number | null; long: number | null; empty: number | null };
    return {
      maxTokensCapped: row.capped ?? 0,
      promptTruncated: row.cut ?? 0,
      responseTruncated: row.long ?? 0,
      empty: row.empty ?? 0,
    };
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
      flags: row.flags_json ? (JSON.parse(row.flags_json as string) as ResponseFlags) : null,
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

  /**
   * Stores a verdict. With `ofResponse` (the text that was judged), the verdict is stored only if it
   * is still the item's stored answer: a judgement is never attached to a different response.
   */
  saveJudgement(j: Omit<JudgementRecord, "attempts"> & { attempts?: number; ofResponse?: string }): void {
    if (j.status === "ok" && j.label === null) {
      throw new StoreError(`judgement for item ${j.itemId} by ${j.judge} has status ok but no label`);
    }
    if (j.ofResponse !== undefined) {
      const current = this.stmt("SELECT status, response FROM responses WHERE item_id = ?").get(j.itemId) as
        | { status: string; response: string | null }
        | undefined;
      if (current?.status !== "ok" || (current.response ?? "") !== j.ofResponse) {
        throw new StoreError(
          `judgement of item ${j.itemId} by ${j.judge} is not of the item's stored response (another process wrote it?); not stored`,
        );
      }
    }
    this.stmt(
      `INSERT INTO judgements (item_id, judge, status, label, reason, raw, scores_json, error, attempts, latency_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(item_id, judge) DO UPDATE SET status = excluded.status, label = excluded.label, reason = excluded.reason,
           raw = excluded.raw, scores_json = excluded.scores_json, error = excluded.error,
           attempts = judgements.attempts + excluded.attempts, latency_ms = excluded.latency_ms, created_at = excluded.created_at
         WHERE judgements.status <> 'ok'`,
    ).run(
      j.itemId,
      j.judge,
      j.status,
      j.label,
      j.reason,
      j.raw,
      j.scores === null ? null : JSON.stringify(j.scores),
      j.error,
      j.attempts ?? 1,
      j.latencyMs,
      nowIso(),
    );
  }

  judgements(runId: string, judge?: string): JudgementRecord[] {
    const sql = `SELECT j.* FROM judgements j JOIN items i ON i.id = j.item_id WHERE i.run_id = ?${
      judge === undefined ? "" : " AND j.judge = ?"
    } ORDER BY i.seq, j.judge`;
    const args = judge === undefined ? [runId] : [runId, judge];
    return (this.stmt(sql).all(...args) as JudgementRow[]).map(toJudgement);
  }

  /**
   * Names of the judges that judged items of a run: the run's primary judge first, then the others in
   * first-use order. Index 0 is what every output uses by default, so adding a judge (judge-check)
   * never changes which labels a table shows.
   */
  judges(runId: string): string[] {
    const rows = this.stmt(
      `SELECT j.judge AS judge, MIN(i.seq) AS first FROM judgements j JOIN items i ON i.id = j.item_id
         WHERE i.run_id = ? GROUP BY j.judge ORDER BY first, judge`,
    ).all(runId) as { judge: string }[];
    const names = rows.map((r) => r.judge);
    const primary = (
      this.stmt("SELECT primary_judge AS p FROM runs WHERE id = ?").get(runId) as
        | { p: string | null }
        | undefined
    )?.p;
    if (primary && names.includes(primary)) return [primary, ...names.filter((n) => n !== primary)];
    return names;
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

  /**
   * Runs `fn` in one read transaction: every read inside sees the same snapshot of the store (WAL),
   * whatever other processes write meanwhile.
   */
  readSnapshot<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- report and viewer reads (the SQL is in ./queries/) ----

  /** A run's (model, condition, category) groups in the order their first items appear. */
  itemGroups(runId: string): ItemGroupRow[] {
    return itemGroups(this.db, runId);
  }

  /** Example prompt lookups of a run: a condition's first item, and its siblings' prompts. */
  examplePrompts(runId: string): {
    first(condition: string): ExamplePromptRow | undefined;
    siblings(model: string, scenarioId: string, epoch: number): { user_prompt: string }[];
  } {
    return examplePrompts(this.db, runId);
  }

  /** Per (model, condition) counts of responses and of each judge's verdicts. */
  cellHealth(runId: string): { work: CellWorkRow[]; verdicts: CellVerdictRow[] } {
    return cellHealth(this.db, runId);
  }

  /** Items with responses in run order and their verdicts; with `since`, only those written since. */
  itemsWithVerdicts(
    runId: string,
    since?: string,
  ): { rows: ItemWithResponseRow[]; verdicts: ItemVerdictRow[] } {
    return itemsWithVerdicts(this.db, runId, since);
  }

  /** Newest write times of a run and its item count. */
  runWriteMarks(runId: string): RunWriteMarks {
    return runWriteMarks(this.db, runId);
  }

  /** Item count of every run, by run id. */
  itemCountsByRun(): Map<string, number> {
    return itemCountsByRun(this.db);
  }

  /** A run's items with their responses, streamed in run order. */
  iterateItemsWithResponses(runId: string): IterableIterator<ExportRow> {
    return iterateItemsWithResponses(this.db, runId);
  }

  /** Runs `fn` in one write transaction (batch imports); IMMEDIATE so it waits for other writers. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Every item of a run with its response and all verdicts (reasons, raw replies), in run order. */
  itemDetails(runId: string): ItemDetail[] {
    return itemDetails(this.db, runId);
  }
}

export type { ItemDetail } from "./queries/item-details.js";
