// `--layers auto`: the layer-selection rule of "Selective Steering: Norm-Preserving Control Through
// Discriminative Layer Selection". A layer is discriminative when the positive and the negative class means
// project with opposite signs on its direction (positive above 0, negative below); those layers are ranked
// by held-out AUC. Steering takes a contiguous range (that is what a control vector's [first, last] is), so
// the chosen range is the longest run of consecutive discriminative layers around the best-ranked one.
// Everything comes from the vector file's extraction metadata; no model is run. Pure, and below the runner,
// so that `sweep`/`bake --layers auto` and a run config's `layers: auto` choose by the same code.

import type { ControlVector } from "../gguf/vector-file.js";

export class LayerSelectionError extends Error {}

export interface LayerCandidate {
  layer: number;
  auc: number;
  posMean: number;
  negMean: number;
}

export interface AutoLayers {
  range: [number, number];
  /** Discriminative layers, best held-out AUC first. */
  ranked: LayerCandidate[];
  /** Layers with a direction that were not discriminative. */
  rejected: number[];
  /** One line saying what was chosen and why. */
  reason: string;
}

/** How errors name the setting and the way out: the CLI's `--layers` by default, a config key otherwise. */
export interface LayerSelectionWording {
  /** The setting, e.g. `--layers auto` or `conditions.2.activation.layers: auto`. */
  setting: string;
  /** What to give instead, e.g. `give --layers a-b`. */
  instead: string;
}

const CLI_WORDING: LayerSelectionWording = { setting: "--layers auto", instead: "give --layers a-b" };

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");

/** "1-3" for a contiguous set, else "1,3,5" (sorted). */
export function formatLayerList(layers: readonly number[]): string {
  const sorted = [...layers].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first === undefined || last === undefined) return "";
  if (last - first === sorted.length - 1) return first === last ? `${first}` : `${first}-${last}`;
  return sorted.join(",");
}

/** Chooses the steered layers of `vec` by the selective-steering rule; `label` names the file in errors. */
export function autoLayers(
  vec: ControlVector,
  label: string,
  wording: LayerSelectionWording = CLI_WORDING,
): AutoLayers {
  const { setting, instead } = wording;
  const q = vec.meta?.quality;
  if (!q || q.size === 0) {
    throw new LayerSelectionError(
      `${setting} needs per-layer extraction metadata, and ${label} has none (extract it with \`steerbench vectors extract\`)`,
    );
  }
  const candidates: LayerCandidate[] = [];
  const rejected: number[] = [];
  let missing = 0;
  for (const il of [...vec.directions.keys()].sort((a, b) => a - b)) {
    const lq = q.get(il);
    if (!lq || lq.posMean === undefined || lq.negMean === undefined) {
      missing++;
      continue;
    }
    if (lq.posMean > 0 && lq.negMean < 0) {
      candidates.push({ layer: il, auc: lq.auc, posMean: lq.posMean, negMean: lq.negMean });
    } else {
      rejected.push(il);
    }
  }
  if (candidates.length === 0) {
    throw new LayerSelectionError(
      missing > 0 && rejected.length === 0
        ? `${setting}: ${label} records no class-mean projections (written by an older steerbench); re-extract it`
        : `${setting}: no layer of ${label} has positive and negative class means projecting with opposite signs on its direction; ${instead}`,
    );
  }
  const ranked = [...candidates].sort((a, b) => (b.auc || 0) - (a.auc || 0) || a.layer - b.layer);
  const best = ranked[0]!;
  const set = new Set(candidates.map((c) => c.layer));
  let lo = best.layer;
  let hi = best.layer;
  while (set.has(lo - 1)) lo--;
  while (set.has(hi + 1)) hi++;
  const reason =
    `layers ${lo === hi ? lo : `${lo}-${hi}`}: class means project with opposite signs at ` +
    `${formatLayerList(candidates.map((c) => c.layer))}` +
    (rejected.length > 0 ? ` (not at ${formatLayerList(rejected)})` : "") +
    `; ranked by held-out AUC: ${ranked
      .slice(0, 5)
      .map((c) => `${c.layer} (${f(c.auc)}; pos ${f(c.posMean)}, neg ${f(c.negMean)})`)
      .join(", ")}` +
    `; the contiguous run around the best layer ${best.layer} is steered`;
  return { range: [lo, hi], ranked, rejected, reason };
}
