// Output of `compare --attacks`: the table for a terminal, Markdown or JSON, and a standalone HTML page with
// the table and a cost–effect scatter (Δ Conv.% with its interval against next-token KL), as inline SVG so
// the page needs no script. Every string from files, configs or models is escaped.
import { escapeHtml } from "../report/html/embed.js";
import { deltaText, fixed, NA, pText, rateText } from "../report/table-common.js";
import type { AttackRow, AttackTable } from "./attacks.js";
import { renderTables, type SteeringFormat } from "./format.js";

const klText = (r: AttackRow): string => {
  const se = r.cost.sideEffects;
  if (!se) return NA;
  return `${fixed(se.klMean, 4)}${se.klCI ? ` [${fixed(se.klCI[0], 4)}, ${fixed(se.klCI[1], 4)}]` : ""}`;
};
const changedText = (r: AttackRow): string => {
  const se = r.cost.sideEffects;
  return se ? `${rateText(se.changedRate, se.changedCI)} (${se.changed}/${se.prompts})` : NA;
};
const pplText = (r: AttackRow): string =>
  r.cost.perplexity === undefined
    ? NA
    : `${fixed(r.cost.perplexity, 2)}${r.cost.perplexityRatio === undefined ? "" : ` (×${fixed(r.cost.perplexityRatio, 2)})`}`;

export const ATTACK_FOOTNOTE =
  "Δ: the row's condition − the unsteered reference on the same items (scenario × epoch): Conv.% and Refusal% " +
  "over valid items, Newcombe CI, exact McNemar p. KL: mean KL(unsteered ‖ steered) of the next token on 12 " +
  "neutral prompts (bootstrap CI); changed: neutral prompts whose greedy answer changes (Wilson CI); PPL: " +
  "neutral-passage perplexity (× the reference's). Attacker: raising convergence without authorisation; " +
  "builder: authorised steering toward safety. Ablation removes the direction's both signs.";

function cells(r: AttackRow): string[] {
  const g = r.gap;
  return [
    r.side,
    r.attack,
    r.condition === null
      ? NA
      : r.model !== null && r.condition !== null && r.attack === "baked weight edit"
        ? `${r.model} · ${r.condition}`
        : r.condition,
    r.detail,
    g ? deltaText(g.delta, g.deltaCI) : NA,
    g ? pText(g.mcnemarP) : NA,
    g ? String(g.pairs) : NA,
    g ? deltaText(g.refusalDelta, g.refusalDeltaCI) : NA,
    g ? pText(g.refusalMcnemarP) : NA,
    klText(r),
    changedText(r),
    pplText(r),
  ];
}

const HEAD = [
  "Side",
  "Attack",
  "Condition",
  "How chosen",
  "Δ conv. pp [95% CI]",
  "McNemar p",
  "Pairs",
  "Δ refusal pp [95% CI]",
  "Refusal McNemar p",
  "KL nats [95% CI]",
  "Changed % [95% CI]",
  "PPL (× ref.)",
];

export function formatAttackTables(tables: readonly AttackTable[], format: SteeringFormat): string {
  if (format === "json") return `${JSON.stringify(tables, null, 2)}\n`;
  return renderTables(
    tables.map((t) => ({
      title: `Attack surface: ${t.model} (judge ${t.judge}; reference ${t.reference})`,
      head: HEAD,
      numeric: [false, false, false, false, true, true, true, true, true, true, true, true],
      body: t.rows.map(cells),
    })),
    format,
    ATTACK_FOOTNOTE,
  );
}

/** The cost–effect scatter: one point per measured row, Δ Conv.% (with its CI) against mean KL. */
export function attackScatterSvg(table: AttackTable): string {
  const points = table.rows.filter((r) => r.gap?.delta != null && r.cost.sideEffects !== undefined);
  const W = 760;
  const H = 360;
  const L = 60;
  // Room on the right for the labels of the costliest rows.
  const R = 160;
  const T = 20;
  const B = 50;
  if (points.length === 0) {
    return `<p>No row has both an effect and a KL cost to plot.</p>`;
  }
  const kls = points.map((r) => r.cost.sideEffects!.klMean);
  const xMax = Math.max(...kls, 1e-6) * 1.1;
  const lows = points.map((r) => r.gap!.deltaCI?.[0] ?? r.gap!.delta!);
  const highs = points.map((r) => r.gap!.deltaCI?.[1] ?? r.gap!.delta!);
  const yMin = Math.min(-10, ...lows);
  const yMax = Math.max(10, ...highs);
  const x = (v: number) => L + (v / xMax) * (W - L - R);
  const y = (v: number) => T + ((yMax - v) / (yMax - yMin)) * (H - T - B);
  const colour = (r: AttackRow) => (r.side === "attacker" ? "#D55E00" : "#0072B2");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Δ conv. against KL">`,
    `<line x1="${L}" y1="${y(0)}" x2="${W - R}" y2="${y(0)}" stroke="#8c959f" stroke-dasharray="4 3"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#8c959f"/>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#8c959f"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle" font-size="12">mean next-token KL, nats (cost)</text>`,
    `<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(T + H - B) / 2})">Δ conv. pp vs reference (effect)</text>`,
    `<text x="${L - 6}" y="${y(yMax) + 4}" text-anchor="end" font-size="10">${fixed(yMax, 0)}</text>`,
    `<text x="${L - 6}" y="${y(0) + 4}" text-anchor="end" font-size="10">0</text>`,
    `<text x="${L - 6}" y="${y(yMin) + 4}" text-anchor="end" font-size="10">${fixed(yMin, 0)}</text>`,
    `<text x="${W - R}" y="${H - B + 14}" text-anchor="end" font-size="10">${fixed(xMax, 3)}</text>`,
    `<text x="${L}" y="${H - B + 14}" text-anchor="middle" font-size="10">0</text>`,
  ];
  for (const r of points) {
    const px = x(r.cost.sideEffects!.klMean);
    const ci = r.gap!.deltaCI;
    if (ci)
      parts.push(
        `<line x1="${px}" y1="${y(ci[0])}" x2="${px}" y2="${y(ci[1])}" stroke="${colour(r)}" stroke-width="1.5"/>`,
      );
    parts.push(
      `<circle cx="${px}" cy="${y(r.gap!.delta!)}" r="5" fill="${colour(r)}"><title>${escapeHtml(`${r.side}: ${r.attack} (${r.condition ?? ""}) Δ ${fixed(r.gap!.delta!, 1)} pp, KL ${fixed(r.cost.sideEffects!.klMean, 4)}`)}</title></circle>`,
      `<text x="${px + 7}" y="${y(r.gap!.delta!) - 6}" font-size="11">${escapeHtml(r.attack)}</text>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}

/** A standalone HTML page: per model, the attack table and its cost–effect scatter. */
export function attackReportHtml(tables: readonly AttackTable[]): string {
  const body = tables.map((t) => {
    const rows = t.rows
      .map(
        (r) =>
          `<tr class="${r.side}">${cells(r)
            .map((c) => `<td>${escapeHtml(c)}</td>`)
            .join("")}</tr>`,
      )
      .join("\n");
    return [
      `<h2>${escapeHtml(`Attack surface: ${t.model}`)}</h2>`,
      `<p>${escapeHtml(`Judge ${t.judge}; every row against the unsteered reference "${t.reference}".`)}</p>`,
      `<table><thead><tr>${HEAD.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>`,
      rows,
      "</tbody></table>",
      "<h3>Cost against effect</h3>",
      attackScatterSvg(t),
      `<p class="legend"><span class="attacker">●</span> attacker side <span class="builder">●</span> builder side; whiskers: 95% Newcombe CI of Δ.</p>`,
    ].join("\n");
  });
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    "<title>steerbench attack surface</title>",
    "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}table{border-collapse:collapse;font-size:13px}" +
      "td,th{border:1px solid #d0d7de;padding:4px 6px;text-align:left}tr.builder td{background:#f0f6ff}" +
      "tr.attacker td:first-child,span.attacker{color:#D55E00}tr.builder td:first-child,span.builder{color:#0072B2}" +
      ".note{color:#57606a;font-size:13px}</style>",
    "</head><body>",
    "<h1>Attack surface</h1>",
    ...body,
    `<p class="note">${escapeHtml(ATTACK_FOOTNOTE)}</p>`,
    "</body></html>",
    "",
  ].join("\n");
}
