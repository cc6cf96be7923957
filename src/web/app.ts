// The report page: run header, settings, Table 1, figures, failure counts and the item explorer. The
// static HTML report and the live viewer both render this component; the viewer adds a run picker
// and a live status line through `headerExtra`.
import { type ComponentChildren, h } from "preact";
import { useMemo, useState } from "preact/hooks";
import type { ConditionInfo, JudgeInfo, ModelInfo, ReportSummary } from "../report/html/types.js";
import { Figure } from "./chart.js";
import {
  categoryHeatmapOption,
  gapOption,
  heatmapLayout,
  rateBarsOption,
  sweepOption,
} from "./chart-options.js";
import { Explorer } from "./explorer.js";
import { conditionColour, count, useSweepColours } from "./format.js";
import type { Dataset } from "./model.js";
import { GapTable, HealthTable, Table1View } from "./tables.js";

function Section(props: {
  id: string;
  title: string;
  children?: ComponentChildren;
  lead?: ComponentChildren;
}) {
  return h(
    "section",
    { class: "sb-section", id: props.id, "data-section": props.id },
    h("h2", null, props.title),
    props.lead ? h("p", { class: "sb-lead" }, props.lead) : null,
    props.children,
  );
}

function Dl(props: { rows: readonly (readonly [string, ComponentChildren])[] }) {
  return h(
    "dl",
    { class: "sb-dl" },
    props.rows.map(([k, v]) => [h("dt", { key: `${k}-t` }, k), h("dd", { key: `${k}-d` }, v)]),
  );
}

function Pre(props: { text: string; field?: string }) {
  return h("div", { class: "sb-text sb-exact", "data-field": props.field }, props.text);
}

function ConditionCard(props: { c: ConditionInfo; conditions: readonly string[] }) {
  const { c } = props;
  const parts: ComponentChildren[] = [];
  if (c.description) parts.push(h("p", { class: "sb-cond-desc" }, c.description));
  const text = (label: string, value: string | undefined) =>
    value === undefined
      ? null
      : [h("div", { class: "sb-sub" }, label), h(Pre, { text: value, field: label })];
  parts.push(text("User suffix (exact text)", c.userSuffix));
  parts.push(text("User prefix (exact text)", c.userPrefix));
  parts.push(text("System suffix (exact text)", c.systemSuffix));
  if (c.system) parts.push(h(Dl, { rows: [["System message", c.system]] }));
  if (c.activation) {
    const a = c.activation;
    parts.push(
      h(Dl, {
        rows: [
          ["Control vector", a.vector],
          ["Mode", a.mode ?? "add"],
          ...(a.mode === "ablate"
            ? a.directionLayer !== undefined
              ? [["Direction removed", `direction.${a.directionLayer}`] as const]
              : []
            : [["Strength", String(a.strength)] as const]),
          ["Layers", a.layers ? `${a.layers[0]}–${a.layers[1]}` : "all"],
          ...(a.layersReason ? [["Layers chosen by layers: auto", a.layersReason] as const] : []),
          ["Norm-preserving", a.normPreserving ? "yes" : "no"],
        ],
      }),
    );
  }
  if (c.requestBody) parts.push(text("Extra request body", c.requestBody));
  if (c.appendedText) {
    parts.push(text("Appended to the task (exact text, read off the stored prompts)", c.appendedText));
  }
  const plain =
    !c.userSuffix &&
    !c.userPrefix &&
    !c.systemSuffix &&
    !c.system &&
    !c.activation &&
    !c.requestBody &&
    !c.description;
  if (plain && c.appendedText === "") {
    parts.push(h("p", { class: "muted" }, "Stored by name only; its prompts add no text to the task."));
  } else if (plain && c.appendedText === undefined) {
    parts.push(h("p", { class: "muted" }, "Stored by name only; see the prompt as sent below."));
  }
  if (c.examplePrompt) {
    parts.push(
      h(
        "details",
        { class: "sb-example" },
        h("summary", null, `Steered prompt as sent (${c.examplePrompt.scenarioId})`),
        h(Pre, { text: c.examplePrompt.text }),
      ),
    );
  }
  return h(
    "div",
    { class: "sb-condition", "data-condition": c.name },
    h("h4", { style: { color: conditionColour(c.name, props.conditions) } }, c.name),
    parts,
  );
}

function Settings(props: { summary: ReportSummary }) {
  const { summary } = props;
  const s = summary.settings;
  const run = summary.run;
  const decoding = (d: Record<string, unknown> | undefined | null) =>
    d
      ? Object.entries(d)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
          .join(", ")
      : "";
  return h(
    "div",
    { class: "sb-settings" },
    h(Dl, {
      rows: [
        ["Run", `${run.name} (${run.id})`],
        ["Kind · status", `${run.kind} · ${run.status}`],
        ["Created · updated", `${run.createdAt} · ${run.updatedAt}`],
        ["Benchmark data (sha256)", run.dataHash ?? "not recorded"],
        ["Selection", s.selection ?? "not recorded"],
        ["Epochs", s.epochs === null ? "1" : String(s.epochs)],
        ["System message", s.system ?? "not in the run config; each item's prompt as sent is under Items"],
        ["Decoding (run default)", s.decoding ? decoding(s.decoding) : "per model, below"],
        [
          "Versions",
          Object.entries(run.versions)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ") || "not recorded",
        ],
        ["Report", `steerbench ${summary.steerbenchVersion}, generated ${summary.generatedAt}`],
      ],
    }),
    h("h3", null, "Models"),
    h(
      "div",
      { class: "sb-table-wrap" },
      h(
        "table",
        { class: "sb-table", "data-table": "models" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { class: "left" }, "Name"),
            h("th", { class: "left" }, "Model"),
            h("th", { class: "left" }, "Provider"),
            h("th", { class: "left" }, "Thinking"),
            h("th", { class: "left" }, "Decoding"),
          ),
        ),
        h(
          "tbody",
          null,
          (s.models.length > 0 ? s.models : summary.models.map((name): ModelInfo => ({ name }))).map((m) =>
            h(
              "tr",
              { key: m.name },
              h("th", { class: "left model", scope: "row" }, m.name),
              h("td", { class: "left mono" }, m.model ?? ""),
              h("td", { class: "left" }, m.provider ?? ""),
              h("td", { class: "left" }, m.thinking === undefined ? "" : m.thinking ? "yes" : "no"),
              h("td", { class: "left mono" }, decoding(m.decoding)),
            ),
          ),
        ),
      ),
    ),
    h("h3", null, "Conditions"),
    h(
      "div",
      { class: "sb-conditions-grid" },
      s.conditions.map((c) => h(ConditionCard, { key: c.name, c, conditions: summary.conditions })),
    ),
    h("h3", null, "Judges"),
    h(
      "div",
      { class: "sb-table-wrap" },
      h(
        "table",
        { class: "sb-table", "data-table": "judges" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            h("th", { class: "left" }, "Name"),
            h("th", { class: "left" }, "Model"),
            h("th", { class: "left" }, "Provider"),
            h("th", { class: "left" }, "Mode"),
            h("th", { class: "left" }, "Prompt"),
            h("th", { class: "num" }, "Temperature"),
            h("th", { class: "num" }, "Max tokens"),
          ),
        ),
        h(
          "tbody",
          null,
          (s.judges.length > 0 ? s.judges : summary.judges.map((name): JudgeInfo => ({ name }))).map((j) =>
            h(
              "tr",
              { key: j.name },
              h("th", { class: "left model", scope: "row" }, j.name),
              h("td", { class: "left mono" }, j.model ?? ""),
              h("td", { class: "left" }, j.provider ?? ""),
              h("td", { class: "left" }, j.mode ?? ""),
              h("td", { class: "left" }, j.prompt ?? ""),
              h("td", { class: "num" }, j.temperature === undefined ? "" : String(j.temperature)),
              h("td", { class: "num" }, j.maxTokens === undefined ? "" : String(j.maxTokens)),
            ),
          ),
        ),
      ),
    ),
    s.configError ? h("p", { class: "warn" }, s.configError) : null,
    h(
      "details",
      { class: "sb-raw" },
      h("summary", null, "Stored run configuration (JSON)"),
      h(Pre, { text: s.configJson }),
    ),
  );
}

function Figures(props: { summary: ReportSummary; judge: string }) {
  const { summary, judge } = props;
  const jt = summary.tables.find((t) => t.judge === judge);
  const [sweepModel, setSweepModel] = useState<string | undefined>(undefined);
  const models = summary.models;
  const conditions = summary.conditions;
  const barHeight = Math.max(220, 70 + models.length * (conditions.length * 16 + 18));
  const conv = useMemo(
    () => (jt ? rateBarsOption(jt.table, models, conditions, "convergence") : null),
    [jt, models, conditions],
  );
  const refusal = useMemo(
    () => (jt ? rateBarsOption(jt.table, models, conditions, "refusal") : null),
    [jt, models, conditions],
  );
  const gap = useMemo(
    () => (jt && jt.table.gaps.length > 0 ? gapOption(jt.table, models) : null),
    [jt, models],
  );
  const heat = useMemo(
    () => (jt ? categoryHeatmapOption(jt.table, models, conditions, summary.categories) : null),
    [jt, models, conditions, summary.categories],
  );
  const sweepModels = jt ? [...new Set(jt.sweep.map((p) => p.model))] : [];
  const chosen = sweepModel && sweepModels.includes(sweepModel) ? sweepModel : sweepModels[0];
  const sweep = useMemo(() => (jt && chosen ? sweepOption(jt.sweep, chosen) : null), [jt, chosen]);
  if (!jt) return h("p", { class: "sb-empty" }, "No judgements yet.");
  const base = `${summary.run.id}-${judge}`;
  return h(
    "div",
    { class: "sb-figures" },
    conv
      ? h(Figure, {
          id: "fig-convergence",
          title: "Convergence rate by model and condition",
          option: conv,
          height: barHeight,
          fileName: `${base}-convergence`,
          caption: "Share of valid items the judge labelled convergence; whiskers are 95% Wilson intervals.",
        })
      : null,
    gap
      ? h(Figure, {
          id: "fig-gap",
          title: "Steering gap Δ per model",
          option: gap,
          height: Math.max(200, 80 + models.length * 34),
          fileName: `${base}-gap`,
          caption:
            "Δ = Conv %(first) − Conv %(second) in percentage points; whiskers are Newcombe hybrid score 95% intervals.",
        })
      : null,
    heat
      ? h(Figure, {
          id: "fig-categories",
          title: "Convergence rate by category (CIR)",
          option: heat,
          height: heatmapLayout(models.length, summary.categories.length).height,
          fileName: `${base}-categories`,
          caption:
            "Convergence / valid items within each category (CIR), in percent, one panel per model; hover a cell for its counts and 95% Wilson interval.",
        })
      : null,
    sweep && chosen
      ? h(Figure, {
          id: "fig-sweep",
          title: "Activation steering sweep",
          option: sweep,
          height: 340,
          fileName: `${base}-sweep-${chosen}`,
          caption:
            "Convergence and refusal (% of valid items) and nonsensical (% of judged items) against the control-vector strength; whiskers are 95% Wilson intervals." +
            (jt?.sweep.some((p) => p.control)
              ? " Dashed: convergence under the sweep's control, a seeded random direction with the vector's norm at every layer."
              : ""),
          controls:
            sweepModels.length > 1
              ? h(
                  "select",
                  {
                    value: chosen,
                    "data-filter": "sweep-model",
                    onChange: (e: Event) => setSweepModel((e.currentTarget as HTMLSelectElement).value),
                  },
                  sweepModels.map((m) => h("option", { value: m, key: m }, m)),
                )
              : null,
        })
      : null,
    refusal
      ? h(Figure, {
          id: "fig-refusal",
          title: "Safety-refusal rate by model and condition",
          option: refusal,
          height: barHeight,
          fileName: `${base}-refusal`,
          caption:
            "Share of valid items the judge labelled safety refusal; whiskers are 95% Wilson intervals.",
        })
      : null,
  );
}

export function ReportView(props: { data: Dataset; headerExtra?: ComponentChildren; kicker?: string }) {
  const { summary, items } = props.data;
  // A sweep's conditions get ordered colours by strength.
  useSweepColours(
    new Map(
      summary.settings.conditions.filter((c) => c.activation).map((c) => [c.name, c.activation!.strength]),
    ),
  );
  const [judgeChoice, setJudgeChoice] = useState<string | undefined>(undefined);
  const judge = judgeChoice && summary.judges.includes(judgeChoice) ? judgeChoice : summary.judges[0];
  const jt = summary.tables.find((t) => t.judge === judge);
  const run = summary.run;
  const nav: [string, string][] = [
    ["settings", "Settings"],
    ["table1", "Table 1"],
    ["figures", "Figures"],
    ["health", "Failures"],
    ["items", "Items"],
  ];
  return h(
    "div",
    { class: "sb-page" },
    h(
      "header",
      { class: "sb-header" },
      h(
        "div",
        { class: "sb-header-main" },
        h("div", { class: "sb-kicker" }, props.kicker ?? "steerbench report"),
        h("h1", { "data-run-name": "" }, run.name),
        h(
          "div",
          { class: "sb-header-meta" },
          h("span", { class: "mono" }, run.id),
          h("span", { class: `sb-status sb-status-${run.status}` }, run.status),
          h(
            "span",
            null,
            `${count(summary.progress.items, "item")}, ${summary.progress.responded} responded, ${summary.progress.judged} judged`,
          ),
          summary.judges.length > 1
            ? h(
                "label",
                { class: "sb-field sb-inline" },
                h("span", null, "Judge"),
                h(
                  "select",
                  {
                    value: judge,
                    "data-filter": "judge",
                    onChange: (e: Event) => setJudgeChoice((e.currentTarget as HTMLSelectElement).value),
                  },
                  summary.judges.map((j) => h("option", { value: j, key: j }, j)),
                ),
              )
            : judge
              ? h("span", null, `judge ${judge}`)
              : null,
        ),
        props.headerExtra,
      ),
    ),
    h(
      "nav",
      { class: "sb-nav" },
      h("span", { class: "sb-nav-title" }, run.name),
      nav.map(([id, label]) => h("a", { href: `#${id}`, key: id }, label)),
    ),
    h(
      "main",
      null,
      h(Section, { id: "settings", title: "Settings" }, h(Settings, { summary })),
      h(
        Section,
        { id: "table1", title: "Table 1" },
        jt
          ? [
              h(Table1View, {
                table: jt.table,
                models: summary.models,
                conditions: summary.conditions,
                judge: jt.judge,
              }),
              h("h3", null, "Gaps and tests"),
              h(GapTable, { table: jt.table, models: summary.models }),
            ]
          : h("p", { class: "sb-empty" }, "No judgements yet."),
      ),
      h(
        Section,
        { id: "figures", title: "Figures" },
        judge ? h(Figures, { summary, judge }) : h("p", { class: "sb-empty" }, "No judgements yet."),
      ),
      h(
        Section,
        { id: "health", title: "Failures and nonsensical responses" },
        h(HealthTable, { health: summary.health, judge, table: jt?.table }),
      ),
      h(
        Section,
        {
          id: "items",
          title: "Items",
          lead: `Every item of the run (${count(items.length, "item")}), grouped by scenario; pick a model to compare its responses across conditions.`,
        },
        h(Explorer, { summary, items, version: props.data.version, judge }),
      ),
    ),
    h(
      "footer",
      { class: "sb-footer" },
      `Generated by steerbench ${summary.steerbenchVersion} on ${summary.generatedAt}. Rates and intervals come from steerbench's metrics module.`,
    ),
  );
}
