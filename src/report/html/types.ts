// The data behind the HTML report and the `view` UI. The same shapes travel embedded in the report
// file and over the viewer's JSON API, and the browser bundle (src/web) imports these types, so this
// module must stay free of Node imports.
import type { Interval, Table1 } from "../../metrics/index.js";
import type { Label } from "../../types.js";

/** Bumped when the shapes below change incompatibly. */
export const REPORT_SCHEMA_VERSION = 1;

export interface ReportRun {
  id: string;
  name: string;
  kind: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  dataHash: string | null;
  versions: Record<string, string>;
}

/** A steering condition as far as the run's stored config describes it. */
export interface ConditionInfo {
  name: string;
  description?: string;
  /** Exact prompt texts of a prompt intervention (whitespace kept). */
  userSuffix?: string;
  userPrefix?: string;
  systemSuffix?: string;
  /** Where the system message comes from, in words (e.g. "category context", "text: …"). */
  system?: string;
  activation?: {
    vector: string;
    layers?: [number, number];
    strength: number;
    normPreserving?: boolean;
    /** add (when absent), ablate or rotate. */
    mode?: "add" | "ablate" | "rotate";
    /** Ablate: the layer whose direction is removed, when the config chose it. */
    directionLayer?: number;
    /** Why these layers, when the config said `layers: auto` (the run's stored choice). */
    layersReason?: string;
  };
  /** Extra request-body fields, as JSON text. */
  requestBody?: string;
  /**
   * For conditions stored by name only: the text this condition's prompts add after the task, read off
   * the stored prompts (the shortest prompt of the same scenario taken as the task).
   */
  appendedText?: string;
  /** One steered user prompt exactly as sent under this condition (the run's first item of it). */
  examplePrompt?: { scenarioId: string; text: string };
}

export interface ModelInfo {
  name: string;
  model?: string;
  provider?: string;
  thinking?: boolean;
  /** Decoding settings in effect for this model (run defaults merged with overrides). */
  decoding?: Record<string, unknown>;
}

export interface JudgeInfo {
  name: string;
  model?: string;
  provider?: string;
  mode?: string;
  /** Prompt preset name, or "custom". */
  prompt?: string;
  temperature?: number;
  maxTokens?: number;
}

export interface ReportSettings {
  models: ModelInfo[];
  conditions: ConditionInfo[];
  judges: JudgeInfo[];
  decoding: Record<string, unknown> | null;
  selection: string | null;
  epochs: number | null;
  system: string | null;
  steerbenchVersion: string | null;
  /** The stored config, pretty-printed (secrets are never stored). */
  configJson: string;
  /** Why the stored config could not be read, when it could not (the settings are then empty). */
  configError?: string;
}

/** Work done and failures per model × condition (all judges). */
export interface HealthRow {
  model: string;
  condition: string;
  items: number;
  responsesOk: number;
  responseErrors: number;
  /** Items with no response yet. */
  pending: number;
  judges: Record<string, { ok: number; failed: number; error: number; nonsensical: number }>;
}

/** One point of an activation sweep: a model under a condition with a steering strength. */
export interface SweepPoint {
  model: string;
  condition: string;
  strength: number;
  total: number;
  valid: number;
  convergenceRate: number | null;
  convergenceCI: Interval | null;
  refusalRate: number | null;
  refusalCI: Interval | null;
  nonsensicalRate: number | null;
  nonsensicalCI: Interval | null;
  /** The sweep's random-direction control (same per-layer norm) rather than the vector. */
  control?: boolean;
  /** Perplexity of the neutral passage under this condition (the sweep's side-effect cost), when measured. */
  perplexity?: number;
}

export interface JudgeTable {
  judge: string;
  table: Table1;
  sweep: SweepPoint[];
}

export interface CategoryInfo {
  slug: string;
  /** Index into `ItemsPayload.texts` of the raw category context. */
  context: number;
}

/** Everything but the items: small, recomputed on every change of a live run. */
export interface ReportSummary {
  schema: number;
  generatedAt: string;
  steerbenchVersion: string;
  run: ReportRun;
  settings: ReportSettings;
  /** Judges in first-use order; the first is the primary one. */
  judges: string[];
  /** Model and condition display order. */
  models: string[];
  conditions: string[];
  categories: string[];
  tables: JudgeTable[];
  health: HealthRow[];
  progress: { items: number; responded: number; judged: number };
}

export interface VerdictView {
  status: "ok" | "failed" | "error";
  label: Label | null;
  reason: string | null;
  error: string | null;
}

export interface ResponseView {
  status: "ok" | "error";
  text: string | null;
  thinking: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  finishReason: string | null;
  latencyMs: number | null;
  error: string | null;
}

/** One item. Long texts that repeat across items are indices into `ItemsPayload.texts`. */
export interface ReportItem {
  id: number;
  seq: number;
  model: string;
  condition: string;
  scenarioId: string;
  category: string;
  epoch: number;
  context: number;
  system: number | null;
  prompt: number;
  response: ResponseView | null;
  verdicts: Record<string, VerdictView>;
}

export interface ItemsPayload {
  texts: string[];
  items: ReportItem[];
}

/** The report file's embedded data, and the viewer's full answer. */
export interface ReportData {
  summary: ReportSummary;
  items: ItemsPayload;
}

/** The viewer's answer to a poll: unchanged, or the new summary and the items changed since `since`. */
export interface ReportDelta {
  cursor: string;
  changed: boolean;
  /** True when `items` holds every item of the run (first load). */
  full: boolean;
  summary?: ReportSummary;
  items?: ItemsPayload;
}

export interface RunListEntry {
  id: string;
  name: string;
  kind: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  items: number;
}
