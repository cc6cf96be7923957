// The UI's view of a run: the summary plus items with their interned texts resolved. A live viewer
// merges deltas into it; the static report builds it once.
import type {
  ItemsPayload,
  ReportData,
  ReportItem,
  ReportSummary,
  ResponseView,
  VerdictView,
} from "../report/html/types.js";

export interface UiItem {
  id: number;
  seq: number;
  model: string;
  condition: string;
  scenarioId: string;
  category: string;
  epoch: number;
  context: string;
  system: string | null;
  prompt: string;
  response: ResponseView | null;
  verdicts: Record<string, VerdictView>;
}

export interface Dataset {
  summary: ReportSummary;
  /** Items in run order. */
  items: UiItem[];
  /** Bumped on every change, for memoised views. */
  version: number;
}

function resolveItem(item: ReportItem, texts: readonly string[]): UiItem {
  const text = (i: number | null): string | null => (i === null ? null : (texts[i] ?? ""));
  return {
    id: item.id,
    seq: item.seq,
    model: item.model,
    condition: item.condition,
    scenarioId: item.scenarioId,
    category: item.category,
    epoch: item.epoch,
    context: text(item.context) ?? "",
    system: text(item.system),
    prompt: text(item.prompt) ?? "",
    response: item.response,
    verdicts: item.verdicts,
  };
}

export function resolveItems(payload: ItemsPayload): UiItem[] {
  return payload.items.map((i) => resolveItem(i, payload.texts));
}

export function datasetOf(data: ReportData): Dataset {
  return { summary: data.summary, items: resolveItems(data.items), version: 1 };
}

/** A new dataset with changed items replaced (by id) and new ones added, in run order. */
export function mergeDataset(old: Dataset, summary: ReportSummary, changed: ItemsPayload): Dataset {
  const byId = new Map(old.items.map((i) => [i.id, i]));
  for (const item of resolveItems(changed)) byId.set(item.id, item);
  const items = [...byId.values()].sort((a, b) => a.seq - b.seq);
  return { summary, items, version: old.version + 1 };
}
