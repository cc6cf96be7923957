// Prompt steering vs activation steering for one model, side by side: the prompt gap (pro_ic − anti_ic) and
// the activation gap (strongest positive − strongest negative strength), each with its Newcombe interval and
// McNemar p, and what each costs in plain language (perplexity of the neutral passage relative to no steering).
import { buildTable1, type GapRow, type Outcome } from "../metrics/table1.js";
import { deltaText, fixed, NA, pText } from "../report/table-common.js";
import type { Condition } from "../types.js";
import { renderTables, type SteeringFormat } from "./format.js";
import type { PerplexityResult } from "./perplexity.js";
import type { SideEffectResult } from "./side-effects.js";

export interface SideCost {
  /** Perplexity under the high / low condition. */
  high?: number;
  low?: number;
  /** The unsteered reference it is compared with (strength 0, the baseline prompt, or the neutral prompt). */
  reference?: number;
  highRatio?: number;
  lowRatio?: number;
}

export interface ComparisonSide {
  kind: "prompt" | "activation";
  high: string;
  low: string;
  /** Activation strengths of high and low. */
  highStrength?: number;
  lowStrength?: number;
  gap: GapRow | null;
  perplexity: SideCost;
  /** Next-token KL and changed answers on neutral prompts under the high / low condition, when measured. */
  sideEffects: { high?: SideEffectResult; low?: SideEffectResult };
}

export interface SteeringComparison {
  model: string;
  judge: string;
  prompt: ComparisonSide | null;
  activation: ComparisonSide | null;
}

export interface ComparisonInput {
  outcomes: readonly Outcome[];
  judge: string;
  /** The conditions of the run(s) the outcomes come from. */
  conditions: readonly Condition[];
  /** Perplexity per condition name. */
  perplexity?: Readonly<Record<string, PerplexityResult>>;
  /** Perplexity with no intervention at all. */
  referencePerplexity?: number;
  /** Conditions that are controls (random directions), never the activation side. */
  controls?: ReadonlySet<string>;
  /** Side effects per condition name (from sweep records). */
  sideEffects?: Readonly<Record<string, SideEffectResult>>;
}

const hasPrompt = (c: Condition): boolean => c.prompt !== undefined && Object.keys(c.prompt).length > 0;

function cost(high: string, low: string, reference: string | undefined, input: ComparisonInput): SideCost {
  const p = (c: string | undefined) => (c === undefined ? undefined : input.perplexity?.[c]?.perplexity);
  const out: SideCost = {};
  const h = p(high);
  const l = p(low);
  const ref = p(reference) ?? input.referencePerplexity;
  if (h !== undefined) out.high = h;
  if (l !== undefined) out.low = l;
  if (ref !== undefined && ref > 0) {
    out.reference = ref;
    if (h !== undefined) out.highRatio = h / ref;
    if (l !== undefined) out.lowRatio = l / ref;
  }
  return out;
}

function effects(high: string, low: string, input: ComparisonInput): ComparisonSide["sideEffects"] {
  const out: ComparisonSide["sideEffects"] = {};
  const h = input.sideEffects?.[high];
  const l = input.sideEffects?.[low];
  if (h) out.high = h;
  if (l) out.low = l;
  return out;
}

/** One comparison per model found in the outcomes. */
export function buildSteeringComparison(input: ComparisonInput): SteeringComparison[] {
  const models = [...new Set(input.outcomes.map((o) => o.model))];
  return models.map((model) => {
    const mine = input.outcomes.filter((o) => o.model === model);
    const present = new Set(mine.map((o) => o.condition));
    const conds = input.conditions.filter((c) => present.has(c.name));

    let prompt: ComparisonSide | null = null;
    if (present.has("pro_ic") && present.has("anti_ic")) {
      const gap = buildTable1(mine, { pairs: [{ high: "pro_ic", low: "anti_ic" }] }).gaps[0] ?? null;
      prompt = {
        kind: "prompt",
        high: "pro_ic",
        low: "anti_ic",
        gap,
        perplexity: cost("pro_ic", "anti_ic", present.has("baseline") ? "baseline" : undefined, input),
        sideEffects: effects("pro_ic", "anti_ic", input),
      };
    }

    // Pure activation conditions when there are any (a sweep on top of a prompt is a different question).
    const steered = conds.filter((c) => c.activation !== undefined && !input.controls?.has(c.name));
    const pure = steered.filter((c) => !hasPrompt(c));
    const pool = (pure.length > 0 ? pure : steered).sort(
      (a, b) => a.activation!.strength - b.activation!.strength,
    );
    let activation: ComparisonSide | null = null;
    const low = pool[0];
    const high = pool[pool.length - 1];
    if (low && high && high.activation!.strength > low.activation!.strength) {
      const gap = buildTable1(mine, { pairs: [{ high: high.name, low: low.name }] }).gaps[0] ?? null;
      const zero = pool.find((c) => c.activation!.strength === 0)?.name;
      activation = {
        kind: "activation",
        high: high.name,
        low: low.name,
        highStrength: high.activation!.strength,
        lowStrength: low.activation!.strength,
        gap,
        perplexity: cost(high.name, low.name, zero, input),
        sideEffects: effects(high.name, low.name, input),
      };
    }
    return { model, judge: input.judge, prompt, activation };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Formatting.

const klText = (se: SideEffectResult | undefined): string =>
  se === undefined
    ? NA
    : `${fixed(se.klMean, 4)}${se.klCI ? ` [${fixed(se.klCI[0], 4)}, ${fixed(se.klCI[1], 4)}]` : ""} / ${se.changed}/${se.prompts}`;

const pplText = (value: number | undefined, ratio: number | undefined): string => {
  if (value === undefined) return NA;
  return ratio === undefined ? fixed(value, 2) : `${fixed(value, 2)} (×${fixed(ratio, 2)})`;
};

export function formatSteeringComparison(
  comparisons: readonly SteeringComparison[],
  format: SteeringFormat,
): string {
  if (format === "json") return `${JSON.stringify(comparisons, null, 2)}\n`;
  const rows: string[][] = [];
  for (const c of comparisons) {
    for (const side of [c.prompt, c.activation]) {
      if (side === null) {
        continue;
      }
      const g = side.gap;
      const label =
        side.kind === "prompt"
          ? `${side.high} − ${side.low}`
          : `${side.high} − ${side.low} (strength ${side.highStrength} vs ${side.lowStrength})`;
      rows.push([
        c.model,
        side.kind,
        label,
        g ? deltaText(g.delta, g.deltaCI) : NA,
        g ? pText(g.mcnemarP) : NA,
        g ? String(g.pairs) : NA,
        g ? deltaText(g.refusalDelta, g.refusalDeltaCI) : NA,
        pplText(side.perplexity.high, side.perplexity.highRatio),
        pplText(side.perplexity.low, side.perplexity.lowRatio),
        side.perplexity.reference === undefined ? NA : fixed(side.perplexity.reference, 2),
        klText(side.sideEffects.high),
        klText(side.sideEffects.low),
      ]);
    }
    if (c.prompt === null)
      rows.push([c.model, "prompt", "no pro_ic and anti_ic results", NA, NA, NA, NA, NA, NA, NA, NA, NA]);
    if (c.activation === null)
      rows.push([
        c.model,
        "activation",
        "no activation strengths to compare",
        NA,
        NA,
        NA,
        NA,
        NA,
        NA,
        NA,
        NA,
        NA,
      ]);
  }
  const judges = [...new Set(comparisons.map((c) => c.judge))].join(", ");
  return renderTables(
    [
      {
        title: `Prompt vs activation steering (judge ${judges})`,
        head: [
          "Model",
          "Steering",
          "High − low",
          "Δ conv. pp [95% CI]",
          "McNemar p",
          "Pairs",
          "Δ refusal pp [95% CI]",
          "PPL high (× ref.)",
          "PPL low (× ref.)",
          "PPL ref.",
          "KL high [95% CI] / changed",
          "KL low [95% CI] / changed",
        ],
        numeric: [false, false, false, true, true, true, true, true, true, true, true, true],
        body: rows,
      },
    ],
    format,
    "Δ: conv.% over valid items, high − low, Newcombe CI, exact McNemar p. PPL: perplexity of a fixed neutral " +
      "passage under the condition; ref. = unsteered (strength 0 for activation, the baseline prompt or the " +
      "neutral request for prompts). A large effect bought with a large PPL ratio is broken language, not steering. " +
      "KL: mean KL(unsteered ‖ steered) of the next token on 12 neutral prompts (bootstrap CI) / neutral prompts whose greedy answer changed.",
  );
}
