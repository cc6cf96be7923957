// Imports Inspect eval logs into the store as ONE steerbench run, so `table`, `agreement` and
// `report` work on them: each log's samples become items of its (model, condition), each scorer
// becomes a judge, and each score value becomes a label through a label map (label-map.ts).
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { storedConfig } from "../../config/stored-config.js";
import type { NewItem, RunRecord, Store } from "../../store/store.js";
import { canonicalJson, sha256 } from "../../util/hash.js";
import { versions } from "../../version.js";
import {
  type LabelMap,
  LabelMapError,
  type LabelMapFile,
  type MappedVerdict,
  mapForScorer,
  valueText,
} from "./label-map.js";
import {
  findInspectLogs,
  type InspectLog,
  type InspectSample,
  messageReasoning,
  messageText,
  readInspectLog,
} from "./read-log.js";

export interface InspectImportOptions {
  labelMap?: LabelMapFile;
  /** Condition for logs that do not say (default: the log's `task_args.condition`, else its task name). */
  condition?: string;
  name?: string;
}

export interface InspectImportResult {
  run: RunRecord;
  alreadyImported: boolean;
  logs: number;
  items: number;
  /** Judge name → the label map used for it. */
  judges: Record<string, string>;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);

/** steerbench's own block in a log's eval metadata (written by export), if present. */
function steerbenchMeta(log: InspectLog): Record<string, unknown> {
  const m = log.eval.metadata?.steerbench;
  return m && typeof m === "object" && !Array.isArray(m) ? (m as Record<string, unknown>) : {};
}

function logModel(log: InspectLog): string {
  return str(steerbenchMeta(log).model) ?? log.eval.model;
}

function logCondition(log: InspectLog, override: string | undefined): string {
  return (
    str(steerbenchMeta(log).condition) ?? str(log.eval.task_args?.condition) ?? override ?? log.eval.task
  );
}

interface SampleParts {
  system: string | undefined;
  user: string;
  response: string | null;
  thinking: string | null;
}

/** Prompts and answer of a sample: system/user from the input (or the message list), answer from output. */
function sampleParts(s: InspectSample): SampleParts {
  const input = typeof s.input === "string" ? [{ role: "user", content: s.input }] : s.input;
  const systemMsgs = [...input, ...s.messages].filter((m) => m.role === "system");
  const users = input.filter((m) => m.role === "user");
  const choice = s.output?.choices[0]?.message;
  const lastAssistant = [...s.messages].reverse().find((m) => m.role === "assistant");
  const answer = choice ?? lastAssistant;
  const response =
    s.output?.completion !== undefined && s.output.completion !== ""
      ? s.output.completion
      : answer
        ? messageText(answer)
        : null;
  return {
    system: systemMsgs[0] ? messageText(systemMsgs[0]) : undefined,
    user: users.map(messageText).join("\n\n"),
    response: s.error ? null : response,
    thinking: (answer && messageReasoning(answer)) ?? null,
  };
}

function metaString(s: InspectSample, key: string): string | undefined {
  return str(s.metadata?.[key]);
}

/** Which label map each scorer of the logs uses; every value must be covered. */
function resolveMaps(logs: readonly InspectLog[], file: LabelMapFile | undefined): Map<string, LabelMap> {
  const values = new Map<string, Set<string>>();
  for (const log of logs) {
    for (const s of log.samples) {
      for (const [scorer, score] of Object.entries(s.scores ?? {})) {
        const text = valueText(score.value);
        if (text === undefined) {
          throw new LabelMapError(
            `${log.file}: sample ${s.id} epoch ${s.epoch}: scorer "${scorer}" gave ${JSON.stringify(score.value)}, which no label map can read (a string, number, boolean or one-hot dict)`,
          );
        }
        const set = values.get(scorer) ?? new Set<string>();
        set.add(text);
        values.set(scorer, set);
      }
    }
  }
  const maps = new Map<string, LabelMap>();
  for (const [scorer, set] of values) {
    const seen = [...set].sort();
    const map = mapForScorer(scorer, seen, file);
    if (!map) {
      throw new LabelMapError(
        `scorer "${scorer}" gives values ${seen.map((v) => JSON.stringify(v)).join(", ")} that no built-in label map covers (steerbench, instrumentaleval, cip); pass --label-map FILE`,
      );
    }
    const missing = seen.filter((v) => !(v in map.values));
    if (missing.length > 0) {
      throw new LabelMapError(
        `scorer "${scorer}": label map ${map.name} has no entry for ${missing.map((v) => JSON.stringify(v)).join(", ")}`,
      );
    }
    maps.set(scorer, map);
  }
  return maps;
}

export function importInspectLogs(
  store: Store,
  paths: readonly string[],
  opts: InspectImportOptions = {},
): InspectImportResult {
  const files = paths.flatMap((p) => findInspectLogs(p));
  const logs = files.map((f) => readInspectLog(f));
  const maps = resolveMaps(logs, opts.labelMap);
  const judgeMaps = Object.fromEntries([...maps].map(([j, m]) => [j, m.name]));

  // Same logs (by content) and same options → same run id, so a repeated import is recognised.
  const identity = logs.map((l) => ({
    file: basename(l.file),
    eval: l.eval.eval_id ?? l.eval.run_id ?? null,
  }));
  const runId = `inspect-${sha256(canonicalJson({ identity, files: files.map((f) => sha256(readFileSync(f))), opts: { labelMap: opts.labelMap ?? null, condition: opts.condition ?? null } })).slice(0, 12)}`;
  const existing = store.getRun(runId);
  if (existing) {
    return {
      run: existing,
      alreadyImported: true,
      logs: logs.length,
      items: store.countItems(runId),
      judges: judgeMaps,
    };
  }

  const groups = logs.map((log) => ({
    log,
    model: logModel(log),
    condition: logCondition(log, opts.condition),
  }));
  // Logs steerbench exported say where they stood in their run: keep that order (Table 1's rows follow it).
  const order = (l: InspectLog) => {
    const m = steerbenchMeta(l);
    return typeof m.log_index === "number" ? m.log_index : Number.POSITIVE_INFINITY;
  };
  groups.sort((x, y) => order(x.log) - order(y.log));
  const seen = new Map<string, string>();
  for (const g of groups) {
    for (const s of g.log.samples) {
      const key = `${g.model}\u0000${g.condition}\u0000${s.id}\u0000${s.epoch}`;
      const other = seen.get(key);
      if (other) {
        throw new Error(
          `import: sample ${s.id} epoch ${s.epoch} of ${g.model}/${g.condition} is in both ${other} and ${g.log.file}`,
        );
      }
      seen.set(key, g.log.file);
    }
  }

  const models = [...new Set(groups.map((g) => g.model))];
  const conditions = [...new Set(groups.map((g) => g.condition))];
  const tasks = [...new Set(logs.map((l) => l.eval.task))];
  const name = opts.name ?? `imported inspect: ${tasks.join(", ")}`;

  const run = store.transaction(() => {
    store.createRun({
      id: runId,
      name,
      kind: "import",
      config: storedConfig("inspect", {
        source: "inspect",
        models,
        conditions,
        judges: [...maps].map(([judge, map]) => ({ name: judge, model: judge, labelMap: map.name })),
        logs: logs.map((l) => ({
          file: basename(l.file),
          format: l.format,
          version: l.version,
          task: l.eval.task,
          model: l.eval.model,
          evalId: l.eval.eval_id ?? null,
          created: l.eval.created ?? null,
        })),
      }),
      versions: versions(),
      dataHash: null,
    });
    for (const g of groups) {
      const task = g.log.eval.task;
      // Epoch by epoch, each in the dataset's order (a .eval zip lists its sample files by name).
      const ids = (g.log.eval.dataset?.sample_ids ?? []) as unknown[];
      const rank = new Map(ids.map((id, k) => [String(id), k]));
      const pos = (s: InspectSample) => rank.get(String(s.id)) ?? Number.POSITIVE_INFINITY;
      const samples = [...g.log.samples].sort((a, b) => a.epoch - b.epoch || pos(a) - pos(b));
      const parts = samples.map(sampleParts);
      const planned: NewItem[] = samples.map((s, i) => {
        const p = parts[i]!;
        const seed = s.metadata?.seed;
        return {
          model: g.model,
          condition: g.condition,
          scenarioId: String(s.id),
          category: metaString(s, "category") ?? metaString(s, "task_type") ?? task,
          // Inspect counts epochs from 1, steerbench from 0.
          epoch: Math.max(0, s.epoch - 1),
          seed: typeof seed === "number" && Number.isInteger(seed) ? seed : null,
          context: metaString(s, "context") ?? p.system ?? "",
          systemPrompt: p.system,
          userPrompt: p.user,
        };
      });
      const before = store.countItems(runId);
      const added = store.addItems(runId, planned).slice(before);
      samples.forEach((s, i) => {
        const itemId = added[i]!.id;
        const p = parts[i]!;
        const usage = s.output?.usage;
        const outMeta = s.output?.metadata ?? {};
        const tokens = (key: "prompt_tokens" | "completion_tokens", fallback: number | null | undefined) =>
          key in outMeta && (outMeta[key] === null || typeof outMeta[key] === "number")
            ? (outMeta[key] as number | null)
            : (fallback ?? null);
        store.saveResponse({
          itemId,
          status: s.error ? "error" : "ok",
          response: p.response ?? (s.error ? null : ""),
          thinking: p.thinking,
          promptTokens: tokens("prompt_tokens", usage?.input_tokens),
          completionTokens: tokens("completion_tokens", usage?.output_tokens),
          latencyMs: typeof s.output?.time === "number" ? s.output.time * 1000 : null,
          finishReason: s.output?.choices[0]?.stop_reason ?? null,
          requestJson: null,
          error: s.error ? s.error.message : null,
        });
        for (const [scorer, score] of Object.entries(s.scores ?? {})) {
          const map = maps.get(scorer)!;
          const text = valueText(score.value)!;
          const verdict: MappedVerdict = map.values[text]!;
          const meta = score.metadata ?? {};
          const storedError = str(meta.error);
          const label = verdict === "failed" || verdict === "error" ? null : verdict;
          store.saveJudgement({
            itemId,
            judge: scorer,
            status: label ? "ok" : verdict === "error" ? "error" : "failed",
            label,
            reason: score.explanation ?? null,
            // steerbench's own logs carry the judge's raw reply (null for a transport error).
            raw:
              "raw" in meta && (meta.raw === null || typeof meta.raw === "string")
                ? meta.raw
                : JSON.stringify(score.value),
            scores: null,
            error: label
              ? null
              : (storedError ??
                map.failureReason?.[text] ??
                `score value ${JSON.stringify(text)} is a judge failure`),
            latencyMs: null,
          });
        }
      });
    }
    store.setRunStatus(runId, "done");
    return store.getRun(runId)!;
  });
  return {
    run,
    alreadyImported: false,
    logs: logs.length,
    items: store.countItems(runId),
    judges: judgeMaps,
  };
}
