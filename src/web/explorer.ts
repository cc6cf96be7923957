// The item explorer: one card per scenario (× epoch) and model with its category context and task
// prompt, then the responses side by side across conditions. Filters narrow the cards; only one page
// of cards is in the DOM at a time, so a run of 20,000 items stays responsive.
//
// Every text here is untrusted model or benchmark output: it reaches the DOM only as text children
// (Preact text nodes), never as HTML, attributes that load anything, or URLs.
import { type ComponentChildren, h } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { ReportSummary } from "../report/html/types.js";
import { isLabel, LABELS, type Label } from "../types.js";
import { categoryName, conditionColour, count, LABEL_COLOURS, LABEL_NAMES } from "./format.js";
import type { UiItem } from "./model.js";

export const PAGE_SIZE = 20;

export interface Group {
  key: string;
  model: string;
  scenarioId: string;
  epoch: number;
  category: string;
  context: string;
  firstSeq: number;
  cells: Map<string, UiItem>;
}

/** Numeric-aware comparison, so `x-2` sorts before `x-10`. */
const collator = new Intl.Collator("en", { numeric: true });

/** Groups items into cards, ordered by model, category, scenario and epoch. */
export function groupItems(
  items: readonly UiItem[],
  models: readonly string[] = [],
  categories: readonly string[] = [],
): Group[] {
  const groups = new Map<string, Group>();
  for (const item of items) {
    const key = `${item.model}\u0000${item.scenarioId}\u0000${item.epoch}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        key,
        model: item.model,
        scenarioId: item.scenarioId,
        epoch: item.epoch,
        category: item.category,
        context: item.context,
        firstSeq: item.seq,
        cells: new Map(),
      };
      groups.set(key, g);
    }
    g.cells.set(item.condition, item);
  }
  const rank = (list: readonly string[], x: string) => {
    const i = list.indexOf(x);
    return i < 0 ? list.length : i;
  };
  return [...groups.values()].sort(
    (a, b) =>
      rank(models, a.model) - rank(models, b.model) ||
      rank(categories, a.category) - rank(categories, b.category) ||
      collator.compare(a.scenarioId, b.scenarioId) ||
      a.epoch - b.epoch ||
      a.firstSeq - b.firstSeq,
  );
}

export type LabelFilter = "*" | Label | "judge_failed" | "pending";

export interface Filters {
  model: string;
  conditions: readonly string[];
  category: string;
  label: LabelFilter;
  changedOnly: boolean;
  disagreeOnly: boolean;
  search: string;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function cellLabel(item: UiItem, judge: string): Label | null {
  const v = item.verdicts[judge];
  return v && v.status === "ok" ? v.label : null;
}

export function matches(g: Group, f: Filters, judge: string, search: RegExp | null): boolean {
  if (f.model !== "*" && g.model !== f.model) return false;
  if (f.category !== "*" && g.category !== f.category) return false;
  const cells = f.conditions.map((c) => g.cells.get(c)).filter((x): x is UiItem => x !== undefined);
  if (cells.length === 0) return false;
  if (f.label !== "*") {
    const wanted = f.label;
    const hit = cells.some((c) => {
      if (wanted === "pending") return c.response === null;
      if (wanted === "judge_failed") return c.verdicts[judge]?.status === "failed";
      return cellLabel(c, judge) === wanted;
    });
    if (!hit) return false;
  }
  if (f.changedOnly) {
    const labels = new Set(cells.map((c) => cellLabel(c, judge)).filter((l) => l !== null));
    if (labels.size < 2) return false;
  }
  if (f.disagreeOnly) {
    const split = cells.some((c) => {
      const labels = new Set(
        Object.values(c.verdicts)
          .filter((v) => v.status === "ok")
          .map((v) => v.label),
      );
      return labels.size > 1;
    });
    if (!split) return false;
  }
  if (search) {
    if (search.test(g.scenarioId)) return true;
    return cells.some(
      (c) =>
        search.test(c.prompt) ||
        (c.response?.text != null && search.test(c.response.text)) ||
        (c.response?.thinking != null && search.test(c.response.thinking)) ||
        Object.values(c.verdicts).some((v) => v.reason != null && search.test(v.reason)),
    );
  }
  return true;
}

/** The longest common prefix of the prompts, cut back to a line end so no word is split. */
export function commonPrompt(prompts: readonly string[]): string {
  if (prompts.length === 0) return "";
  let prefix = prompts[0]!;
  for (const p of prompts.slice(1)) {
    let i = 0;
    while (i < prefix.length && i < p.length && prefix[i] === p[i]) i++;
    prefix = prefix.slice(0, i);
  }
  if (prompts.every((p) => p === prefix)) return prefix;
  const cut = prefix.lastIndexOf("\n");
  return (cut >= 0 ? prefix.slice(0, cut) : prefix).trimEnd();
}

function LabelChip(props: { label: Label | null; status?: string; judge?: string }) {
  const { label, status } = props;
  const text = label
    ? LABEL_NAMES[label]
    : status === "failed"
      ? "judge failed"
      : status === "error"
        ? "judge error"
        : "not judged";
  const colour = label ? LABEL_COLOURS[label] : "#6e7781";
  return h(
    "span",
    {
      class: `sb-chip${label ? "" : " sb-chip-none"}`,
      style: { color: colour, borderColor: colour },
      "data-label": label ?? status ?? "none",
      title: props.judge ? `judge ${props.judge}` : undefined,
    },
    text,
  );
}

/** A <details> whose body is only rendered once opened (thinking texts can be very long). */
function LazyDetails(props: { summary: string; children: () => ComponentChildren; class?: string }) {
  const [open, setOpen] = useState(false);
  return h(
    "details",
    {
      class: props.class,
      onToggle: (e: Event) => setOpen((e.currentTarget as HTMLDetailsElement).open),
    },
    h("summary", null, props.summary),
    open ? props.children() : null,
  );
}

function seconds(ms: number | null): string | null {
  return ms === null ? null : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function Cell(props: {
  item: UiItem | undefined;
  condition: string;
  conditions: readonly string[];
  judge: string;
  judges: readonly string[];
}) {
  const { item, condition, judge } = props;
  const head = h(
    "div",
    { class: "sb-cell-head" },
    h(
      "span",
      { class: "sb-cond", style: { color: conditionColour(condition, props.conditions) } },
      condition,
    ),
  );
  if (!item)
    return h(
      "section",
      { class: "sb-cell sb-cell-empty", "data-condition": condition },
      head,
      h("p", { class: "muted" }, "no item"),
    );
  const primary = item.verdicts[judge];
  const others = props.judges.filter((j) => j !== judge && item.verdicts[j]);
  const r = item.response;
  const meta = r
    ? [
        r.promptTokens !== null ? `prompt ${r.promptTokens} tok` : null,
        r.completionTokens !== null ? `completion ${r.completionTokens} tok` : null,
        r.finishReason ? `finish: ${r.finishReason}` : null,
        seconds(r.latencyMs),
        r.text !== null ? `${r.text.length.toLocaleString("en-US")} chars` : null,
      ].filter((x): x is string => x !== null)
    : [];
  return h(
    "section",
    {
      class: "sb-cell",
      "data-condition": condition,
      "data-item-id": String(item.id),
      style: { borderTopColor: conditionColour(condition, props.conditions) },
    },
    h(
      "div",
      { class: "sb-cell-head" },
      h(
        "span",
        { class: "sb-cond", style: { color: conditionColour(condition, props.conditions) } },
        condition,
      ),
      h(LabelChip, {
        label: primary?.status === "ok" ? primary.label : null,
        status: primary?.status,
        judge,
      }),
      others.map((j) => {
        const v = item.verdicts[j]!;
        return h(
          "span",
          { class: "sb-other-judge", key: j },
          h("span", { class: "muted" }, `${j}: `),
          h(LabelChip, { label: v.status === "ok" ? v.label : null, status: v.status, judge: j }),
        );
      }),
    ),
    primary?.reason ? h("p", { class: "sb-reason", "data-field": "reason" }, primary.reason) : null,
    primary?.error ? h("p", { class: "sb-reason warn" }, primary.error) : null,
    others.map((j) => {
      const v = item.verdicts[j]!;
      return v.reason ? h("p", { class: "sb-reason sb-reason-other", key: j }, `${j}: `, v.reason) : null;
    }),
    r === null
      ? h("p", { class: "muted sb-pending" }, "waiting for a response…")
      : r.status === "error"
        ? h("p", { class: "warn" }, `generation failed: ${r.error ?? "unknown error"}`)
        : h("div", { class: "sb-text sb-response", "data-field": "response" }, r.text ?? ""),
    r?.thinking
      ? h(LazyDetails, {
          class: "sb-thinking",
          summary: `Thinking (${r.thinking.length.toLocaleString("en-US")} chars)`,
          children: () => h("div", { class: "sb-text", "data-field": "thinking" }, r.thinking),
        })
      : null,
    meta.length > 0 ? h("div", { class: "sb-meta" }, meta.join(" · ")) : null,
    h(LazyDetails, {
      class: "sb-sent",
      summary: "Prompt as sent",
      children: () => [
        h("div", { class: "sb-sub" }, "System"),
        h("div", { class: "sb-text" }, item.system ?? "(none)"),
        h("div", { class: "sb-sub" }, "User"),
        h("div", { class: "sb-text" }, item.prompt),
      ],
    }),
  );
}

function Card(props: {
  group: Group;
  conditions: readonly string[];
  allConditions: readonly string[];
  judge: string;
  judges: readonly string[];
  showEpoch: boolean;
}) {
  const { group, conditions } = props;
  const present = conditions.filter((c) => group.cells.has(c));
  const task = commonPrompt(present.map((c) => group.cells.get(c)!.prompt));
  return h(
    "article",
    {
      class: "sb-card",
      "data-group": group.key,
      "data-scenario": group.scenarioId,
      "data-model": group.model,
    },
    h(
      "header",
      { class: "sb-card-head" },
      h("span", { class: "sb-scenario" }, group.scenarioId),
      h("span", { class: "sb-tag" }, categoryName(group.category)),
      h("span", { class: "sb-card-model" }, group.model),
      props.showEpoch ? h("span", { class: "muted" }, `epoch ${group.epoch}`) : null,
    ),
    h(
      "details",
      { class: "sb-context" },
      h("summary", null, "Category context"),
      h("div", { class: "sb-text", "data-field": "context" }, group.context),
    ),
    h(
      "div",
      { class: "sb-sub" },
      present.length > 1 ? "Task prompt (shared by the conditions)" : "Task prompt",
    ),
    h("div", { class: "sb-text sb-task", "data-field": "prompt" }, task),
    h(
      "div",
      {
        class: "sb-cells",
        style: { gridTemplateColumns: `repeat(${Math.max(1, conditions.length)}, minmax(0, 1fr))` },
      },
      conditions.map((c) =>
        h(Cell, {
          key: c,
          item: group.cells.get(c),
          condition: c,
          conditions: props.allConditions,
          judge: props.judge,
          judges: props.judges,
        }),
      ),
    ),
  );
}

function Pager(props: { page: number; pages: number; onPage: (p: number) => void }) {
  const { page, pages, onPage } = props;
  return h(
    "nav",
    { class: "sb-pager", "aria-label": "pages" },
    h(
      "button",
      {
        type: "button",
        class: "sb-btn",
        disabled: page <= 0,
        onClick: () => onPage(0),
        "data-page": "first",
      },
      "«",
    ),
    h(
      "button",
      {
        type: "button",
        class: "sb-btn",
        disabled: page <= 0,
        onClick: () => onPage(page - 1),
        "data-page": "prev",
      },
      "‹ Prev",
    ),
    h("span", { class: "sb-page-of" }, `Page ${pages === 0 ? 0 : page + 1} of ${pages}`),
    h(
      "button",
      {
        type: "button",
        class: "sb-btn",
        disabled: page >= pages - 1,
        onClick: () => onPage(page + 1),
        "data-page": "next",
      },
      "Next ›",
    ),
    h(
      "button",
      {
        type: "button",
        class: "sb-btn",
        disabled: page >= pages - 1,
        onClick: () => onPage(pages - 1),
        "data-page": "last",
      },
      "»",
    ),
  );
}

export function Explorer(props: {
  summary: ReportSummary;
  items: readonly UiItem[];
  version: number;
  judge: string | undefined;
}) {
  const { summary } = props;
  const judge = props.judge ?? "";
  const [model, setModel] = useState<string>(summary.models[0] ?? "*");
  const [conditions, setConditions] = useState<readonly string[]>(summary.conditions);
  const [category, setCategory] = useState("*");
  const [label, setLabel] = useState<LabelFilter>("*");
  const [changedOnly, setChangedOnly] = useState(false);
  const [disagreeOnly, setDisagreeOnly] = useState(false);
  const [searchInput, setSearchInput] = useState("");
  const [search, setSearch] = useState("");
  const [page, setPage] = useState(0);

  // New conditions in a live run appear as columns without resetting the user's choice.
  const [known, setKnown] = useState<readonly string[]>(summary.conditions);
  useEffect(() => {
    const added = summary.conditions.filter((c) => !known.includes(c));
    if (added.length === 0) return;
    setKnown(summary.conditions);
    setConditions((prev) => [...prev, ...added]);
  }, [summary.conditions.join("\u0000")]);

  useEffect(() => {
    const t = setTimeout(() => setSearch(searchInput.trim()), 200);
    return () => clearTimeout(t);
  }, [searchInput]);

  const groups = useMemo(
    () => groupItems(props.items, summary.models, summary.categories),
    [props.version, props.items, summary.models, summary.categories],
  );
  const ordered = summary.conditions.filter((c) => conditions.includes(c));
  const filters: Filters = { model, conditions: ordered, category, label, changedOnly, disagreeOnly, search };
  const filtered = useMemo(() => {
    const re = search.length > 0 ? new RegExp(escapeRegExp(search), "i") : null;
    return groups.filter((g) => matches(g, filters, judge, re));
  }, [groups, model, ordered.join("\u0000"), category, label, changedOnly, disagreeOnly, search, judge]);

  const pages = Math.ceil(filtered.length / PAGE_SIZE);
  const current = Math.min(page, Math.max(0, pages - 1));
  useEffect(
    () => setPage(0),
    [model, ordered.join("\u0000"), category, label, changedOnly, disagreeOnly, search, judge],
  );
  const shown = filtered.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);
  const multiEpoch = groups.some((g) => g.epoch > 0);
  const unit = model === "*" ? "card" : "scenario";

  const toggleCondition = (c: string) =>
    setConditions((prev) => (prev.includes(c) ? prev.filter((x) => x !== c) : [...prev, c]));

  const select = (
    name: string,
    value: string,
    onChange: (v: string) => void,
    options: readonly (readonly [string, string])[],
  ) =>
    h(
      "label",
      { class: "sb-field" },
      h("span", null, name),
      h(
        "select",
        {
          value,
          "data-filter": name.toLowerCase(),
          onChange: (e: Event) => onChange((e.currentTarget as HTMLSelectElement).value),
        },
        options.map(([v, text]) => h("option", { value: v, key: v }, text)),
      ),
    );

  return h(
    "div",
    { class: "sb-explorer" },
    h(
      "div",
      { class: "sb-filters" },
      select("Model", model, setModel, [["*", "All models"], ...summary.models.map((m) => [m, m] as const)]),
      select("Category", category, setCategory, [
        ["*", "All categories"],
        ...summary.categories.map((c) => [c, categoryName(c)] as const),
      ]),
      select(
        "Label",
        label,
        (v) => setLabel(v === "*" || v === "judge_failed" || v === "pending" || isLabel(v) ? v : "*"),
        [
          ["*", "Any label"],
          ...LABELS.map((l) => [l, LABEL_NAMES[l]] as const),
          ["judge_failed", "judge failed"],
          ["pending", "no response yet"],
        ],
      ),
      h(
        "label",
        { class: "sb-field sb-search" },
        h("span", null, "Search"),
        h("input", {
          type: "search",
          value: searchInput,
          placeholder: "prompt, response, reason, thinking…",
          "data-filter": "search",
          onInput: (e: Event) => setSearchInput((e.currentTarget as HTMLInputElement).value),
        }),
      ),
      h(
        "div",
        { class: "sb-field sb-conditions" },
        h("span", null, "Conditions"),
        h(
          "div",
          { class: "sb-checks" },
          summary.conditions.map((c) =>
            h(
              "label",
              { class: "sb-check", key: c },
              h("input", {
                type: "checkbox",
                checked: conditions.includes(c),
                "data-filter-condition": c,
                onChange: () => toggleCondition(c),
              }),
              c,
            ),
          ),
        ),
      ),
      h(
        "div",
        { class: "sb-field sb-toggles" },
        h("span", null, "Only"),
        h(
          "div",
          { class: "sb-checks" },
          h(
            "label",
            { class: "sb-check" },
            h("input", {
              type: "checkbox",
              checked: changedOnly,
              "data-filter": "changed",
              onChange: (e: Event) => setChangedOnly((e.currentTarget as HTMLInputElement).checked),
            }),
            "label changed between conditions",
          ),
          summary.judges.length > 1
            ? h(
                "label",
                { class: "sb-check" },
                h("input", {
                  type: "checkbox",
                  checked: disagreeOnly,
                  "data-filter": "disagree",
                  onChange: (e: Event) => setDisagreeOnly((e.currentTarget as HTMLInputElement).checked),
                }),
                "judges disagree",
              )
            : null,
        ),
      ),
    ),
    h(
      "div",
      { class: "sb-results-bar" },
      h(
        "span",
        { class: "sb-count", "data-count": String(filtered.length) },
        `${count(filtered.length, unit)} of ${groups.filter((g) => model === "*" || g.model === model).length}`,
      ),
      h(Pager, { page: current, pages, onPage: setPage }),
    ),
    shown.length === 0
      ? h("p", { class: "sb-empty" }, "No item matches these filters.")
      : shown.map((g) =>
          h(Card, {
            key: g.key,
            group: g,
            conditions: ordered,
            allConditions: summary.conditions,
            judge,
            judges: summary.judges,
            showEpoch: multiEpoch,
          }),
        ),
    pages > 1
      ? h(
          "div",
          { class: "sb-results-bar" },
          h("span", null),
          h(Pager, { page: current, pages, onPage: setPage }),
        )
      : null,
  );
}
