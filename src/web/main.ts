// Entry of the browser bundle. In a report file the run's data is embedded as JSON in
// <script type="application/json" id="steerbench-data">; without it, this is the live viewer.
import { h, render } from "preact";
import type { ReportData } from "../report/html/types.js";
import { ReportView } from "./app.js";
import { datasetOf } from "./model.js";
import { ViewerApp } from "./viewer.js";

function start(): void {
  const root = document.getElementById("app");
  if (!root) return;
  const embedded = document.getElementById("steerbench-data");
  if (embedded) {
    const data = JSON.parse(embedded.textContent ?? "null") as ReportData;
    render(h(ReportView, { data: datasetOf(data) }), root);
  } else {
    render(h(ViewerApp, null), root);
  }
  document.documentElement.dataset.ready = "true";
}

start();
