// A figure: an ECharts chart (SVG renderer) with a title, a caption and SVG/PNG download buttons.
import type { EChartsOption } from "echarts";
import { CustomChart, HeatmapChart, LineChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";
import { type ComponentChildren, h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { downloadPng, downloadSvg } from "./export.js";

echarts.use([
  CustomChart,
  HeatmapChart,
  LineChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
  VisualMapComponent,
  SVGRenderer,
]);

export interface FigureProps {
  id: string;
  title: string;
  caption: ComponentChildren;
  option: EChartsOption;
  height: number;
  /** Base name of downloaded files. */
  fileName: string;
  controls?: ComponentChildren;
}

export function Figure(props: FigureProps) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!el.current) return;
    const instance = echarts.init(el.current, undefined, { renderer: "svg" });
    chart.current = instance;
    const onResize = () => instance.resize();
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(props.option, { notMerge: true });
  }, [props.option]);

  useEffect(() => {
    chart.current?.resize();
  }, [props.height]);

  const svg = (): string | undefined => chart.current?.renderToSVGString();

  const onSvg = () => {
    const text = svg();
    if (text) downloadSvg(text, props.fileName);
  };
  const onPng = () => {
    const c = chart.current;
    const text = svg();
    if (!c || !text) return;
    setError(null);
    downloadPng(text, c.getWidth(), c.getHeight(), props.fileName).catch((e: unknown) =>
      setError(e instanceof Error ? e.message : String(e)),
    );
  };

  return h(
    "figure",
    { class: "sb-figure", id: props.id, "data-chart": props.id },
    h(
      "div",
      { class: "sb-figure-head" },
      h("h3", null, props.title),
      h(
        "div",
        { class: "sb-figure-tools" },
        props.controls,
        h("button", { type: "button", class: "sb-btn", onClick: onSvg, "data-export": "svg" }, "SVG"),
        h("button", { type: "button", class: "sb-btn", onClick: onPng, "data-export": "png" }, "PNG"),
      ),
    ),
    h("div", { class: "sb-chart", ref: el, style: { height: `${props.height}px` } }),
    error ? h("p", { class: "sb-error" }, error) : null,
    h("figcaption", null, props.caption),
  );
}
