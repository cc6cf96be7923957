// The cost column of the attack table: what is stored with sweep runs (side effects, perplexities) is reused;
// what is missing is measured on the local models: the original model for its conditions, and each baked
// file unsteered against the original model's own reference observations (the KL of a weight edit is the
// distance from the model it was made from).
import { existsSync } from "node:fs";
import type { GpuRequest } from "../llama/backend.js";
import type { LlamaEngine } from "../llama/engine.js";
import type { Condition, ProtocolStrings } from "../types.js";
import { type AttackCost, type AttackTable, costKey } from "./attacks.js";
import { conditionPerplexity, passagePerplexity } from "./perplexity.js";
import { measureSideEffects, observeReference, readOutputHead, SideEffectError } from "./side-effects.js";
import type { SweepRecord } from "./sweep-config.js";

/** Stored costs of one run's model: its sweep record's side effects and perplexities. */
export function storedCosts(
  model: string,
  record: SweepRecord | undefined,
  into: Map<string, AttackCost>,
): void {
  if (!record) return;
  const ref = record.perplexity?.reference.perplexity;
  const names = new Set([
    ...Object.keys(record.sideEffects?.byCondition ?? {}),
    ...Object.keys(record.perplexity?.byCondition ?? {}),
  ]);
  for (const c of names) {
    const k = costKey(model, c);
    if (into.has(k)) continue;
    const cost: AttackCost = {};
    const se = record.sideEffects?.byCondition[c];
    if (se) cost.sideEffects = se;
    const p = record.perplexity?.byCondition[c]?.perplexity;
    if (p !== undefined) {
      cost.perplexity = p;
      if (ref !== undefined && ref > 0) cost.perplexityRatio = p / ref;
    }
    into.set(k, cost);
  }
}

export interface AttackModel {
  /** The model's label in the outcomes. */
  label: string;
  path: string;
  threads?: number;
  contextSize?: number;
  gpu?: GpuRequest;
  gpuLayers?: number;
}

type Load = (m: AttackModel) => Promise<LlamaEngine>;

/**
 * Measures the costs the tables lack (rows with a condition and no KL). `models` maps labels to local files;
 * rows of models not in it are left without a cost. Returns the reasons for any cost that could not be had.
 */
export async function measureMissingCosts(
  tables: readonly AttackTable[],
  conditions: readonly Condition[],
  models: ReadonlyMap<string, AttackModel>,
  strings: ProtocolStrings,
  costs: Map<string, AttackCost>,
  load: Load,
  log?: (line: string) => void,
): Promise<string[]> {
  const notes: string[] = [];
  for (const t of tables) {
    const original = models.get(t.model);
    if (!original || !existsSync(original.path)) continue;
    const wanted = t.rows.filter(
      (r) => r.condition !== null && !costs.get(costKey(r.model!, r.condition!))?.sideEffects,
    );
    if (wanted.length === 0) continue;
    let head: ReturnType<typeof readOutputHead>;
    try {
      head = readOutputHead(original.path);
    } catch (err) {
      if (!(err instanceof SideEffectError)) throw err;
      notes.push(`KL not measured: ${err.message}`);
      continue;
    }
    const engine = await load(original);
    let reference: Awaited<ReturnType<typeof observeReference>>;
    let refPpl: number;
    try {
      reference = await observeReference(engine, head);
      refPpl = (await passagePerplexity(engine)).perplexity;
      const own = wanted.filter((r) => r.model === t.model);
      const conds = own
        .map((r) => conditions.find((c) => c.name === r.condition))
        .filter((c): c is Condition => !!c);
      const se = await measureSideEffects(engine, head, conds, strings, {}, log, reference);
      for (const c of conds) {
        const p = (await conditionPerplexity(engine, c, strings)).perplexity;
        costs.set(costKey(t.model, c.name), {
          sideEffects: se[c.name]!,
          perplexity: p,
          perplexityRatio: p / refPpl,
        });
      }
    } finally {
      await engine.dispose();
    }
    for (const r of wanted.filter((x) => x.model !== t.model)) {
      const m = models.get(r.model!);
      if (!m || !existsSync(m.path)) continue;
      const edited = await load(m);
      try {
        const plain: Condition = { name: r.condition! };
        const se = await measureSideEffects(
          edited,
          readOutputHead(m.path),
          [plain],
          strings,
          {},
          log,
          reference,
        );
        const p = (await passagePerplexity(edited)).perplexity;
        costs.set(costKey(r.model!, r.condition!), {
          sideEffects: se[plain.name]!,
          perplexity: p,
          perplexityRatio: p / refPpl,
        });
      } finally {
        await edited.dispose();
      }
    }
  }
  return notes;
}
