// Table 1 (rates with Wilson intervals and denominators), the gap table, and the run health table.
import { h } from "preact";
import type { GapRow, Table1, Table1Row } from "../metrics/index.js";
import type { HealthRow } from "../report/html/types.js";
import { ci, conditionColour, count, pct, pValue, signed } from "./format.js";

function rateCell(row: Table1Row | undefined, metric: "conv" | "refusal", model: string, condition: string) {
  const rate = row ? (metric === "conv" ? row.convergenceRate : row.refusalRate) : null;
  const interval = row ? (metric === "conv" ? row.convergenceCI : row.refusalCI) : null;
  return h(
    "td",
    { class: "num", "data-model": model, "data-condition": condition, "data-metric": metric },
    h("span", { class: "sb-value" }, pct(rate)),
    interval ? h("span", { class: "sb-ci" }, ci(interval)) : null,
  );
}

function gapCell(gap: GapRow | undefined, model: string) {
  return h(
    "td",
    {
      class: "num sb-gap",
      "data-model": model,
      "data-metric": "delta",
      "data-pair": gap ? `${gap.high}-${gap.low}` : "",
    },
    h("span", { class: "sb-value" }, gap ? signed(gap.delta) : "n/a"),
    gap?.deltaCI ? h("span", { class: "sb-ci" }, ci(gap.deltaCI)) : null,
  );
}

/** Conditions shown side by side before Table 1 switches to one row per model × condition. */
export const LONG_LAYOUT_AFTER = 4;

function Table1Long(props: {
  models: readonly string[];
  conditions: readonly string[];
  judge: string;
  rowOf: (m: string, c: string) => Table1Row | undefined;
}) {
  const { models, conditions, rowOf } = props;
  return h(
    "div",
    { class: "sb-table-wrap" },
    h(
      "table",
      { class: "sb-table sb-table1 sb-table1-long", "data-table": "table1", "data-layout": "long" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { class: "left" }, "Model"),
          h("th", { class: "left" }, "Condition"),
          h("th", { class: "num", title: "valid items (total − nonsensical) / total" }, "n valid"),
          h("th", { class: "num" }, "Conv %"),
          h("th", { class: "num" }, "Refusal %"),
        ),
      ),
      h(
        "tbody",
        null,
        models.flatMap((m) =>
          conditions.map((c) => {
            const row = rowOf(m, c);
            return h(
              "tr",
              { key: `${m}-${c}`, "data-row-model": m, "data-row-condition": c },
              h("th", { class: "left model", scope: "row" }, m),
              h(
                "td",
                { class: "left", style: { borderLeft: `3px solid ${conditionColour(c, conditions)}` } },
                c,
              ),
              h(
                "td",
                { class: "num sb-n", "data-model": m, "data-condition": c, "data-metric": "n" },
                row ? `${row.valid}` : "–",
                row ? h("span", { class: "sb-ci" }, `of ${row.total}`) : null,
              ),
              rateCell(row, "conv", m, c),
              rateCell(row, "refusal", m, c),
            );
          }),
        ),
      ),
    ),
    h(
      "p",
      { class: "sb-note" },
      `Judge: ${props.judge}. Conv % = convergence / valid and Refusal % = safety refusal / valid, pooled over categories; `,
      "valid = judged − nonsensical; items whose judge failed are left out of every count. Brackets: 95% Wilson score intervals. ",
      "The gaps Δ are in the gap table below.",
    ),
  );
}

/** The paper's Table 1, one row per model: n, Conv % and Refusal % per condition, then each Δ. */
export function Table1View(props: {
  table: Table1;
  models: readonly string[];
  conditions: readonly string[];
  judge: string;
}) {
  const { table, models, conditions } = props;
  const rowOf = (m: string, c: string) => table.rows.find((r) => r.model === m && r.condition === c);
  const pairs = [...new Map(table.gaps.map((g) => [`${g.high}-${g.low}`, g])).values()];
  // A sweep has many conditions (one per strength): one column group each made Table 1 2,200 px wide.
  // Past a handful, one row per model × condition instead; the gaps then have their own table below.
  if (conditions.length > LONG_LAYOUT_AFTER) return Table1Long({ ...props, rowOf });
  return h(
    "div",
    { class: "sb-table-wrap" },
    h(
      "table",
      { class: "sb-table sb-table1", "data-table": "table1" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { rowSpan: 2, class: "left" }, "Model"),
          conditions.map((c) =>
            h(
              "th",
              { colSpan: 3, class: "group", style: { borderBottomColor: conditionColour(c, conditions) } },
              c,
            ),
          ),
          pairs.map((g) =>
            h("th", { rowSpan: 2, class: "num group-gap" }, `Δ conv`, h("br", null), `${g.high} − ${g.low}`),
          ),
        ),
        h(
          "tr",
          null,
          conditions.map((c) => [
            h(
              "th",
              { class: "num sub", key: `${c}-n`, title: "valid items (total − nonsensical) / total" },
              "n valid",
            ),
            h("th", { class: "num sub", key: `${c}-c` }, "Conv %"),
            h("th", { class: "num sub", key: `${c}-r` }, "Refusal %"),
          ]),
        ),
      ),
      h(
        "tbody",
        null,
        models.map((m) =>
          h(
            "tr",
            { key: m, "data-row-model": m },
            h("th", { class: "left model", scope: "row" }, m),
            conditions.map((c) => {
              const row = rowOf(m, c);
              return [
                h(
                  "td",
                  {
                    class: "num sb-n",
                    key: `${c}-n`,
                    "data-model": m,
                    "data-condition": c,
                    "data-metric": "n",
                  },
                  row ? `${row.valid}` : "–",
                  row ? h("span", { class: "sb-ci" }, `of ${row.total}`) : null,
                ),
                rateCell(row, "conv", m, c),
                rateCell(row, "refusal", m, c),
              ];
            }),
            pairs.map((p) =>
              gapCell(
                table.gaps.find((g) => g.model === m && g.high === p.high && g.low === p.low),
                m,
              ),
            ),
          ),
        ),
      ),
    ),
    h(
      "p",
      { class: "sb-note" },
      `Judge: ${props.judge}. Conv % = convergence / valid and Refusal % = safety refusal / valid, pooled over categories; `,
      "valid = judged − nonsensical; items whose judge failed are left out of every count. ",
      "Brackets: 95% Wilson score intervals; for Δ, Newcombe's hybrid score interval (paired when every valid item pairs up).",
    ),
  );
}

export function GapTable(props: { table: Table1; models: readonly string[] }) {
  const gaps = [...props.table.gaps].sort(
    (a, b) => props.models.indexOf(a.model) - props.models.indexOf(b.model),
  );
  if (gaps.length === 0) return h("p", { class: "sb-note" }, "No condition pair to compare.");
  return h(
    "div",
    { class: "sb-table-wrap" },
    h(
      "table",
      { class: "sb-table", "data-table": "gaps" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { class: "left" }, "Model"),
          h("th", { class: "left" }, "Comparison"),
          h("th", { class: "num" }, "Δ conv (pp)"),
          h("th", { class: "num" }, "95% CI"),
          h("th", { class: "num" }, "McNemar p"),
          h("th", { class: "num", title: "items valid under both conditions" }, "pairs"),
          h(
            "th",
            { class: "num", title: "converged under the first condition only / the second only" },
            "discordant",
          ),
          h("th", { class: "num" }, "Δ refusal (pp)"),
          h("th", { class: "num" }, "95% CI"),
          h("th", { class: "num" }, "p"),
          h("th", { class: "left", title: "Newcombe hybrid score interval, paired or independent" }, "CI"),
        ),
      ),
      h(
        "tbody",
        null,
        gaps.map((g) =>
          h(
            "tr",
            { key: `${g.model}-${g.high}-${g.low}` },
            h("th", { class: "left model", scope: "row" }, g.model),
            h("td", { class: "left nowrap" }, `${g.high} − ${g.low}`),
            h("td", { class: "num" }, signed(g.delta)),
            h("td", { class: "num muted" }, ci(g.deltaCI)),
            h("td", { class: "num" }, pValue(g.mcnemarP)),
            h("td", { class: "num" }, String(g.pairs)),
            h("td", { class: "num" }, `${g.discordant.highOnly} / ${g.discordant.lowOnly}`),
            h("td", { class: "num" }, signed(g.refusalDelta)),
            h("td", { class: "num muted" }, ci(g.refusalDeltaCI)),
            h("td", { class: "num" }, pValue(g.refusalMcnemarP)),
            h(
              "td",
              { class: "left muted nowrap", title: g.ciMethod ?? undefined },
              g.ciMethod === null ? "n/a" : g.ciMethod.replace("newcombe-", ""),
            ),
          ),
        ),
      ),
    ),
  );
}

export function HealthTable(props: {
  health: readonly HealthRow[];
  judge: string | undefined;
  table: Table1 | undefined;
}) {
  const { health, judge, table } = props;
  const totals = health.reduce(
    (t, r) => {
      const j = judge ? r.judges[judge] : undefined;
      return {
        failed: t.failed + (j?.failed ?? 0),
        errors: t.errors + r.responseErrors + (j?.error ?? 0),
        nonsensical: t.nonsensical + (j?.nonsensical ?? 0),
      };
    },
    { failed: 0, errors: 0, nonsensical: 0 },
  );
  return h(
    "div",
    null,
    h(
      "p",
      { class: "sb-note", "data-health-summary": "" },
      `${count(totals.failed, "judge failure")}, ${count(totals.nonsensical, "nonsensical response")}, ${count(totals.errors, "transport error")} in this run`,
      judge ? ` (judge ${judge}).` : ".",
    ),
    h(
      "div",
      { class: "sb-table-wrap" },
      h(
        "table",
        { class: "sb-table", "data-table": "health" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { class: "left" }, "Model"),
            h("th", { class: "left" }, "Condition"),
            h("th", { class: "num" }, "Items"),
            h("th", { class: "num" }, "Responses"),
            h("th", { class: "num", title: "generations that failed after all retries" }, "Gen. errors"),
            h("th", { class: "num" }, "Pending"),
            h("th", { class: "num" }, "Judged"),
            h("th", { class: "num" }, "Judge failed"),
            h("th", { class: "num" }, "Judge errors"),
            h("th", { class: "num" }, "Nons."),
            h("th", { class: "num", title: "nonsensical / judged items" }, "Nons. %"),
          ),
        ),
        h(
          "tbody",
          null,
          health.map((r) => {
            const j = judge ? r.judges[judge] : undefined;
            const judged = (j?.ok ?? 0) + (j?.failed ?? 0);
            const row = table?.rows.find((t) => t.model === r.model && t.condition === r.condition);
            return h(
              "tr",
              { key: `${r.model}-${r.condition}`, "data-model": r.model, "data-condition": r.condition },
              h("th", { class: "left model", scope: "row" }, r.model),
              h("td", { class: "left" }, r.condition),
              h("td", { class: "num" }, String(r.items)),
              h("td", { class: "num" }, String(r.responsesOk)),
              h("td", { class: `num${r.responseErrors > 0 ? " warn" : ""}` }, String(r.responseErrors)),
              h("td", { class: "num" }, String(r.pending)),
              h("td", { class: "num" }, String(judged)),
              h(
                "td",
                { class: `num${(j?.failed ?? 0) > 0 ? " warn" : ""}`, "data-metric": "judge-failed" },
                String(j?.failed ?? 0),
              ),
              h("td", { class: `num${(j?.error ?? 0) > 0 ? " warn" : ""}` }, String(j?.error ?? 0)),
              h("td", { class: "num", "data-metric": "nonsensical" }, String(j?.nonsensical ?? 0)),
              h("td", { class: "num muted" }, pct(row?.nonsensicalRate, 1)),
            );
          }),
        ),
      ),
    ),
  );
}
