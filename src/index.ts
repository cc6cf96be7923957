// The library entry point: everything the CLI does is available to other programs.

export { PROVIDER_KINDS, type ProviderKind } from "./config/provider-kinds.js";
export * from "./config/run-config.js";
export {
  readStoredConfig,
  type StoredConfig,
  StoredConfigError,
} from "./config/stored-config.js";
export * from "./data/index.js";
export { parsePublishedRun } from "./importers/hoscilowicz-log.js";
export { importPublishedRuns } from "./importers/import-published.js";
export * from "./judge/index.js";
export * from "./metrics/index.js";
export * from "./protocol/index.js";
export * from "./providers/index.js";
export { exportRunJsonl } from "./report/export-jsonl.js";
export { formatTable } from "./report/format-table.js";
export { connectJudge, connectModel, resolveApiKey } from "./runner/connect.js";
export { judgeRun } from "./runner/judge-run.js";
export { planRun } from "./runner/plan.js";
export { type RunSummary, runEvaluation } from "./runner/run.js";
export {
  type ItemRecord,
  type JudgementRecord,
  MIGRATIONS,
  type NewItem,
  type ResponseRecord,
  type RunKind,
  type RunRecord,
  type RunStatus,
  SCHEMA_VERSION,
  Store,
  type StoredOutcome,
  StoreError,
} from "./store/index.js";
export * from "./types.js";
export { STEERBENCH_VERSION } from "./version.js";
