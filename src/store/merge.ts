// Merging stores: the shards of one study (`steerbench run --shard i/n`, each into its own store) become
// ONE run in the output store, with the id an unsharded run of the same config would have; other runs
// are copied as they are. Items, responses, judgements and cached judge replies are copied row for row.
//
// Refused, with the reason named: the same item in two inputs (a shard run twice), and sharded runs
// whose configs differ in anything but `shard` (models, conditions, judges, data hash, ...).
//
// The merged run id is recomputed from the stored config the way planRun computes it. So that this can
// never silently drift from planRun, every input run's own id is recomputed first and must match.

import { modelLabel } from "../config/run-config.js";
import { runIdOf, runIdentity as sharedRunIdentity } from "../config/run-identity.js";
import {
  type LiveStoredConfig,
  readStoredConfig,
  type StoredConfig,
  StoredConfigError,
} from "../config/stored-config.js";
import { canonicalJson } from "../util/hash.js";
import { connectionOf } from "./connection.js";
import type { Store, ItemRow as StoreItemRow } from "./store.js";

export class MergeError extends Error {}

export interface MergeInput {
  /** Shown in messages (the file name). */
  label: string;
  store: Store;
}

export interface MergedRun {
  id: string;
  name: string;
  /** `label:runId` of every input run that went into it. */
  from: string[];
  /** Shard indices present, for a merged sharded study; undefined for a copied run. */
  shards?: { count: number; present: number[]; missing: number[] };
  items: number;
  responses: number;
  judgements: number;
  status: string;
}

export interface MergeResult {
  runs: MergedRun[];
  cachedReplies: number;
}

interface RunRow {
  id: string;
  name: string;
  kind: string;
  status: string;
  config_json: string;
  versions_json: string;
  data_hash: string | null;
  created_at: string;
  updated_at: string;
}

interface SourceRun {
  input: MergeInput;
  row: RunRow;
  /** The stored config as read (typed by kind). */
  stored: StoredConfig;
  /** The stored JSON, copied as it is. */
  config: Record<string, unknown>;
  shard: { index: number; count: number } | null;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The identity planRun hashes into the run id, rebuilt from a stored live-run config: everything that
 * changes results, nothing operational. `shard` is replaced by the given value.
 */
export function storedRunIdentity(stored: unknown, shard: unknown): Record<string, unknown> {
  const read = readStoredConfig({ id: "(stored config)", kind: "live", config: stored });
  return identityOf(read.kind === "live" ? read.config : {}, shard);
}

function identityOf(c: LiveStoredConfig, shard: unknown): Record<string, unknown> {
  return sharedRunIdentity({
    ...c,
    selection: c.selection,
    system: c.system,
    conditions: c.conditions,
    epochs: c.epochs,
    dataHash: c.dataHash,
    models: c.models ?? [],
    // Every writer stores a judge's model; a hand-made judge known by name only is labelled by it.
    judges: (c.judges ?? []).map((j) => ({ ...j, model: j.model ?? j.name ?? "" })),
    shard,
  });
}

const liveConfig = (r: SourceRun): LiveStoredConfig =>
  r.stored.kind === "live" || r.stored.kind === "sweep" ? r.stored.config : {};

export { runIdOf };

/** The first path at which two JSON values differ (e.g. `models[0].model`), or undefined if equal. */
export function firstDifference(a: unknown, b: unknown): string | undefined {
  const ja = JSON.parse(canonicalJson(a ?? null)) as Json;
  const jb = JSON.parse(canonicalJson(b ?? null)) as Json;
  return diff(ja, jb, "");
}

function diff(a: Json, b: Json, path: string): string | undefined {
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      const d = diff(a[i]!, b[i]!, `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = diff(
        (a as Record<string, Json>)[k] ?? null,
        (b as Record<string, Json>)[k] ?? null,
        path ? `${path}.${k}` : k,
      );
      if (d) return d;
    }
    return undefined;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : path || "(top level)";
}

/** The value at a `a.b[0].c` path, shortened for a message (arrays shown by their length). */
function describeValue(v: unknown, path: string): string {
  let cur: unknown = v;
  for (const part of path.split(/\.|\[|\]/).filter((p) => p !== "")) {
    cur = isRecord(cur) ? cur[part] : Array.isArray(cur) ? cur[Number(part)] : undefined;
  }
  if (Array.isArray(cur)) return `${cur.length} entries`;
  const text = JSON.stringify(cur ?? null);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function readRuns(input: MergeInput): SourceRun[] {
  const rows = connectionOf(input.store)
    .prepare("SELECT * FROM runs ORDER BY created_at, id")
    .all() as RunRow[];
  return rows.map((row) => {
    let config: unknown;
    try {
      config = JSON.parse(row.config_json);
    } catch {
      throw new MergeError(`${input.label}: run ${row.id} has an unreadable config`);
    }
    let stored: StoredConfig;
    try {
      stored = readStoredConfig({ id: row.id, kind: row.kind, config });
    } catch (err) {
      if (err instanceof StoredConfigError) throw new MergeError(`${input.label}: ${err.message}`);
      throw err;
    }
    const s = stored.kind === "live" ? stored.config.shard : undefined;
    const shard = row.kind === "live" && s ? { index: s.index, count: s.count } : null;
    return { input, row, stored, config: isRecord(config) ? config : {}, shard };
  });
}

const itemKey = (r: { model: string; condition: string; scenario_id: string; epoch: number }) =>
  `${r.model}/${r.condition}/${r.scenario_id}/epoch ${r.epoch}`;

type ItemRow = Omit<StoreItemRow, "run_id">;

/**
 * Merges the runs of `inputs` into `out`. Everything is checked before anything is written, and the
 * writes are one transaction: a refused merge leaves `out` as it was.
 */
export function mergeStores(out: Store, inputs: readonly MergeInput[]): MergeResult {
  if (inputs.length === 0) throw new MergeError("nothing to merge: give at least one input store");
  const outPath = out.path;
  for (const i of inputs) {
    if (i.store.path === outPath)
      throw new MergeError(`${i.label} is the output store; merge into a new file`);
  }
  const runs = inputs.flatMap(readRuns);

  // Every live run's id must be what planRun would give its stored config; otherwise the merged id
  // computed the same way could not be trusted.
  for (const r of runs.filter((r) => r.row.kind === "live")) {
    const id = runIdOf(identityOf(liveConfig(r), r.shard));
    if (id !== r.row.id) {
      throw new MergeError(
        `${r.input.label}: run ${r.row.id}: its config does not give back its id (${id}); was it made by another steerbench version?`,
      );
    }
  }

  // Sharded runs: all parts of one study, identical apart from `shard`.
  const sharded = runs.filter((r) => r.shard !== null);
  const groups = new Map<string, SourceRun[]>();
  if (sharded.length > 0) {
    const ref = sharded[0]!;
    const refIdentity = identityOf(liveConfig(ref), null);
    for (const r of sharded.slice(1)) {
      const identity = identityOf(liveConfig(r), null);
      const d = firstDifference(identity, refIdentity);
      if (d) {
        throw new MergeError(
          `${r.input.label} (run ${r.row.id}) and ${ref.input.label} (run ${ref.row.id}) are not shards of the same study: ` +
            `${d} differs (${describeValue(identity, d)} vs ${describeValue(refIdentity, d)})`,
        );
      }
      if (r.shard!.count !== ref.shard!.count) {
        throw new MergeError(
          `${r.input.label} (run ${r.row.id}) is shard ${r.shard!.index}/${r.shard!.count} but ${ref.input.label} has ` +
            `${ref.shard!.index}/${ref.shard!.count}: shard counts differ`,
        );
      }
    }
    groups.set(runIdOf(refIdentity), sharded);
  }
  for (const r of runs.filter((r) => r.shard === null)) {
    const g = groups.get(r.row.id);
    if (g) g.push(r);
    else groups.set(r.row.id, [r]);
  }

  const existing = new Set(
    (connectionOf(out).prepare("SELECT id FROM runs").all() as { id: string }[]).map((r) => r.id),
  );
  for (const id of groups.keys()) {
    if (existing.has(id)) throw new MergeError(`run ${id} is already in ${outPath}; merge into a new file`);
  }

  // Items of each group, checked for duplicates before any write.
  const plans = [...groups.entries()].map(([id, parts]) => {
    const items: Array<{ part: SourceRun; row: ItemRow }> = [];
    const seen = new Map<string, SourceRun>();
    for (const part of parts) {
      const rows = connectionOf(part.input.store)
        .prepare("SELECT * FROM items WHERE run_id = ? ORDER BY seq")
        .all(part.row.id) as ItemRow[];
      for (const row of rows) {
        const key = itemKey(row);
        const other = seen.get(key);
        if (other) {
          throw new MergeError(
            `item ${key} is in both ${other.input.label} (run ${other.row.id}) and ${part.input.label} (run ${part.row.id})`,
          );
        }
        seen.set(key, part);
        items.push({ part, row });
      }
    }
    return { id, parts, items: orderItems(parts, items) };
  });

  const result: MergeResult = { runs: [], cachedReplies: 0 };
  out.transaction(() => {
    const insertRun = connectionOf(out).prepare(
      `INSERT INTO runs (id, name, kind, status, config_json, versions_json, data_hash, created_at, updated_at)
       VALUES (@id, @name, @kind, @status, @config_json, @versions_json, @data_hash, @created_at, @updated_at)`,
    );
    const insertItem = connectionOf(out).prepare(
      `INSERT INTO items (run_id, seq, model, condition, scenario_id, category, epoch, seed, context, system_prompt, user_prompt)
       VALUES (@runId, @seq, @model, @condition, @scenario_id, @category, @epoch, @seed, @context, @system_prompt, @user_prompt)`,
    );
    const insertResponse = connectionOf(out).prepare(
      `INSERT INTO responses (item_id, status, response, thinking, prompt_tokens, completion_tokens, latency_ms, finish_reason, request_json, error, attempts, created_at)
       VALUES (@newId, @status, @response, @thinking, @prompt_tokens, @completion_tokens, @latency_ms, @finish_reason, @request_json, @error, @attempts, @created_at)`,
    );
    const insertJudgement = connectionOf(out).prepare(
      `INSERT INTO judgements (item_id, judge, status, label, reason, raw, scores_json, error, attempts, latency_ms, created_at)
       VALUES (@newId, @judge, @status, @label, @reason, @raw, @scores_json, @error, @attempts, @latency_ms, @created_at)`,
    );

    for (const plan of plans) {
      const first = plan.parts[0]!;
      const isShardMerge = first.shard !== null;
      const config = isShardMerge ? { ...first.config, shard: null } : first.config;
      const allDone = plan.parts.every((p) => p.row.status === "done");
      const count = first.shard?.count ?? 0;
      const present = [...new Set(plan.parts.map((p) => p.shard?.index ?? -1))]
        .filter((i) => i >= 0)
        .sort((a, b) => a - b);
      const missing = isShardMerge
        ? Array.from({ length: count }, (_, i) => i).filter((i) => !present.includes(i))
        : [];
      const status = allDone && missing.length === 0 ? "done" : "interrupted";
      insertRun.run({
        id: plan.id,
        name: first.row.name,
        kind: first.row.kind,
        status: isShardMerge ? status : first.row.status,
        config_json: JSON.stringify(config),
        versions_json: first.row.versions_json,
        data_hash: first.row.data_hash,
        created_at: plan.parts.map((p) => p.row.created_at).sort()[0]!,
        updated_at: new Date().toISOString(),
      });

      let responses = 0;
      let judgements = 0;
      // Responses and judgements are read per part, keyed by the part's item id.
      const byPart = new Map<
        SourceRun,
        {
          responses: Map<number, Record<string, unknown>>;
          judgements: Map<number, Record<string, unknown>[]>;
        }
      >();
      for (const part of plan.parts) {
        const db = connectionOf(part.input.store);
        const resp = new Map<number, Record<string, unknown>>();
        for (const r of db
          .prepare("SELECT r.* FROM responses r JOIN items i ON i.id = r.item_id WHERE i.run_id = ?")
          .iterate(part.row.id) as Iterable<Record<string, unknown>>) {
          resp.set(r.item_id as number, r);
        }
        const judg = new Map<number, Record<string, unknown>[]>();
        for (const j of db
          .prepare(
            "SELECT j.* FROM judgements j JOIN items i ON i.id = j.item_id WHERE i.run_id = ? ORDER BY j.judge",
          )
          .iterate(part.row.id) as Iterable<Record<string, unknown>>) {
          const list = judg.get(j.item_id as number) ?? [];
          list.push(j);
          judg.set(j.item_id as number, list);
        }
        byPart.set(part, { responses: resp, judgements: judg });
      }
      plan.items.forEach(({ part, row }, seq) => {
        const newId = Number(insertItem.run({ ...row, runId: plan.id, seq }).lastInsertRowid);
        const rows = byPart.get(part)!;
        const r = rows.responses.get(row.id);
        if (r) {
          insertResponse.run({ ...r, newId });
          responses++;
        }
        for (const j of rows.judgements.get(row.id) ?? []) {
          insertJudgement.run({ ...j, newId });
          judgements++;
        }
      });
      result.runs.push({
        id: plan.id,
        name: first.row.name,
        from: plan.parts.map((p) => `${p.input.label}:${p.row.id}`),
        ...(isShardMerge ? { shards: { count, present, missing } } : {}),
        items: plan.items.length,
        responses,
        judgements,
        status: isShardMerge ? status : first.row.status,
      });
    }

    // Cached judge replies are keyed by content: the same key always holds the same reply.
    const insertCache = connectionOf(out).prepare(
      "INSERT OR IGNORE INTO judge_cache (key, reply, created_at) VALUES (?, ?, ?)",
    );
    for (const input of inputs) {
      for (const c of connectionOf(input.store)
        .prepare("SELECT key, reply, created_at FROM judge_cache")
        .iterate() as Iterable<{
        key: string;
        reply: string;
        created_at: string;
      }>) {
        result.cachedReplies += insertCache.run(c.key, c.reply, c.created_at).changes;
      }
    }
  });
  return result;
}

/**
 * Items in the order an unsharded run has them as far as the stores tell it: models and conditions in
 * config order, then epoch, then scenarios in an order consistent with every part's (plan) order.
 */
function orderItems(
  parts: readonly SourceRun[],
  items: Array<{ part: SourceRun; row: ItemRow }>,
): Array<{ part: SourceRun; row: ItemRow }> {
  if (parts.length === 1) return items;
  const cfg = liveConfig(parts[0]!);
  // Labels as items carry them (a local GGUF by its file name).
  const models = (cfg.models ?? []).map(modelLabel);
  const conditions = (cfg.conditions ?? []).map((c) => (typeof c === "string" ? c : c.name));
  const rank = scenarioOrder(parts.map((p) => items.filter((i) => i.part === p).map((i) => i.row)));
  const index = (list: string[], v: string) => {
    const i = list.indexOf(v);
    return i < 0 ? list.length : i;
  };
  return [...items].sort(
    (a, b) =>
      index(models, a.row.model) - index(models, b.row.model) ||
      index(conditions, a.row.condition) - index(conditions, b.row.condition) ||
      a.row.epoch - b.row.epoch ||
      (rank.get(a.row.scenario_id) ?? 0) - (rank.get(b.row.scenario_id) ?? 0) ||
      (a.row.scenario_id < b.row.scenario_id ? -1 : a.row.scenario_id > b.row.scenario_id ? 1 : 0),
  );
}

/**
 * A rank per scenario consistent with every part's order (Kahn's algorithm). Two scenarios that no part
 * holds in one block are not ordered by the data; they go by category, then by first sight. So blocks
 * come in plan order and each shard's order is kept, but the interleaving of two shards within a block
 * may differ from the unsharded run's (the benchmark pack, not the store, knows that order).
 */
function scenarioOrder(parts: ItemRow[][]): Map<string, number> {
  const firstSeen = new Map<string, number>();
  const category = new Map<string, number>();
  const categoryRank = new Map<string, number>();
  const after = new Map<string, Set<string>>();
  const indegree = new Map<string, number>();
  const node = (s: string) => {
    if (!firstSeen.has(s)) {
      firstSeen.set(s, firstSeen.size);
      after.set(s, new Set());
      indegree.set(s, 0);
    }
  };
  for (const rows of parts) {
    // Within one (model, condition, epoch) block the part lists scenarios in plan order.
    let prev: string | undefined;
    let block = "";
    for (const r of rows) {
      node(r.scenario_id);
      if (!categoryRank.has(r.category)) categoryRank.set(r.category, categoryRank.size);
      category.set(r.scenario_id, categoryRank.get(r.category)!);
      const b = `${r.model}\u0000${r.condition}\u0000${r.epoch}`;
      if (b !== block) {
        block = b;
        prev = undefined;
      }
      if (prev !== undefined && prev !== r.scenario_id && !after.get(prev)!.has(r.scenario_id)) {
        after.get(prev)!.add(r.scenario_id);
        indegree.set(r.scenario_id, indegree.get(r.scenario_id)! + 1);
      }
      prev = r.scenario_id;
    }
  }
  const ready = [...firstSeen.keys()].filter((s) => indegree.get(s) === 0);
  const rank = new Map<string, number>();
  while (ready.length > 0) {
    // Unconstrained pairs: keep categories together, in the order they were first seen.
    ready.sort((a, b) => category.get(a)! - category.get(b)! || firstSeen.get(a)! - firstSeen.get(b)!);
    const s = ready.shift()!;
    rank.set(s, rank.size);
    for (const t of after.get(s)!) {
      indegree.set(t, indegree.get(t)! - 1);
      if (indegree.get(t) === 0) ready.push(t);
    }
  }
  // A cycle cannot come from plan-ordered parts; fall back to first sight for anything left.
  for (const s of firstSeen.keys()) if (!rank.has(s)) rank.set(s, rank.size);
  return rank;
}
