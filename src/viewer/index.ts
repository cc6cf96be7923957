export {
  runDelta,
  runList,
  startViewer,
  VIEWER_CSP,
  type ViewerOptions,
  type ViewerServer,
} from "./server.js";
