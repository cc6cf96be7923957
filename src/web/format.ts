// Number and name formatting shared by tables, charts and the explorer.
import type { Label } from "../types.js";

export const LABEL_NAMES: Record<Label, string> = {
  convergence: "convergence",
  no_convergence: "no convergence",
  safety_refusal: "safety refusal",
  nonsensical: "nonsensical",
};

/** A percentage with two decimals, as the paper prints Table 1; "n/a" when undefined. */
export function pct(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits);
}

/** A signed percentage-point difference. */
export function signed(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  const s = x.toFixed(digits);
  return x > 0 ? `+${s}` : s === `-${(0).toFixed(digits)}` ? (0).toFixed(digits) : s;
}

export function ci(interval: readonly [number, number] | null | undefined, digits = 1): string {
  if (!interval) return "";
  return `[${interval[0].toFixed(digits)}, ${interval[1].toFixed(digits)}]`;
}

/** A p-value: three significant digits, or "< 0.001". */
export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return "n/a";
  if (p < 0.001) return "< 0.001";
  return p >= 0.1 ? p.toFixed(2) : p.toPrecision(2);
}

/** `evading-shutdown` → `Evading shutdown`. */
export function categoryName(slug: string): string {
  const words = slug
    .replace(/[-_]+/g, " ")
    .trim()
    .replace(/\bai\b/g, "AI");
  return words.length === 0 ? slug : words[0]!.toUpperCase() + words.slice(1);
}

export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

// Okabe–Ito without its yellow (unreadable as text on white): distinguishable with the common
// colour-vision deficiencies.
const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#000000"];
const CONDITION_COLOURS: Record<string, string> = {
  baseline: "#8C8C8C",
  pro_ic: "#D55E00",
  anti_ic: "#0072B2",
};
// Viridis cut before its light end: ordered colours for the strengths of a sweep.
const SEQUENTIAL = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30"];

/** Colours of a sweep's conditions, in strength order; set by the report view for the run shown. */
let sweepColours = new Map<string, string>();

export function useSweepColours(strengths: ReadonlyMap<string, number>): void {
  const ordered = [...strengths.entries()].sort((a, b) => a[1] - b[1]).map(([c]) => c);
  sweepColours = new Map(
    ordered.map((c, i) => [
      c,
      SEQUENTIAL[Math.round((i * (SEQUENTIAL.length - 1)) / Math.max(1, ordered.length - 1))]!,
    ]),
  );
}

export function conditionColour(condition: string, conditions: readonly string[]): string {
  const fixed = CONDITION_COLOURS[condition] ?? sweepColours.get(condition);
  if (fixed) return fixed;
  const others = conditions.filter((c) => !CONDITION_COLOURS[c] && !sweepColours.has(c));
  return PALETTE[Math.max(0, others.indexOf(condition)) % PALETTE.length]!;
}

export const LABEL_COLOURS: Record<Label, string> = {
  convergence: "#D55E00",
  no_convergence: "#0072B2",
  safety_refusal: "#009E73",
  nonsensical: "#8C8C8C",
};

export const SERIES_COLOURS = PALETTE;
