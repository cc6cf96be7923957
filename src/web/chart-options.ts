// ECharts options for the report's figures, built from the metrics' Table 1 (rates and intervals are
// never recomputed here). Intervals are drawn by custom series; tooltips are DOM nodes filled with
// textContent, never HTML strings, because model, condition and category names come from the store.
import type { CustomSeriesRenderItem, CustomSeriesRenderItemAPI, EChartsOption } from "echarts";
import type { Table1 } from "../metrics/index.js";
import type { SweepPoint } from "../report/html/types.js";
import { categoryName, ci, conditionColour, pct, SERIES_COLOURS, signed } from "./format.js";

// Single quotes: ECharts writes the font into an SVG style attribute without escaping double quotes.
export const FONT =
  "'Source Sans 3', 'Segoe UI', 'Helvetica Neue', Helvetica, Arial, 'DejaVu Sans', sans-serif";
const TEXT = "#1f2328";
const MUTED = "#57606a";
const GRID_LINE = "#e4e7eb";

/** A tooltip body: a bold title and `label: value` lines, as DOM text. */
export function tooltipNode(title: string, lines: readonly (readonly [string, string])[]): HTMLElement {
  const root = document.createElement("div");
  root.className = "sb-tooltip";
  const head = document.createElement("div");
  head.className = "sb-tooltip-title";
  head.textContent = title;
  root.appendChild(head);
  for (const [k, v] of lines) {
    const row = document.createElement("div");
    const key = document.createElement("span");
    key.className = "sb-tooltip-key";
    key.textContent = `${k}: `;
    const value = document.createElement("span");
    value.textContent = v;
    row.append(key, value);
    root.appendChild(row);
  }
  return root;
}

function base(): EChartsOption {
  return {
    animation: false,
    textStyle: { fontFamily: FONT, color: TEXT, fontSize: 12 },
    tooltip: {
      trigger: "item",
      confine: true,
      backgroundColor: "#ffffff",
      borderColor: "#d0d7de",
      textStyle: { color: TEXT, fontFamily: FONT, fontSize: 12 },
    },
  };
}

type Num = number | null;

/** Whisker from lo to hi at (pixel) cross position `at`, horizontal or vertical. */
function whisker(
  api: CustomSeriesRenderItemAPI,
  lo: number,
  hi: number,
  cat: number,
  offset: number,
  cap: number,
  horizontal: boolean,
  colour: string,
) {
  const p1 = api.coord(horizontal ? [lo, cat] : [cat, lo]);
  const p2 = api.coord(horizontal ? [hi, cat] : [cat, hi]);
  const [x1, y1, x2, y2] = horizontal
    ? [p1[0]!, p1[1]! + offset, p2[0]!, p2[1]! + offset]
    : [p1[0]! + offset, p1[1]!, p2[0]! + offset, p2[1]!];
  const style = { stroke: colour, lineWidth: 1.4 };
  const capShape = (x: number, y: number) =>
    horizontal ? { x1: x, y1: y - cap, x2: x, y2: y + cap } : { x1: x - cap, y1: y, x2: x + cap, y2: y };
  return [
    { type: "line" as const, shape: { x1, y1, x2, y2 }, style },
    { type: "line" as const, shape: capShape(x1, y1), style },
    { type: "line" as const, shape: capShape(x2, y2), style },
  ];
}

/**
 * Horizontal bars of a rate per model (rows) and condition (bars within a row), each with its Wilson
 * interval as a whisker.
 */
export function rateBarsOption(
  table: Table1,
  models: readonly string[],
  conditions: readonly string[],
  metric: "convergence" | "refusal",
): EChartsOption {
  const series = conditions.map((condition, ci_) => {
    const data: (number | string)[][] = [];
    for (const row of table.rows) {
      if (row.condition !== condition) continue;
      const m = models.indexOf(row.model);
      const rate = metric === "convergence" ? row.convergenceRate : row.refusalRate;
      const interval = metric === "convergence" ? row.convergenceCI : row.refusalCI;
      if (m < 0 || rate === null || interval === null) continue;
      const k = metric === "convergence" ? row.convergence : row.safetyRefusal;
      data.push([rate, m, interval[0], interval[1], k, row.valid]);
    }
    const colour = conditionColour(condition, conditions);
    const renderItem: CustomSeriesRenderItem = (_params, api) => {
      const layout = api.barLayout({ count: conditions.length, barGap: "20%", barCategoryGap: "28%" });
      const slot = layout?.[ci_];
      if (!slot) return null;
      const v = Number(api.value(0));
      const m = Number(api.value(1));
      const zero = api.coord([0, m]);
      const end = api.coord([v, m]);
      const y = zero[1]! + slot.offsetCenter;
      const h = slot.width;
      return {
        type: "group",
        children: [
          {
            type: "rect",
            shape: { x: zero[0]!, y: y - h / 2, width: Math.max(0, end[0]! - zero[0]!), height: h },
            style: { fill: colour, opacity: 0.85 },
          },
          ...whisker(
            api,
            Number(api.value(2)),
            Number(api.value(3)),
            m,
            slot.offsetCenter,
            Math.min(4, h / 2.5),
            true,
            TEXT,
          ),
        ],
      };
    };
    return {
      type: "custom" as const,
      name: condition,
      renderItem,
      encode: { x: [0, 2, 3], y: 1 },
      itemStyle: { color: colour },
      data,
      tooltip: {
        formatter: (p: unknown) => {
          const d = (p as { value: number[] }).value;
          return tooltipNode(`${models[d[1]!] ?? ""} · ${condition}`, [
            [metric === "convergence" ? "Conv" : "Refusal", `${pct(d[0])}% (${d[4]}/${d[5]})`],
            ["95% CI", ci([d[2]!, d[3]!])],
          ]);
        },
      },
    };
  });
  return {
    ...base(),
    legend: { top: 0, left: "center", itemWidth: 14, itemHeight: 10, textStyle: { color: TEXT } },
    grid: { left: 8, right: 24, top: 34, bottom: 36, containLabel: true },
    xAxis: {
      type: "value",
      min: 0,
      max: 100,
      name: metric === "convergence" ? "Convergence (% of valid items)" : "Safety refusal (% of valid items)",
      nameLocation: "middle",
      nameGap: 26,
      nameTextStyle: { color: MUTED },
      splitLine: { lineStyle: { color: GRID_LINE } },
      axisLabel: { color: MUTED },
    },
    yAxis: {
      type: "category",
      data: [...models],
      inverse: true,
      axisTick: { show: false },
      axisLine: { lineStyle: { color: "#8c959f" } },
      axisLabel: { color: TEXT, fontSize: 12 },
    },
    series,
  };
}

/** Forest plot of the gaps Δ (percentage points) per model with their Newcombe intervals. */
export function gapOption(table: Table1, models: readonly string[]): EChartsOption {
  const pairs = [...new Set(table.gaps.map((g) => `${g.high} − ${g.low}`))];
  let min = 0;
  let max = 0;
  const series = pairs.map((pair, pi) => {
    const data: (number | string)[][] = [];
    for (const g of table.gaps) {
      if (`${g.high} − ${g.low}` !== pair || g.delta === null || g.deltaCI === null) continue;
      const m = models.indexOf(g.model);
      if (m < 0) continue;
      min = Math.min(min, g.deltaCI[0]);
      max = Math.max(max, g.deltaCI[1]);
      data.push([g.delta, m, g.deltaCI[0], g.deltaCI[1], g.mcnemarP ?? "n/a", g.pairs]);
    }
    const colour = pairs.length === 1 ? TEXT : SERIES_COLOURS[pi % SERIES_COLOURS.length]!;
    const renderItem: CustomSeriesRenderItem = (_params, api) => {
      const m = Number(api.value(1));
      const p = api.coord([Number(api.value(0)), m]);
      // Several comparisons share a model's row: spread them over 70% of its band.
      const band = Number((api.size?.([0, 1]) as number[] | undefined)?.[1] ?? 30);
      const spread = pairs.length === 1 ? 0 : (pi - (pairs.length - 1) / 2) * ((band * 0.7) / pairs.length);
      return {
        type: "group",
        children: [
          ...whisker(api, Number(api.value(2)), Number(api.value(3)), m, spread, 4, true, colour),
          {
            type: "circle",
            shape: { cx: p[0]!, cy: p[1]! + spread, r: 4.5 },
            style: { fill: colour, stroke: "#fff" },
          },
        ],
      };
    };
    return {
      type: "custom" as const,
      name: `Δ ${pair}`,
      renderItem,
      encode: { x: [0, 2, 3], y: 1 },
      itemStyle: { color: colour },
      data,
      markLine:
        pi === 0
          ? {
              silent: true,
              symbol: "none",
              label: { show: false },
              lineStyle: { color: "#8c959f", type: "dashed" as const, width: 1 },
              data: [{ xAxis: 0 }],
            }
          : undefined,
      tooltip: {
        formatter: (p: unknown) => {
          const d = (p as { value: number[] }).value;
          return tooltipNode(`${models[d[1]!] ?? ""}: Δ ${pair}`, [
            ["Δ conv", `${signed(d[0])} pp`],
            ["95% CI", ci([d[2]!, d[3]!])],
            ["McNemar p", d[4]! < 0.001 ? "< 0.001" : d[4]!.toPrecision(2)],
            ["pairs", String(d[5])],
          ]);
        },
      },
    };
  });
  const pad = 5;
  return {
    ...base(),
    legend: pairs.length > 1 ? { top: 0, left: "center" } : undefined,
    grid: { left: 8, right: 24, top: pairs.length > 1 ? 34 : 12, bottom: 36, containLabel: true },
    xAxis: {
      type: "value",
      min: Math.floor((min - pad) / 10) * 10,
      max: Math.ceil((max + pad) / 10) * 10,
      name: "Δ convergence (percentage points)",
      nameLocation: "middle",
      nameGap: 26,
      nameTextStyle: { color: MUTED },
      splitLine: { lineStyle: { color: GRID_LINE } },
      axisLabel: { color: MUTED },
    },
    yAxis: {
      type: "category",
      data: [...models],
      inverse: true,
      axisTick: { show: false },
      axisLine: { show: false },
      axisLabel: { color: TEXT },
    },
    series,
  };
}

/** Grid layout of the category heat map: one small panel per model, `columns` panels a row. */
export function heatmapLayout(
  models: number,
  categories: number,
): { columns: number; rows: number; panelHeight: number; height: number } {
  const columns = Math.min(3, Math.max(1, models));
  const rows = Math.ceil(models / columns);
  const panelHeight = categories * 26;
  // 34 px for each panel title, 26 for the condition labels under it, 56 for the colour scale.
  return { columns, rows, panelHeight, height: rows * (panelHeight + 34 + 30) + 60 };
}

/** Text colour that stays readable on a heat-map cell of the given rate. */
const cellText = (rate: number): string => (rate >= 55 ? "#ffffff" : TEXT);

/**
 * Per-category convergence rates (CIR) as small multiples: one panel per model, categories down,
 * conditions across, so every label is written out in full.
 */
export function categoryHeatmapOption(
  table: Table1,
  models: readonly string[],
  conditions: readonly string[],
  categories: readonly string[],
): EChartsOption {
  const { columns, panelHeight } = heatmapLayout(models.length, categories.length);
  const labelArea = 19;
  const gap = 2.5;
  const width = (100 - labelArea - 2 - gap * (columns - 1)) / columns;
  const names = categories.map(categoryName);
  const panel = (i: number) => ({ col: i % columns, row: Math.floor(i / columns) });
  const topOf = (row: number) => 34 + row * (panelHeight + 34 + 30);
  const leftOf = (col: number) => labelArea + col * (width + gap);
  const grid = models.map((_, i) => {
    const { col, row } = panel(i);
    return { left: `${leftOf(col)}%`, width: `${width}%`, top: topOf(row), height: panelHeight };
  });
  const xAxis = models.map((_, i) => ({
    type: "category" as const,
    gridIndex: i,
    data: [...conditions],
    position: "bottom" as const,
    axisTick: { show: false },
    axisLine: { show: false },
    axisLabel: { color: TEXT, fontSize: 11, fontFamily: FONT, interval: 0 },
  }));
  const yAxis = models.map((_, i) => ({
    type: "category" as const,
    gridIndex: i,
    data: names,
    inverse: true,
    axisTick: { show: false },
    axisLine: { show: false },
    axisLabel: {
      show: panel(i).col === 0,
      color: TEXT,
      fontSize: 11.5,
      fontFamily: FONT,
      width: 200,
      overflow: "truncate" as const,
    },
  }));
  const series = models.map((model, i) => ({
    type: "heatmap" as const,
    name: model,
    xAxisIndex: i,
    yAxisIndex: i,
    data: table.categories
      .filter((c) => c.model === model && c.convergenceRate !== null)
      .map((c) => ({
        value: [conditions.indexOf(c.condition), categories.indexOf(c.category), c.convergenceRate!],
        counts: `${c.convergence}/${c.valid}`,
        interval: c.convergenceCI,
        label: { color: cellText(c.convergenceRate!) },
      }))
      .filter((d) => d.value[0]! >= 0 && d.value[1]! >= 0),
    label: {
      show: true,
      fontSize: 11,
      fontFamily: FONT,
      formatter: (p: unknown) => Math.round((p as { value: number[] }).value[2]!).toString(),
    },
    itemStyle: { borderColor: "#ffffff", borderWidth: 1.5 },
    emphasis: { disabled: true },
    tooltip: {
      formatter: (p: unknown) => {
        const d = p as { value: number[]; data: { counts: string; interval: [number, number] | null } };
        return tooltipNode(`${model} · ${conditions[d.value[0]!] ?? ""}`, [
          ["Category", names[d.value[1]!] ?? ""],
          ["CIR", `${pct(d.value[2])}% (${d.data.counts})`],
          ["95% CI", ci(d.data.interval)],
        ]);
      },
    },
  }));
  const titles = models.map((model, i) => {
    const { col, row } = panel(i);
    return {
      text: model,
      left: `${leftOf(col) + width / 2}%`,
      top: topOf(row) - 24,
      textAlign: "center" as const,
      textStyle: { fontSize: 12.5, fontWeight: "bold" as const, color: TEXT, fontFamily: FONT },
    };
  });
  return {
    ...base(),
    title: titles,
    grid,
    xAxis,
    yAxis,
    visualMap: {
      min: 0,
      max: 100,
      calculable: false,
      orient: "horizontal",
      left: "center",
      bottom: 6,
      itemWidth: 12,
      itemHeight: 180,
      text: ["100 %", "0 %"],
      textStyle: { color: MUTED, fontSize: 11, fontFamily: FONT },
      inRange: { color: ["#fff7ec", "#fdd49e", "#fc8d59", "#d7301f", "#7f0000"] },
      seriesIndex: models.map((_, i) => i),
    },
    series,
  };
}

export type SweepMetric = "convergence" | "refusal" | "nonsensical";

const SWEEP_METRICS: readonly { key: SweepMetric; name: string; colour: string }[] = [
  { key: "convergence", name: "Convergence", colour: "#D55E00" },
  { key: "refusal", name: "Safety refusal", colour: "#009E73" },
  { key: "nonsensical", name: "Nonsensical", colour: "#8C8C8C" },
];

function sweepValue(p: SweepPoint, metric: SweepMetric): { rate: Num; ci: [number, number] | null } {
  if (metric === "convergence") return { rate: p.convergenceRate, ci: p.convergenceCI };
  if (metric === "refusal") return { rate: p.refusalRate, ci: p.refusalCI };
  return { rate: p.nonsensicalRate, ci: p.nonsensicalCI };
}

const CONTROL_COLOUR = "#0072B2";
const PPL_COLOUR = "#6e7781";

/**
 * Conv/refusal/nonsensical % against steering strength for one model, with Wilson whiskers, and the sweep's
 * random-direction control (conv. %, dashed) beside the vector's curve when the sweep ran one.
 */
export function sweepOption(points: readonly SweepPoint[], model: string): EChartsOption {
  const all = points.filter((p) => p.model === model).sort((a, b) => a.strength - b.strength);
  const mine = all.filter((p) => !p.control);
  // The control shares the vector's strength-0 reference point.
  const control = all
    .filter((p) => p.control || p.strength === 0)
    .filter((p) => p.control || !all.some((q) => q.control && q.strength === 0));
  const strengths = mine.map((p) => p.strength);
  const lo = Math.min(...strengths);
  const hi = Math.max(...strengths);
  const pad = (hi - lo) * 0.05 || 0.5;
  const series: NonNullable<EChartsOption["series"]> = [];
  SWEEP_METRICS.forEach((m, mi) => {
    const data = mine
      .map((p) => ({ p, v: sweepValue(p, m.key) }))
      .filter((d) => d.v.rate !== null && d.v.ci !== null)
      .map((d) => [
        d.p.strength,
        d.v.rate!,
        d.v.ci![0],
        d.v.ci![1],
        d.p.condition,
        m.key === "nonsensical" ? d.p.total : d.p.valid,
      ]);
    series.push({
      type: "line",
      name: m.name,
      data: data.map((d) => [d[0]!, d[1]!]),
      symbol: "circle",
      symbolSize: 7,
      lineStyle: { color: m.colour, width: 2 },
      itemStyle: { color: m.colour },
      tooltip: { show: false },
    });
    // The three metrics' whiskers side by side, so equal intervals do not hide each other.
    const offset = (mi - 1) * 4;
    const renderItem: CustomSeriesRenderItem = (_params, api) => ({
      type: "group",
      children: whisker(
        api,
        Number(api.value(2)),
        Number(api.value(3)),
        Number(api.value(0)),
        offset,
        3.5,
        false,
        m.colour,
      ),
    });
    series.push({
      type: "custom",
      name: m.name,
      renderItem,
      encode: { x: 0, y: [1, 2, 3] },
      data,
      itemStyle: { color: m.colour },
      tooltip: {
        formatter: (p: unknown) => {
          const d = (p as { value: (number | string)[] }).value;
          return tooltipNode(`${model} · ${String(d[4])}`, [
            ["strength", String(d[0])],
            [m.name, `${pct(Number(d[1]))}%`],
            ["95% CI", ci([Number(d[2]), Number(d[3])])],
            ["n", String(d[5])],
          ]);
        },
      },
    });
  });
  const controlName = "Convergence, random control";
  if (control.some((p) => p.control)) {
    const data = control
      .filter((p) => p.convergenceRate !== null && p.convergenceCI !== null)
      .map((p) => [
        p.strength,
        p.convergenceRate!,
        p.convergenceCI![0],
        p.convergenceCI![1],
        p.condition,
        p.valid,
      ]);
    series.push({
      type: "line",
      name: controlName,
      data: data.map((d) => [d[0]!, d[1]!]),
      symbol: "diamond",
      symbolSize: 7,
      lineStyle: { color: CONTROL_COLOUR, width: 2, type: "dashed" },
      itemStyle: { color: CONTROL_COLOUR },
      tooltip: { show: false },
    });
    const renderItem: CustomSeriesRenderItem = (_params, api) => ({
      type: "group",
      children: whisker(
        api,
        Number(api.value(2)),
        Number(api.value(3)),
        Number(api.value(0)),
        8,
        3.5,
        false,
        CONTROL_COLOUR,
      ),
    });
    series.push({
      type: "custom",
      name: controlName,
      renderItem,
      encode: { x: 0, y: [1, 2, 3] },
      data,
      itemStyle: { color: CONTROL_COLOUR },
      tooltip: {
        formatter: (p: unknown) => {
          const d = (p as { value: (number | string)[] }).value;
          return tooltipNode(`${model} · ${String(d[4])}`, [
            ["strength", String(d[0])],
            ["Convergence (control)", `${pct(Number(d[1]))}%`],
            ["95% CI", ci([Number(d[2]), Number(d[3])])],
            ["n", String(d[5])],
          ]);
        },
      },
    });
  }
  // The side-effect cost on the same strengths: perplexity of the neutral passage, on its own axis.
  const pplName = "Perplexity (neutral passage)";
  const ppl = mine.filter((p) => p.perplexity !== undefined).map((p) => [p.strength, p.perplexity!]);
  if (ppl.length > 0) {
    series.push({
      type: "line",
      name: pplName,
      yAxisIndex: 1,
      data: ppl,
      symbol: "triangle",
      symbolSize: 7,
      lineStyle: { color: PPL_COLOUR, width: 1.5, type: "dotted" },
      itemStyle: { color: PPL_COLOUR },
      tooltip: {
        formatter: (p: unknown) => {
          const d = (p as { value: number[] }).value;
          return tooltipNode(`${model} · perplexity`, [
            ["strength", String(d[0])],
            ["perplexity", d[1]!.toFixed(2)],
          ]);
        },
      },
    });
  }
  const legend = [
    ...SWEEP_METRICS.map((m) => m.name),
    ...(control.some((p) => p.control) ? [controlName] : []),
    ...(ppl.length > 0 ? [pplName] : []),
  ];
  // Ticks at the swept strengths themselves (auto ticks showed −6/−3/0/3/6 for strengths −8…8).
  const ticks = [...new Set(strengths)].sort((a, b) => a - b);
  return {
    ...base(),
    legend: { top: 0, left: "center", data: legend },
    grid: { left: 8, right: 24, top: 34, bottom: 36, containLabel: true },
    xAxis: {
      type: "value",
      min: lo - pad,
      max: hi + pad,
      name: "Steering strength",
      nameLocation: "middle",
      nameGap: 26,
      nameTextStyle: { color: MUTED },
      axisLabel: { color: MUTED, customValues: ticks },
      axisTick: { customValues: ticks },
      splitLine: { show: false },
      axisLine: { onZero: false, lineStyle: { color: "#8c959f" } },
    },
    yAxis: [
      {
        type: "value",
        min: 0,
        max: 100,
        axisLine: { onZero: false, show: true, lineStyle: { color: "#8c959f" } },
        name: "% of items",
        nameTextStyle: { color: MUTED },
        splitLine: { lineStyle: { color: GRID_LINE } },
        axisLabel: { color: MUTED },
      },
      {
        type: "value",
        show: ppl.length > 0,
        scale: true,
        name: "perplexity",
        nameTextStyle: { color: MUTED },
        splitLine: { show: false },
        axisLine: { show: true, lineStyle: { color: PPL_COLOUR } },
        axisLabel: { color: MUTED },
      },
    ],
    series,
  };
}
