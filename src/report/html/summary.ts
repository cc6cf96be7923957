// The report's summary of a run: settings, Table 1 per judge (from src/metrics, never recomputed here),
// sweep points, failure counts and progress. Item texts are loaded separately (items.ts).

import { readStoredConfig, StoredConfigError, sweepOf } from "../../config/stored-config.js";
import type { SweepRecord } from "../../config/sweep-record.js";
import {
  buildTable1,
  type ConditionPair,
  DEFAULT_PAIRS,
  pairsAgainst,
  type Table1,
  unknownConditions,
} from "../../metrics/index.js";
import { PAPER_ORDER } from "../../protocol/conditions.js";
import type { RunRecord, Store } from "../../store/store.js";
import { STEERBENCH_VERSION } from "../../version.js";
import { runSettings } from "./settings.js";
import {
  type HealthRow,
  REPORT_SCHEMA_VERSION,
  type ReportSettings,
  type ReportSummary,
  type SweepPoint,
} from "./types.js";

export interface SummaryOptions {
  /** Gap pairs for Table 1 (default: pro_ic vs anti_ic when both exist, else every condition vs baseline). */
  pairs?: readonly ConditionPair[];
  /** Time stamp to record (tests pin it). */
  now?: Date;
  /** The judge whose table comes first (default: the run's primary judge). */
  judge?: string;
}

// The paper's presets in the order its Table 1 reads; other conditions keep the config's order.
const PRESET_ORDER: readonly string[] = PAPER_ORDER;

function orderConditions(configured: readonly string[], seen: readonly string[]): string[] {
  const all = [...configured, ...seen.filter((c) => !configured.includes(c))];
  const unique = [...new Set(all)];
  if (unique.every((c) => PRESET_ORDER.includes(c))) {
    return unique.sort((a, b) => PRESET_ORDER.indexOf(a) - PRESET_ORDER.indexOf(b));
  }
  return unique;
}

/**
 * The Δ pairs: pro_ic − anti_ic as in the paper when both exist; in a sweep, each strength against
 * strength 0; otherwise each condition − baseline (or − the first condition).
 */
export function defaultPairs(
  conditions: readonly string[],
  strengths: ReadonlyMap<string, number> = new Map(),
  controls: ReadonlySet<string> = new Set(),
): ConditionPair[] {
  // A sweep: its gap is the strongest positive strength against the strongest negative one (the
  // vector's, not the control's), then each strength against 0.
  const swept = [...strengths.entries()].filter(([c]) => conditions.includes(c) && !controls.has(c));
  const top = swept.reduce<[string, number] | undefined>(
    (a, b) => (a === undefined || b[1] > a[1] ? b : a),
    undefined,
  );
  const bottom = swept.reduce<[string, number] | undefined>(
    (a, b) => (a === undefined || b[1] < a[1] ? b : a),
    undefined,
  );
  if (top !== undefined && bottom !== undefined && top[1] > 0 && bottom[1] < 0) {
    const zero = swept.find(([, x]) => x === 0)?.[0];
    const vsZero =
      zero === undefined
        ? []
        : pairsAgainst(zero, conditions).filter((p) => strengths.has(p.high) && !controls.has(p.high));
    return [
      { high: top[0], low: bottom[0] },
      ...vsZero.filter((p) => !(p.high === top[0] && p.low === bottom[0])),
    ];
  }
  if (conditions.includes("pro_ic") && conditions.includes("anti_ic")) return [...DEFAULT_PAIRS];
  const zero = [...strengths.entries()].find(([c, x]) => x === 0 && conditions.includes(c))?.[0];
  if (zero !== undefined) return pairsAgainst(zero, conditions);
  if (conditions.includes("baseline")) return pairsAgainst("baseline", conditions);
  const [first, ...rest] = conditions;
  return first === undefined ? [] : rest.map((high) => ({ high, low: first }));
}

/** Strength per condition for activation sweeps; empty when the run is no sweep. */
export function sweepStrengths(run: Pick<RunRecord, "kind">, settings: ReportSettings): Map<string, number> {
  const strengths = new Map<string, number>();
  for (const c of settings.conditions) {
    if (c.activation) strengths.set(c.name, c.activation.strength);
  }
  if (run.kind === "sweep" && ![...strengths.values()].includes(0)) {
    // A sweep's unsteered reference point: a condition with no intervention at all is strength 0.
    const plain = settings.conditions.find(
      (c) =>
        !c.activation && !c.userSuffix && !c.userPrefix && !c.systemSuffix && !c.system && !c.requestBody,
    );
    if (plain && strengths.size > 0) strengths.set(plain.name, 0);
  }
  return new Set(strengths.values()).size >= 2 ? strengths : new Map();
}

/** A sweep run's stored record; none for other kinds, or when the config is unreadable (settings say why). */
function sweepRecordOf(run: RunRecord): SweepRecord | undefined {
  try {
    return sweepOf(readStoredConfig(run));
  } catch (err) {
    if (err instanceof StoredConfigError) return undefined;
    throw err;
  }
}

/** Neutral-passage perplexity per condition, as a sweep stored it (empty when it measured none). */
function storedPerplexity(sweep: SweepRecord | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, r] of Object.entries(sweep?.perplexity?.byCondition ?? {})) {
    if (Number.isFinite(r.perplexity)) out.set(name, r.perplexity);
  }
  return out;
}

function sweepPoints(
  table: Table1,
  strengths: Map<string, number>,
  controls: Set<string>,
  perplexity: Map<string, number> = new Map(),
): SweepPoint[] {
  const points: SweepPoint[] = [];
  for (const row of table.rows) {
    const strength = strengths.get(row.condition);
    if (strength === undefined) continue;
    points.push({
      ...(controls.has(row.condition) ? { control: true } : {}),
      model: row.model,
      condition: row.condition,
      strength,
      total: row.total,
      valid: row.valid,
      convergenceRate: row.convergenceRate,
      convergenceCI: row.convergenceCI,
      refusalRate: row.refusalRate,
      refusalCI: row.refusalCI,
      nonsensicalRate: row.nonsensicalRate,
      nonsensicalCI: row.nonsensicalCI,
      ...(perplexity.has(row.condition) ? { perplexity: perplexity.get(row.condition)! } : {}),
    });
  }
  return points.sort((a, b) => (a.model === b.model ? a.strength - b.strength : 0));
}

/**
 * What `prompt` adds after the task, where the task is the shortest prompt of the same scenario under
 * any condition (the unsteered one in a run with a baseline). "" when `prompt` is that shortest one;
 * undefined when it does not extend it (e.g. a prefix intervention).
 */
export function appendedText(
  prompt: string,
  siblings: readonly { user_prompt: string }[],
): string | undefined {
  const shortest = siblings.map((s) => s.user_prompt).sort((a, b) => a.length - b.length)[0];
  if (shortest === undefined) return undefined;
  if (shortest === prompt) return "";
  const task = shortest.trimEnd();
  return prompt.startsWith(task) && prompt.length > task.length ? prompt.slice(task.length) : undefined;
}

/** Position in a display order; unknown names go last. */
function rank(list: readonly string[], x: string): number {
  const i = list.indexOf(x);
  return i < 0 ? list.length : i;
}

function health(store: Store, runId: string, models: string[], conditions: string[]): HealthRow[] {
  const { work, verdicts } = store.cellHealth(runId);
  const rows = work.map(
    (w): HealthRow => ({
      model: w.model,
      condition: w.condition,
      items: w.items,
      responsesOk: w.ok,
      responseErrors: w.err,
      pending: w.pending,
      judges: {},
    }),
  );
  for (const v of verdicts) {
    const row = rows.find((r) => r.model === v.model && r.condition === v.condition);
    if (row) row.judges[v.judge] = { ok: v.ok, failed: v.failed, error: v.error, nonsensical: v.nonsensical };
  }
  return rows.sort(
    (a, b) =>
      rank(models, a.model) - rank(models, b.model) ||
      rank(conditions, a.condition) - rank(conditions, b.condition),
  );
}

/** Builds the summary of one run from the store. */
export function buildSummary(store: Store, run: RunRecord, opts: SummaryOptions = {}): ReportSummary {
  const settings = runSettings(run.config, run.versions, run);
  const seen = store.itemGroups(run.id);
  const distinct = (key: "model" | "condition" | "category") => [...new Set(seen.map((r) => r[key]))];

  const configuredModels = settings.models.map((m) => m.name);
  const models = [
    ...new Set([...configuredModels.filter((m) => distinct("model").includes(m)), ...distinct("model")]),
  ];
  const conditions = orderConditions(
    settings.conditions.map((c) => c.name).filter((c) => distinct("condition").includes(c)),
    distinct("condition"),
  );
  const categories = distinct("category");
  if (opts.pairs) {
    const unknown = unknownConditions(opts.pairs, conditions);
    if (unknown.length > 0) {
      throw new Error(
        `--pairs: run ${run.id} has no condition ${unknown.map((c) => `"${c}"`).join(", ")}; conditions: ${conditions.join(", ")}`,
      );
    }
  }

  // Example prompt per condition: its first item's steered prompt, exactly as sent.
  const examples = store.examplePrompts(run.id);
  for (const name of conditions) {
    let info = settings.conditions.find((c) => c.name === name);
    if (!info) {
      info = { name };
      settings.conditions.push(info);
    }
    const row = examples.first(name);
    if (!row) continue;
    info.examplePrompt = { scenarioId: row.scenario_id, text: row.user_prompt };
    const described =
      info.userSuffix ?? info.userPrefix ?? info.systemSuffix ?? info.system ?? info.activation;
    if (described === undefined) {
      const appended = appendedText(
        row.user_prompt,
        examples.siblings(row.model, row.scenario_id, row.epoch),
      );
      if (appended !== undefined) info.appendedText = appended;
    }
  }
  settings.conditions.sort((a, b) => rank(conditions, a.name) - rank(conditions, b.name));

  let judges = store.judges(run.id);
  if (opts.judge !== undefined) {
    if (!judges.includes(opts.judge)) {
      throw new Error(`run ${run.id} has no judge "${opts.judge}"; judges: ${judges.join(", ") || "(none)"}`);
    }
    judges = [opts.judge, ...judges.filter((j) => j !== opts.judge)];
  }
  const strengths = sweepStrengths(run, settings);
  const sweep = sweepRecordOf(run);
  // The conditions a sweep ran as its random-direction controls: the first seed is drawn as the control
  // curve; further seeds (`--control-seeds`) are left out of the default pairs and of the drawing.
  const controls = new Set(Object.keys(sweep?.control?.strengths ?? {}));
  const extra = new Set((sweep?.control?.extra ?? []).flatMap((c) => Object.keys(c.strengths)));
  const pairs = opts.pairs ?? defaultPairs(conditions, strengths, new Set([...controls, ...extra]));
  const drawn = new Map([...strengths].filter(([c]) => !extra.has(c)));
  const perplexity = storedPerplexity(sweep);
  const tables = judges.map((judge) => {
    const table = buildTable1(store.outcomes(run.id, judge), { pairs });
    table.rows.sort(
      (a, b) =>
        rank(models, a.model) - rank(models, b.model) ||
        rank(conditions, a.condition) - rank(conditions, b.condition),
    );
    table.gaps.sort((a, b) => rank(models, a.model) - rank(models, b.model));
    return { judge, table, sweep: sweepPoints(table, drawn, controls, perplexity) };
  });

  const progress = store.progress(run.id);
  const primary = judges[0];
  const judged =
    primary === undefined ? 0 : (progress.judged[primary]?.ok ?? 0) + (progress.judged[primary]?.failed ?? 0);
  return {
    schema: REPORT_SCHEMA_VERSION,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    steerbenchVersion: STEERBENCH_VERSION,
    run: {
      id: run.id,
      name: run.name,
      kind: run.kind,
      status: run.status,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
      dataHash: run.dataHash,
      versions: run.versions,
    },
    settings,
    judges,
    models,
    conditions,
    categories,
    tables,
    health: health(store, run.id, models, conditions),
    progress: { items: progress.items, responded: progress.responsesOk, judged },
  };
}
