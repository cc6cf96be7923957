// The live viewer (`steerbench view`): lists the store's runs, shows the chosen one with the same
// report view, and polls the server for changes so a run in progress updates without a reload.
import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ReportDelta, RunListEntry } from "../report/html/types.js";
import { ReportView } from "./app.js";
import { type Dataset, datasetOf, mergeDataset } from "./model.js";

export const POLL_MS = 1000;
const RUNS_POLL_MS = 5000;

async function getJson<T>(url: string, signal: AbortSignal): Promise<T> {
  const res = await fetch(url, { signal, headers: { accept: "application/json" } });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: string };
      if (body.error) message = body.error;
    } catch {
      // not JSON: keep the status line
    }
    throw new Error(message);
  }
  return (await res.json()) as T;
}

function runFromUrl(): string | null {
  return new URLSearchParams(window.location.search).get("run");
}

function timeOf(d: Date): string {
  return d.toLocaleTimeString("en-GB", { hour12: false });
}

export function ViewerApp() {
  const [runs, setRuns] = useState<RunListEntry[] | null>(null);
  const [runId, setRunId] = useState<string | null>(runFromUrl());
  const [data, setData] = useState<Dataset | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [updated, setUpdated] = useState<Date | null>(null);
  const dataRef = useRef<Dataset | null>(null);

  // The run list, refreshed now and then so new runs appear.
  useEffect(() => {
    const ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const body = await getJson<{ runs: RunListEntry[] }>("/api/runs", ctrl.signal);
        setRuns(body.runs);
        setRunId((cur) => cur ?? body.runs[0]?.id ?? null);
      } catch (e) {
        if (!ctrl.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      }
      if (!ctrl.signal.aborted) timer = setTimeout(load, RUNS_POLL_MS);
    };
    void load();
    return () => {
      ctrl.abort();
      clearTimeout(timer);
    };
  }, []);

  // The chosen run: a full load, then deltas since the last cursor.
  useEffect(() => {
    if (runId === null) return;
    const url = new URL(window.location.href);
    url.searchParams.set("run", runId);
    window.history.replaceState(null, "", url);
    const ctrl = new AbortController();
    let cursor = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    dataRef.current = null;
    setData(null);
    setError(null);
    const poll = async () => {
      const started = performance.now();
      let wait = POLL_MS;
      try {
        const delta = await getJson<ReportDelta>(
          `/api/runs/${encodeURIComponent(runId)}/delta?since=${encodeURIComponent(cursor)}`,
          ctrl.signal,
        );
        if (ctrl.signal.aborted) return;
        if (delta.changed && delta.summary && delta.items) {
          const next =
            delta.full || dataRef.current === null
              ? datasetOf({ summary: delta.summary, items: delta.items })
              : mergeDataset(dataRef.current, delta.summary, delta.items);
          dataRef.current = next;
          setData(next);
          setUpdated(new Date());
          // A big run's summary takes a while to compute: never ask more than half the time.
          wait = Math.max(POLL_MS, 2 * (performance.now() - started));
        }
        cursor = delta.cursor;
        setError(null);
      } catch (e) {
        if (ctrl.signal.aborted) return;
        setError(e instanceof Error ? e.message : String(e));
      }
      timer = setTimeout(poll, wait);
    };
    void poll();
    return () => {
      ctrl.abort();
      clearTimeout(timer);
    };
  }, [runId]);

  const picker = h(
    "div",
    { class: "sb-viewer-bar" },
    h(
      "label",
      { class: "sb-field sb-inline" },
      h("span", null, "Run"),
      h(
        "select",
        {
          value: runId ?? "",
          class: "sb-run-picker",
          "data-run-picker": "",
          onChange: (e: Event) => setRunId((e.currentTarget as HTMLSelectElement).value),
        },
        (runs ?? []).map((r) =>
          h("option", { value: r.id, key: r.id }, `${r.name} · ${r.id} · ${r.status} · ${r.items} items`),
        ),
      ),
    ),
    h(
      "span",
      { class: `sb-live${data?.summary.run.status === "running" ? " sb-live-on" : ""}`, "data-live": "" },
      updated ? `live · updated ${timeOf(updated)}` : "connecting…",
    ),
    error ? h("span", { class: "sb-error", "data-error": "" }, error) : null,
  );

  if (runs !== null && runs.length === 0) {
    return h("div", { class: "sb-page" }, h("p", { class: "sb-empty" }, "This store holds no runs yet."));
  }
  if (data === null) {
    return h("div", { class: "sb-page" }, picker, h("p", { class: "sb-empty" }, error ? "" : "Loading…"));
  }
  return h(ReportView, {
    key: data.summary.run.id,
    data,
    headerExtra: picker,
    kicker: "steerbench viewer (live)",
  });
}
