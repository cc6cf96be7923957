// The store's schema as an ordered list of migrations. A store records the version it is at in
// `PRAGMA user_version`; opening it applies every later migration in one transaction, so an old
// store moves forward and a newer one (from a later steerbench) is refused instead of damaged.

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "runs, items, responses, judgements, judge cache",
    sql: `
      CREATE TABLE runs (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        kind          TEXT NOT NULL,            -- live | import | sweep | judge-check
        status        TEXT NOT NULL,            -- running | done | interrupted
        config_json   TEXT NOT NULL,            -- the full, validated run config (no secrets)
        versions_json TEXT NOT NULL,            -- steerbench, node, engine versions
        data_hash     TEXT,                     -- sha256 of the benchmark pack used
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      );

      -- One row per model x condition x scenario x epoch: the unit of work.
      CREATE TABLE items (
        id            INTEGER PRIMARY KEY,
        run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq           INTEGER NOT NULL,         -- order within the run
        model         TEXT NOT NULL,
        condition     TEXT NOT NULL,
        scenario_id   TEXT NOT NULL,
        category      TEXT NOT NULL,
        epoch         INTEGER NOT NULL DEFAULT 0,
        seed          INTEGER,
        context       TEXT NOT NULL,            -- raw category context (judge system message)
        system_prompt TEXT,                     -- system message sent to the model (NULL: none)
        user_prompt   TEXT NOT NULL,            -- steered user prompt
        UNIQUE (run_id, model, condition, scenario_id, epoch)
      );
      CREATE INDEX items_run ON items(run_id, seq);

      -- The model's answer to an item. status=error keeps the last error for --retry-errors.
      CREATE TABLE responses (
        item_id           INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        status            TEXT NOT NULL,        -- ok | error
        response          TEXT,
        thinking          TEXT,
        prompt_tokens     INTEGER,
        completion_tokens INTEGER,
        latency_ms        REAL,
        finish_reason     TEXT,
        request_json      TEXT,                 -- request body without headers
        error             TEXT,
        attempts          INTEGER NOT NULL DEFAULT 1,
        created_at        TEXT NOT NULL
      );

      -- One verdict per item and judge. status=failed is a judge that answered but never gave a
      -- usable label (counted and shown, never a label); status=error is a transport failure.
      CREATE TABLE judgements (
        item_id     INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        judge       TEXT NOT NULL,
        status      TEXT NOT NULL,              -- ok | failed | error
        label       TEXT,
        reason      TEXT,
        raw         TEXT,
        scores_json TEXT,
        error       TEXT,
        attempts    INTEGER NOT NULL DEFAULT 1,
        latency_ms  REAL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (item_id, judge),
        CHECK (status <> 'ok' OR label IS NOT NULL)
      );
      CREATE INDEX judgements_judge ON judgements(judge);

      -- Judge replies by request content, so re-judging never repeats a call.
      CREATE TABLE judge_cache (
        key        TEXT PRIMARY KEY,
        reply      TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: "primary judge, run failure reason, per-response flags, single-writer leases",
    sql: `
      -- The judge whose labels table/report/compare use unless told otherwise; fixed when the run is
      -- created (first judge of the config; the paper's for imports), changed only explicitly.
      ALTER TABLE runs ADD COLUMN primary_judge TEXT;
      UPDATE runs SET primary_judge = COALESCE(json_extract(config_json, '$.judges[0].name'),
                                               json_extract(config_json, '$.judges[0].model'))
        WHERE json_valid(config_json);
      -- Why a run ended in status 'failed' (could not start, every call failed, ...).
      ALTER TABLE runs ADD COLUMN error TEXT;
      -- What happened to an answer on the way: max_tokens capped to the context, prompt cut, answer
      -- cut to the stored size limit, empty answer. JSON object; NULL when nothing happened.
      ALTER TABLE responses ADD COLUMN flags_json TEXT;
      -- One writer per run: a process holds the lease while it works and renews it; another process
      -- finding a fresh lease of a live process refuses to write the same run.
      CREATE TABLE run_leases (
        run_id       TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        owner        TEXT NOT NULL,             -- random token of the holding process
        pid          INTEGER NOT NULL,
        host         TEXT NOT NULL,
        acquired_at  TEXT NOT NULL,
        heartbeat_ms INTEGER NOT NULL           -- Date.now() of the last renewal
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
