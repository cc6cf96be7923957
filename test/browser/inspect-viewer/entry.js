// The published Inspect log viewer (@metrevals/inspect-log-viewer) mounted the way its README says,
// over its static-HTTP API: the log folder and its listing.json come from the page's own server.

import { App, clientApi, initializeStore, simpleHttpApi } from "@metrevals/inspect-log-viewer";
import { createElement } from "react";
import { createRoot } from "react-dom/client";

const logDir = new URLSearchParams(window.location.search).get("log_dir") ?? "logs";
const api = clientApi(simpleHttpApi(logDir));
initializeStore(api, {
  downloadFiles: false,
  downloadLogs: false,
  webWorkers: false,
  streamSamples: false,
  streamSampleData: false,
});
createRoot(document.getElementById("app")).render(createElement(App, { api }));
