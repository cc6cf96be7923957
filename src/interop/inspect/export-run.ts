// Writes a run's Inspect logs to a folder: `.eval` (the zip inspect writes by default: header.json,
// samples/<id>_epoch_<n>.json, summaries.json, reductions.json, _journal/) or one `.json` per log.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { strToU8, type Zippable, zipSync } from "fflate";
import type { Store } from "../../store/store.js";
import { buildInspectLogs, type InspectLogParts } from "./write-log.js";

export type InspectFormat = "eval" | "json";
export const INSPECT_FORMATS: readonly InspectFormat[] = ["eval", "json"];

const json = (v: unknown): Uint8Array => strToU8(JSON.stringify(v, null, 2));

/** The `.eval` zip of one log, laid out as inspect lays it out. */
export function evalZip(log: InspectLogParts): Uint8Array {
  const { eval: spec, plan } = log.header;
  const files: Zippable = {
    "_journal/start.json": json({ version: log.header.version, eval: spec, plan }),
  };
  for (const s of log.samples) {
    // Sample ids become file names: keep them to characters every file system accepts.
    const id = String(s.id).replace(/[^\w.+-]/g, "_");
    files[`samples/${id}_epoch_${String(s.epoch)}.json`] = json(s);
  }
  files["_journal/summaries/1.json"] = json(log.summaries);
  files["summaries.json"] = json(log.summaries);
  files["reductions.json"] = json(log.reductions);
  const { samples: _s, reductions: _r, ...header } = { ...log.header, samples: null, reductions: null };
  files["header.json"] = json(header);
  // A fixed time stamp (the run's creation) keeps the bytes the same on every export.
  const created = Date.parse(String((spec as { created?: unknown }).created ?? ""));
  return zipSync(files, { level: 6, mtime: Number.isNaN(created) ? 0 : created });
}

/** The single-file JSON form: the header with samples and reductions inside. */
export function jsonLog(log: InspectLogParts): Uint8Array {
  return json({ ...log.header, samples: log.samples, reductions: log.reductions });
}

/** The name of the folder manifest Inspect's static viewer reads (what `inspect view bundle` writes). */
export const LISTING_FILE = "listing.json";

/** One listing entry: the log preview the viewer shows before it opens a log. */
function preview(log: InspectLogParts): Record<string, unknown> {
  const h = log.header as Record<string, Record<string, unknown>>;
  const spec = h.eval!;
  const stats = h.stats!;
  const scores = (h.results?.scores ?? []) as { metrics: Record<string, unknown> }[];
  return {
    eval_id: spec.eval_id,
    run_id: spec.run_id,
    task: spec.task,
    task_id: spec.task_id,
    task_version: spec.task_version,
    version: log.header.version,
    status: log.header.status,
    error: null,
    model: spec.model,
    started_at: stats.started_at,
    completed_at: stats.completed_at,
    primary_metric: scores[0]?.metrics.convergence_rate ?? null,
  };
}

/**
 * Writes every (model, condition) log of a run into `dir`, plus the folder's `listing.json`, so the
 * folder can be served as is to Inspect's viewer.
 */
export interface InspectExport {
  files: string[];
  /** Samples written (one per item with a stored response). */
  samples: number;
  /** Items left out because they have no response yet (a run in progress). */
  skipped: number;
}

export function exportRunInspect(
  store: Store,
  runId: string,
  dir: string,
  format: InspectFormat,
): InspectExport {
  const logs = buildInspectLogs(store, runId);
  if (logs.length === 0) throw new Error(`run ${runId} has no generated items to export`);
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const listing: Record<string, unknown> = {};
  const files = logs.map((built) => {
    const name = `${built.stem}.${format}`;
    const log = { ...built, header: { ...built.header, location: name } };
    writeFileSync(join(out, name), format === "eval" ? evalZip(log) : jsonLog(log));
    listing[name] = preview(log);
    return join(out, name);
  });
  writeFileSync(join(out, LISTING_FILE), JSON.stringify(listing, null, 2));
  const samples = logs.reduce((n, l) => n + l.samples.length, 0);
  return { files, samples, skipped: store.countItems(runId) - samples };
}
