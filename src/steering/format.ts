// Human and machine output of the steering verbs: the per-layer extraction table, vector file info, and the
// sweep's steerability curve. Tables render like Table 1 (cli-table3 boxes / Markdown pipes), with the same
// rounding helpers.

import type { ControlVector } from "../gguf/vector-file.js";
import type { Interval } from "../metrics/interval.js";
import { STEERING_FORMATS, type SteeringFormat } from "../report/formats.js";
import { renderTextTables, type TextTable } from "../report/render/text-table.js";
import { deltaText, fixed, NA, pText, rateText } from "../report/table-common.js";
import type { ControlSpread, SignCheck, Specificity } from "./controls.js";
import type { Extraction } from "./extract.js";
import type { SideEffectResult } from "./side-effects.js";
import type { SweepAnalysis } from "./sweep-analysis.js";

export { STEERING_FORMATS, type SteeringFormat };

/** Renders text tables for a terminal or as Markdown, with an optional footnote (the one renderer). */
export const renderTables = renderTextTables;

const num = (x: number, digits: number): string => (Number.isFinite(x) ? fixed(x, digits) : NA);

/** The per-layer separation table printed by `vectors extract`. */
export function formatExtraction(extraction: Extraction, format: SteeringFormat): string {
  if (format === "json") {
    return `${JSON.stringify({ ...extraction, directions: undefined }, null, 2)}\n`;
  }
  const best = [...extraction.layers].sort((a, b) => (b.auc || 0) - (a.auc || 0))[0];
  const held = extraction.testPairs > 0;
  return renderTables(
    [
      {
        title: `Steering vectors (${extraction.method}) from ${extraction.pairs} pairs: ${extraction.trainPairs} train, ${extraction.testPairs} held out`,
        head: [
          "Layer",
          held ? "AUC (held out)" : "AUC (in-sample)",
          held ? "Pair acc. (held out)" : "Pair acc. (in-sample)",
          "AUC (train)",
          "‖v‖",
        ],
        numeric: [true, true, true, true, true],
        body: extraction.layers.map((l) => [
          String(l.layer),
          num(l.auc, 3),
          num(l.pairAccuracy, 3),
          num(l.trainAuc, 3),
          num(l.norm, 3),
        ]),
      },
    ],
    format,
    [
      "AUC: projection of positive vs negative prompts on the layer's direction (0.5 = chance, 1 = perfect);",
      "pair acc.: share of pairs whose positive projects above its own negative.",
      best ? `Best separating layer: ${best.layer} (AUC ${num(best.auc, 3)}).` : "",
      extraction.truncatedPrompts > 0
        ? `${extraction.truncatedPrompts} prompts were cut from the front to fit the context.`
        : "",
      held ? "" : "No pairs were held out: the AUC is in-sample and optimistic.",
    ]
      .filter((s) => s !== "")
      .join(" "),
  );
}

/** `vectors info`: the file's shape, origin and per-layer quality. */
export function formatVectorInfo(path: string, vec: ControlVector, format: SteeringFormat): string {
  const layers = [...vec.directions.keys()].sort((a, b) => a - b);
  const norms = new Map(layers.map((il) => [il, Math.hypot(...vec.directions.get(il)!)]));
  if (format === "json") {
    const meta = vec.meta ? { ...vec.meta, quality: Object.fromEntries(vec.meta.quality) } : undefined;
    return `${JSON.stringify(
      { path, nEmbd: vec.nEmbd, modelHint: vec.modelHint, layers, norms: Object.fromEntries(norms), meta },
      null,
      2,
    )}\n`;
  }
  const m = vec.meta;
  const facts: string[][] = [
    ["file", path],
    ["model hint", vec.modelHint || NA],
    ["n_embd", String(vec.nEmbd)],
    ["layers", layers.join(", ")],
  ];
  if (m) {
    facts.push(
      ["extracted from", `${m.model} (${m.modelLayers} layers, n_embd ${m.modelEmbd})`],
      ["method", m.method],
      [
        "pairs",
        `${m.pairs}: ${m.pairCount} pairs, ${m.testPairs} held out (holdout ${m.holdout}, seed ${m.seed})`,
      ],
      ["tokens averaged", String(m.lastTokens)],
      ["created", m.created],
    );
    if (m.holdoutCategories) facts.push(["held-out categories", m.holdoutCategories.join(", ")]);
  } else {
    facts.push(["origin", "not written by steerbench (no steerbench.* metadata)"]);
  }
  return renderTables(
    [
      { title: "Control vector", head: ["Field", "Value"], numeric: [false, false], body: facts },
      {
        title: "Layers",
        head: ["Layer", "‖v‖", "AUC", "Pair acc.", "Pos. mean proj.", "Neg. mean proj."],
        numeric: [true, true, true, true, true, true],
        body: layers.map((il) => {
          const q = m?.quality.get(il);
          return [
            String(il),
            num(norms.get(il)!, 3),
            q ? num(q.auc, 3) : NA,
            q ? num(q.pairAccuracy, 3) : NA,
            q?.posMean === undefined ? NA : num(q.posMean, 3),
            q?.negMean === undefined ? NA : num(q.negMean, 3),
          ];
        }),
      },
    ],
    format,
  );
}

const strengthText = (s: number): string => (s > 0 ? `+${s}` : String(s));

const ratioText = (x: number): string =>
  x === Number.POSITIVE_INFINITY ? "+∞" : x === Number.NEGATIVE_INFINITY ? "−∞" : fixed(x, 2);

function klText(se: SideEffectResult | undefined): string {
  if (!se) return NA;
  const ci = se.klCI ? ` [${fixed(se.klCI[0], 4)}, ${fixed(se.klCI[1], 4)}]` : "";
  return `${fixed(se.klMean, 4)}${ci}`;
}

/** "specificity Δ(vector)/Δ(control) at +4 vs −4: 20.0 pp / 5.0 pp = 4.00 [1.2, +∞]". */
export function specificityText(sp: Specificity): string {
  const d = (x: number | null) => (x === null ? NA : `${fixed(x, 1)} pp`);
  const ci = sp.ratioCI ? ` [95% bootstrap CI ${ratioText(sp.ratioCI[0])}, ${ratioText(sp.ratioCI[1])}]` : "";
  const undef =
    sp.undefinedResamples > 0
      ? `; ${sp.undefinedResamples}/${sp.resamples} resamples with both Δ = 0 left out`
      : "";
  return (
    `specificity Δ(vector)/Δ(control) at ${strengthText(sp.high)} vs ${strengthText(sp.low)} over ${sp.items} items: ` +
    `${d(sp.vectorDelta)} / ${d(sp.controlDelta)} = ${sp.ratio === null ? NA : ratioText(sp.ratio)}${ci}${undef} ` +
    "(paired percentile bootstrap over items, 2,000 resamples, seed 0)."
  );
}

/** The vector against the mean movement of N seeded controls (both measures, with intervals). */
/** "; 12/2,000 resamples with an undefined rate left out (mean |Δ| …)", or "" when none was. */
function leftOut(cs: ControlSpread): string {
  const u = cs.undefinedResamples;
  const parts = (
    [
      ["mean |Δ|", u.meanAbsGap],
      ["mean move", u.meanShift],
      ["|Δ| ratio", u.gapRatio],
      ["move ratio", u.shiftRatio],
    ] as const
  ).filter(([, n]) => n > 0);
  if (parts.length === 0) return "";
  return `; left out for an undefined rate: ${parts.map(([what, n]) => `${n} (${what})`).join(", ")}`;
}

export function controlSpreadText(cs: ControlSpread): string {
  const pp = (x: number | null) => (x === null ? NA : fixed(x, 1));
  const ci = (x: Interval | null, f: (v: number) => string) => (x ? ` [${f(x[0])}, ${f(x[1])}]` : "");
  const r = (x: number | null) => (x === null ? NA : ratioText(x));
  const seeds = cs.seeds.map((s) => s.seed).join(", ");
  return (
    `random-direction controls over ${cs.seeds.length} seeds (${seeds}) at ${strengthText(cs.high)} vs ${strengthText(cs.low)}, ${cs.items} items: ` +
    `|Δ| per seed ${cs.seeds.map((s) => pp(s.gap === null ? null : Math.abs(s.gap))).join(", ")} pp, mean ${pp(cs.meanAbsGap)} pp${ci(cs.meanAbsGapCI, (v) => fixed(v, 1))} ` +
    `vs the vector's ${pp(cs.vectorGap === null ? null : Math.abs(cs.vectorGap))} pp: ratio ${r(cs.gapRatio)}${ci(cs.gapRatioCI, ratioText)}; ` +
    `largest move from 0 per seed ${cs.seeds.map((s) => pp(s.shift)).join(", ")} pp, mean ${pp(cs.meanShift)} pp${ci(cs.meanShiftCI, (v) => fixed(v, 1))} ` +
    `vs the vector's ${pp(cs.vectorShift)} pp: ratio ${r(cs.shiftRatio)}${ci(cs.shiftRatioCI, ratioText)} ` +
    `(95% paired percentile bootstrap over items, ${cs.resamples.toLocaleString("en-US")} resamples${leftOut(cs)}).`
  );
}

export function signCheckText(sc: SignCheck): string {
  const parts = sc.shifts.map(
    (x) =>
      `${strengthText(x.strength)} moves the prompts ${fixed(100 * x.shift, 1)}% of the class gap (${x.towardPositive}/${x.prompts} toward the positive class, ${rateText((100 * x.towardPositive) / x.prompts, x.towardPositiveCI)})`,
  );
  return `sign check at layer ${sc.layer} on ${sc.pairs} pairs${sc.source ? ` (${sc.source})` : ""}: ${sc.passed ? "passed" : "FAILED"} — ${parts.join("; ")}.`;
}

/** The steerability curve of a sweep, its gap, breakdown point and perplexity cost. */
export function formatSweep(analyses: readonly SweepAnalysis[], format: SteeringFormat): string {
  if (format === "json") return `${JSON.stringify(analyses, null, 2)}\n`;
  const tables: TextTable[] = [];
  const notes: string[] = [];
  for (const a of analyses) {
    tables.push({
      title: `Steerability curve: ${a.model} (judge ${a.judge})`,
      head: [
        "Strength",
        "Condition",
        "n",
        "Conv. % [95% CI]",
        "Refusal % [95% CI]",
        "Nonsens. % [95% CI]",
        "Δ conv. vs 0 pp [95% CI]",
        "PPL (× strength 0)",
        "KL nats [95% CI]",
        "Answers changed % [95% CI]",
      ],
      numeric: [true, false, true, true, true, true, true, true, true, true],
      body: a.points.map((p) => [
        strengthText(p.strength),
        p.condition,
        String(p.total),
        rateText(p.convergenceRate, p.convergenceCI),
        rateText(p.refusalRate, p.refusalCI),
        `${rateText(p.nonsensicalRate, p.nonsensicalCI)}${p.broken ? " !" : ""}`,
        p.vsZero ? deltaText(p.vsZero.delta, p.vsZero.deltaCI) : p.strength === 0 ? "—" : NA,
        p.perplexity === undefined
          ? NA
          : `${fixed(p.perplexity, 2)}${p.perplexityRatio === undefined ? "" : ` (×${fixed(p.perplexityRatio, 2)})`}`,
        klText(p.sideEffects),
        p.sideEffects
          ? `${rateText(p.sideEffects.changedRate, p.sideEffects.changedCI)} (${p.sideEffects.changed}/${p.sideEffects.prompts})`
          : NA,
      ]),
    });
    const ctl = a.control;
    if (ctl) {
      const byStrength = new Map(ctl.points.map((p) => [p.strength, p]));
      tables.push({
        title: `Vector vs random-direction control (same per-layer norm): ${a.model}`,
        head: [
          "Strength",
          "Vector conv. % [95% CI]",
          "Control conv. % [95% CI]",
          "Vector Δ vs 0 pp [95% CI]",
          "Control Δ vs 0 pp [95% CI]",
        ],
        numeric: [true, true, true, true, true],
        body: a.points.map((p) => {
          const c = byStrength.get(p.strength);
          return [
            strengthText(p.strength),
            rateText(p.convergenceRate, p.convergenceCI),
            c ? rateText(c.convergenceRate, c.convergenceCI) : NA,
            p.vsZero ? deltaText(p.vsZero.delta, p.vsZero.deltaCI) : p.strength === 0 ? "—" : NA,
            c?.vsZero ? deltaText(c.vsZero.delta, c.vsZero.deltaCI) : p.strength === 0 ? "—" : NA,
          ];
        }),
      });
    }
    if (a.specificity) {
      const seed = a.controlSpread
        ? ` (control seed ${a.controlSpread.seeds[0]?.seed} alone: a ratio over one seed's Δ swings with that Δ; the line over all seeds is the one to read)`
        : "";
      notes.push(`${a.model}: ${specificityText(a.specificity)}${seed}`);
    }
    if (a.controlSpread) notes.push(`${a.model}: ${controlSpreadText(a.controlSpread)}`);
    if (a.signCheck) notes.push(`${a.model}: ${signCheckText(a.signCheck)}`);
    if (a.sideEffectsSkipped) notes.push(`${a.model}: side effects not measured: ${a.sideEffectsSkipped}`);
    if (a.layersReason) notes.push(`${a.model}: --layers auto chose ${a.layersReason}.`);
    const gapRows: string[][] = [];
    const gapRow = (label: string, g: typeof a.gap) => {
      if (g) {
        gapRows.push([
          label,
          `${g.high} − ${g.low}`,
          deltaText(g.delta, g.deltaCI),
          pText(g.mcnemarP),
          String(g.pairs),
          deltaText(g.refusalDelta, g.refusalDeltaCI),
        ]);
      }
    };
    gapRow("strongest + vs −", a.gap);
    if (a.usable.gap && (a.usable.gap.high !== a.gap?.high || a.usable.gap.low !== a.gap?.low)) {
      gapRow("strongest usable + vs −", a.usable.gap);
    }
    if (gapRows.length > 0) {
      tables.push({
        title: `Activation steering gap: ${a.model}`,
        head: ["", "High − low", "Δ conv. pp [95% CI]", "McNemar p", "Pairs", "Δ refusal pp [95% CI]"],
        numeric: [false, false, true, true, true, true],
        body: gapRows,
      });
    }
    const side = (b: SweepAnalysis["breakdown"]["positive"], sign: string) =>
      b === null
        ? `no ${sign} strength raised nonsensical output significantly above strength 0`
        : `breaks at ${strengthText(b.strength)} (nonsensical ${rateText(b.nonsensicalRate, b.nonsensicalCI)})`;
    notes.push(
      `${a.model}: breakdown point — ${side(a.breakdown.positive, "positive")}; ${side(a.breakdown.negative, "negative")}. ` +
        `Usable range: ${a.usable.negative === null ? "0" : strengthText(a.usable.negative)} … ${a.usable.positive === null ? "0" : strengthText(a.usable.positive)}` +
        (a.referencePerplexity === undefined
          ? "."
          : `; unsteered passage perplexity ${fixed(a.referencePerplexity, 2)}.`),
    );
  }
  notes.push(
    "Conv.% and Refusal% over valid items, Nonsens.% over n (Wilson CIs); Δ: Newcombe CI, exact McNemar p. " +
      '"!": nonsensical% significantly above strength 0 (its CI lies entirely above strength 0\'s). ' +
      "PPL: perplexity of a fixed neutral passage under the condition. KL: mean KL(unsteered ‖ steered) of the " +
      "next token on 12 neutral prompts (bootstrap CI); answers changed: their greedy answers that differ (Wilson CI).",
  );
  return renderTables(tables, format, notes.join(format === "md" ? "\n\n" : "\n"));
}
