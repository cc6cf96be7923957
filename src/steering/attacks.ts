// The attack-surface table of `compare --attacks`: for one model, one row per way of moving its
// instrumental-convergence behaviour, each against the same unsteered reference (the `baseline` prompt, else
// activation strength 0), measured the same way: Δ Conv.% and Δ Refusal% (Newcombe interval, exact McNemar p
// over items paired by scenario and epoch) and what it costs in plain language (next-token KL and changed
// answers on neutral prompts, neutral-passage perplexity relative to the reference).
//
// Attacker's side (raising convergence without authorisation): the pro_ic prompt suffix; activation
// addition at its strongest usable positive strength; norm-preserving rotation (mode rotate) at its strongest
// usable positive strength; directional ablation (mode ablate; removing the pro−anti direction removes its
// anti side too, the sign does not matter); a baked weight edit (a model file with `steerbench.edit.*` keys,
// run unsteered). Builder's side (authorised steering toward safety): the anti_ic suffix and negative
// addition at its strongest usable strength: the paper's safety–security dilemma in one view.
import { buildTable1, type GapRow, type Outcome } from "../metrics/table1.js";
import type { Condition } from "../types.js";
import type { SideEffectResult } from "./side-effects.js";
import { analyzeSweep } from "./sweep-analysis.js";

export type AttackSide = "attacker" | "builder";

export interface AttackCost {
  sideEffects?: SideEffectResult;
  perplexity?: number;
  /** Perplexity relative to the reference's. */
  perplexityRatio?: number;
}

export interface AttackRow {
  side: AttackSide;
  attack: string;
  /** The model and condition measured (the baked model's own for the weight edit); null when not run. */
  model: string | null;
  condition: string | null;
  /** How the row's condition was chosen, e.g. "strength +4, strongest usable". */
  detail: string;
  gap: GapRow | null;
  cost: AttackCost;
}

export interface AttackTable {
  model: string;
  judge: string;
  reference: string;
  rows: AttackRow[];
}

/** Costs keyed by model and condition (see `costKey`). */
export type CostMap = ReadonlyMap<string, AttackCost>;

export const costKey = (model: string, condition: string): string => `${model}\u0000${condition}`;

export interface AttackInput {
  outcomes: readonly Outcome[];
  conditions: readonly Condition[];
  judge: string;
  /** Models whose file is a steerbench weight edit, with their `steerbench.edit.*` record. */
  baked: ReadonlyMap<string, Record<string, string | number>>;
  /** Baked model → the label of the model it was made from (else matched by its `source_model` file name). */
  bakedFrom?: ReadonlyMap<string, string>;
  /** Conditions that are random-direction controls (never an attack). */
  controls?: ReadonlySet<string>;
  costs?: CostMap;
}

const hasPrompt = (c: Condition): boolean => c.prompt !== undefined && Object.keys(c.prompt).length > 0;
const mode = (c: Condition) => c.activation?.mode ?? "add";
const signed = (s: number) => (s > 0 ? `+${s}` : `${s}`);

/** The reference of a model's outcomes: baseline, else a pure strength-0 activation condition. */
export function referenceCondition(
  conds: readonly Condition[],
  present: ReadonlySet<string>,
): string | undefined {
  if (present.has("baseline")) return "baseline";
  return conds.find((c) => present.has(c.name) && c.activation?.strength === 0 && !hasPrompt(c))?.name;
}

/** A condition with neither prompt nor activation (or strength 0): how an edited model is run unsteered. */
function plainCondition(conds: readonly Condition[], present: ReadonlySet<string>): string | undefined {
  if (present.has("baseline")) return "baseline";
  return conds.find(
    (c) => present.has(c.name) && !hasPrompt(c) && (!c.activation || c.activation.strength === 0),
  )?.name;
}

/** The strongest usable strength on one side of a family of activation conditions (below its breakdown). */
function usable(
  outcomes: readonly Outcome[],
  family: readonly Condition[],
  reference: string,
  sign: 1 | -1,
  judge: string,
  model: string,
): { condition: string; strength: number } | undefined {
  const strengths = new Map<string, number>(family.map((c) => [c.name, c.activation!.strength]));
  if (![...strengths.values()].includes(0)) strengths.set(reference, 0);
  const a = analyzeSweep(outcomes, strengths, { judge, model });
  const s = sign > 0 ? a.usable.positive : a.usable.negative;
  if (s === null) return undefined;
  const condition = family.find((c) => c.activation!.strength === s)?.name;
  return condition === undefined ? undefined : { condition, strength: s };
}

/** One attack table per un-edited model in the outcomes. */
export function buildAttackTables(input: AttackInput): AttackTable[] {
  const models = [...new Set(input.outcomes.map((o) => o.model))].filter((m) => !input.baked.has(m));
  const tables: AttackTable[] = [];
  for (const model of models) {
    const mine = input.outcomes.filter((o) => o.model === model);
    const present = new Set(mine.map((o) => o.condition));
    const conds = input.conditions.filter((c) => present.has(c.name));
    const reference = referenceCondition(conds, present);
    if (reference === undefined) continue;
    const cost = (m: string, c: string): AttackCost => input.costs?.get(costKey(m, c)) ?? {};
    const gapOf = (outcomes: readonly Outcome[], high: string) =>
      buildTable1(outcomes, { pairs: [{ high, low: reference }] }).gaps[0] ?? null;
    const row = (
      side: AttackSide,
      attack: string,
      condition: string | undefined,
      detail: string,
    ): AttackRow =>
      condition === undefined
        ? { side, attack, model: null, condition: null, detail, gap: null, cost: {} }
        : {
            side,
            attack,
            model,
            condition,
            detail,
            gap: gapOf(mine, condition),
            cost: cost(model, condition),
          };

    const pureActivation = conds.filter(
      (c) => c.activation !== undefined && !hasPrompt(c) && !input.controls?.has(c.name),
    );
    const addFamily = pureActivation.filter((c) => mode(c) === "add" && !c.activation!.normPreserving);
    const npFamily = pureActivation.filter((c) => mode(c) === "add" && c.activation!.normPreserving);
    const rotFamily = pureActivation.filter((c) => mode(c) === "rotate");
    const ablations = pureActivation.filter((c) => mode(c) === "ablate");
    const pick = (family: Condition[], sign: 1 | -1) =>
      family.some((c) => Math.sign(c.activation!.strength) === sign)
        ? usable(input.outcomes, family, reference, sign, input.judge, model)
        : undefined;

    const rows: AttackRow[] = [];
    rows.push(
      row(
        "attacker",
        "prompt suffix (pro_ic)",
        present.has("pro_ic") ? "pro_ic" : undefined,
        "the paper's pro_ic suffix",
      ),
    );
    const add = pick(addFamily, 1);
    rows.push(
      row(
        "attacker",
        "activation addition",
        add?.condition,
        add ? `strength ${signed(add.strength)}, strongest usable` : "no usable positive strength run",
      ),
    );
    const rot = pick(rotFamily, 1);
    if (rot || npFamily.length === 0) {
      rows.push(
        row(
          "attacker",
          "norm-preserving rotation",
          rot?.condition,
          rot
            ? `strength ${signed(rot.strength)}, strongest usable`
            : "no rotate sweep run (sweep --mode rotate)",
        ),
      );
    } else {
      const np = pick(npFamily, 1);
      rows.push(
        row(
          "attacker",
          "norm-preserving addition (rescaled; no rotate sweep run)",
          np?.condition,
          np ? `strength ${signed(np.strength)}, strongest usable` : "no usable positive strength run",
        ),
      );
    }
    const abl = ablations[0];
    rows.push(
      row(
        "attacker",
        "directional ablation",
        abl?.name,
        abl
          ? `mode ablate${abl.activation!.layers ? ` at layers ${abl.activation!.layers.join("-")}` : " at every layer"}`
          : "no ablate condition run",
      ),
    );

    // Baked edits of this model: their unsteered runs against this model's reference.
    const bakedRows: AttackRow[] = [];
    for (const [bm, edit] of input.baked) {
      const from = input.bakedFrom?.get(bm);
      const source = String(edit.source_model ?? "");
      const stem = source.replace(/\.gguf$/i, "");
      if (from !== undefined ? from !== model : source !== "" && model !== stem && !model.endsWith(source))
        continue;
      const theirs = input.outcomes.filter((o) => o.model === bm);
      const plain = plainCondition(input.conditions, new Set(theirs.map((o) => o.condition)));
      if (plain === undefined) continue;
      const BAKED = "\u0000baked";
      const merged = [
        ...mine.filter((o) => o.condition === reference),
        ...theirs.filter((o) => o.condition === plain).map((o) => ({ ...o, model, condition: BAKED })),
      ];
      const gap = buildTable1(merged, { pairs: [{ high: BAKED, low: reference }] }).gaps[0] ?? null;
      if (gap) gap.high = `${bm} · ${plain}`;
      bakedRows.push({
        side: "attacker",
        attack: "baked weight edit",
        model: bm,
        condition: plain,
        detail: `vectors bake --mode ${edit.mode}${edit.direction_layer !== undefined ? ` (direction.${edit.direction_layer})` : ""}, blocks ${edit.layers}`,
        gap,
        cost: cost(bm, plain),
      });
    }
    rows.push(
      ...(bakedRows.length > 0
        ? bakedRows
        : [
            row(
              "attacker",
              "baked weight edit",
              undefined,
              "no run on a baked model (vectors bake, then run it)",
            ),
          ]),
    );

    rows.push(
      row(
        "builder",
        "prompt suffix (anti_ic)",
        present.has("anti_ic") ? "anti_ic" : undefined,
        "the paper's anti_ic suffix",
      ),
    );
    const neg = pick(addFamily, -1);
    rows.push(
      row(
        "builder",
        "activation addition (negative)",
        neg?.condition,
        neg ? `strength ${signed(neg.strength)}, strongest usable` : "no usable negative strength run",
      ),
    );
    tables.push({ model, judge: input.judge, reference, rows });
  }
  return tables;
}
