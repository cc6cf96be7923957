// Builds Inspect eval logs from a steerbench run: one log per (model, condition), since Inspect treats
// one task × one model as one log and the condition is what varies. Every field the Inspect log
// schema requires is written (inspect itself serialises every field with its default), so the logs
// validate against log-schema.json. Ids are derived from the run, so exporting twice gives the same
// bytes.
import { modelLabel } from "../../config/run-config.js";
import { conditionsOf, modelsOf, readStoredConfig } from "../../config/stored-config.js";
import { buildTable1, type Outcome } from "../../metrics/index.js";
import type { ItemDetail, RunRecord, Store } from "../../store/store.js";
import { isLabel, LABELS, type Label } from "../../types.js";
import { sha256 } from "../../util/hash.js";
import { STEERBENCH_VERSION } from "../../version.js";
import { STEERBENCH_ERROR, STEERBENCH_FAILED } from "./label-map.js";

export const INSPECT_TASK = "steerbench/instrumentaleval";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One exported log: the header (EvalLog without samples) and its samples, reductions and summaries. */
export interface InspectLogParts {
  model: string;
  condition: string;
  /** File stem, e.g. `Qwen3-4B-Base_pro_ic`. */
  stem: string;
  header: JsonObject;
  samples: JsonObject[];
  reductions: JsonObject[];
  summaries: JsonObject[];
}

/** A stable 22-character id (inspect uses shortuuids of that length) from the given parts. */
function stableId(...parts: string[]): string {
  const hex = sha256(parts.join("\u0000"));
  const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  let n = BigInt(`0x${hex.slice(0, 32)}`);
  let out = "";
  for (let i = 0; i < 22; i++) {
    out += alphabet[Number(n % 57n)];
    n /= 57n;
  }
  return out;
}

const GENERATE_CONFIG_FIELDS = [
  "max_retries",
  "timeout",
  "attempt_timeout",
  "max_connections",
  "system_message",
  "max_tokens",
  "top_p",
  "temperature",
  "stop_seqs",
  "best_of",
  "frequency_penalty",
  "presence_penalty",
  "logit_bias",
  "seed",
  "top_k",
  "num_choices",
  "logprobs",
  "top_logprobs",
  "parallel_tool_calls",
  "internal_tools",
  "max_tool_output",
  "cache_prompt",
  "verbosity",
  "effort",
  "reasoning_effort",
  "reasoning_tokens",
  "reasoning_summary",
  "reasoning_history",
  "response_schema",
  "extra_headers",
  "extra_body",
  "modalities",
  "cache",
  "batch",
] as const;

const EVAL_CONFIG_FIELDS = [
  "limit",
  "sample_id",
  "sample_shuffle",
  "epochs",
  "epochs_reducer",
  "approval",
  "fail_on_error",
  "continue_on_fail",
  "retry_on_error",
  "message_limit",
  "token_limit",
  "time_limit",
  "working_limit",
  "cost_limit",
  "max_samples",
  "max_dataset_memory",
  "max_tasks",
  "max_subprocesses",
  "max_sandboxes",
  "sandbox_cleanup",
  "log_samples",
  "log_realtime",
  "log_images",
  "log_model_api",
  "log_buffer",
  "log_shared",
  "score_display",
] as const;

function nulls(fields: readonly string[], set: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const f of fields) out[f] = f in set ? set[f]! : null;
  return out;
}

function usage(input: number, output: number): JsonObject {
  return {
    input_tokens: input,
    output_tokens: output,
    total_tokens: input + output,
    input_tokens_cache_write: null,
    input_tokens_cache_read: null,
    reasoning_tokens: null,
    total_cost: null,
  };
}

/** JSON-safe copy of a stored config value (undefined dropped, as JSON.stringify does). */
function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

interface RunView {
  decoding(model: string): {
    temperature?: number;
    maxTokens?: number;
    seed?: number;
    topP?: number;
    stop?: string[];
  };
  /** Inspect model name (`provider/model`) for a steerbench model label. */
  inspectModel(model: string): string;
  condition(name: string): Json;
  judge(name: string): Json;
}

/** Reads what the export needs from a run's stored config (live and imported runs store different shapes). */
function runView(run: RunRecord): RunView {
  const sc = readStoredConfig(run);
  const models = modelsOf(sc);
  // Labels as items and judgements carry them (a local GGUF by its file name).
  const findModel = (name: string) => models.find((m) => modelLabel(m) === name);
  const live = sc.kind === "live" || sc.kind === "sweep" ? sc.config : undefined;
  const folders = sc.kind === "published" ? sc.config.folders : [];
  const judges: { name?: string | undefined; model?: string | undefined }[] = sc.config.judges ?? [];
  return {
    decoding(model) {
      return { ...live?.decoding, ...findModel(model)?.decoding };
    },
    inspectModel(model) {
      const m = findModel(model);
      if (m) return `${m.provider ?? "openai"}/${m.model}`;
      // Imported paper runs know the Hugging Face name of each model.
      const folder = folders.find((f) => f.HF_MODEL_NAME.endsWith(`/${model}`));
      if (folder) return `hf/${folder.HF_MODEL_NAME}`;
      return `steerbench/${model}`;
    },
    condition(name) {
      const c = conditionsOf(sc).find((x) => x.name === name);
      return c ? toJson(c) : name;
    },
    judge(name) {
      const j = judges.find((x) => (x.name ?? x.model) === name);
      return j ? toJson({ ...j, headers: undefined }) : { name };
    },
  };
}

function systemMessage(id: string, content: string): JsonObject {
  return { id, content, source: "input", metadata: null, role: "system" };
}

function userMessage(id: string, content: string): JsonObject {
  return { id, content, source: "input", metadata: null, role: "user", tool_call_id: null };
}

function assistantMessage(id: string, model: string, text: string, thinking: string | null): JsonObject {
  const content: Json =
    thinking === null
      ? text
      : [
          {
            internal: null,
            type: "reasoning",
            reasoning: thinking,
            summary: null,
            signature: null,
            redacted: false,
          },
          { internal: null, type: "text", text, refusal: null, citations: null },
        ];
  return { id, content, source: "generate", metadata: null, role: "assistant", tool_calls: null, model };
}

/** The score a judge's verdict becomes: the label as value, or a failure/error marker that is no label. */
function scoreOf(j: ItemDetail["judgements"][number], answer: string | null): JsonObject {
  const ok = j.status === "ok" && isLabel(j.label);
  return {
    value: ok ? j.label! : j.status === "error" ? STEERBENCH_ERROR : STEERBENCH_FAILED,
    answer,
    explanation: j.reason,
    metadata: {
      status: ok ? "ok" : j.status,
      raw: j.raw,
      error: j.error,
      latency_ms: j.latencyMs,
    },
    history: [],
  };
}

function sampleOf(item: ItemDetail, view: RunView, runId: string): JsonObject {
  const r = item.response!;
  const ids = (what: string) => stableId(runId, String(item.itemId), what);
  const input: JsonObject[] = [];
  if (item.systemPrompt !== null) input.push(systemMessage(ids("system"), item.systemPrompt));
  input.push(userMessage(ids("user"), item.userPrompt));
  const modelName = view.inspectModel(item.model);
  const ok = r.status === "ok" && r.text !== null;
  const text = r.text ?? "";
  const answer = assistantMessage(ids("assistant"), modelName, text, r.thinking);
  const scores: JsonObject = {};
  for (const j of item.judgements) scores[j.judge] = scoreOf(j, ok ? text : null);
  const u = usage(r.promptTokens ?? 0, r.completionTokens ?? 0);
  const known = r.promptTokens !== null || r.completionTokens !== null;
  const seconds = r.latencyMs === null ? null : r.latencyMs / 1000;
  return {
    id: item.scenarioId,
    epoch: item.epoch + 1,
    input,
    choices: null,
    target: "",
    sandbox: null,
    files: null,
    setup: null,
    messages: ok ? [...input, answer] : input,
    output: {
      model: modelName,
      choices: ok ? [{ message: answer, stop_reason: stopReason(r.finishReason), logprobs: null }] : [],
      completion: ok ? text : "",
      usage: known ? u : null,
      time: seconds,
      // What the store knows exactly (usage above reads 0 for unknown counts).
      metadata: {
        finish_reason: r.finishReason,
        prompt_tokens: r.promptTokens,
        completion_tokens: r.completionTokens,
      },
      error: ok ? null : r.error,
    },
    scores,
    metadata: {
      category: item.category,
      condition: item.condition,
      steering: view.condition(item.condition),
      context: item.context,
      seed: item.seed,
      prompt_sha256: sha256(`${item.systemPrompt ?? ""}\u0000${item.userPrompt}`),
    },
    store: {},
    events: [],
    timelines: null,
    model_usage: known ? { [modelName]: u } : {},
    role_usage: {},
    started_at: null,
    completed_at: r.createdAt === "" ? null : r.createdAt,
    total_time: seconds,
    working_time: seconds,
    uuid: ids("uuid"),
    invalidation: null,
    error: ok ? null : { message: r.error ?? "generation failed", traceback: "", traceback_ansi: "" },
    error_retries: null,
    attachments: {},
    events_data: null,
    limit: null,
  };
}

/** Inspect's stop reasons; anything else a server said is `unknown` (the original stays in metadata). */
function stopReason(finish: string | null): string {
  if (finish === "stop" || finish === "eos") return "stop";
  if (finish === "length" || finish === "max_tokens") return "max_tokens";
  return "unknown";
}

function metric(name: string, value: number, metadata: JsonObject | null = null): JsonObject {
  return { name, value, params: {}, metadata };
}

/**
 * Results for one judge: per-label counts, and conv% / refusal% over valid items as proportions
 * with their Wilson interval (metadata and `_ci_low`/`_ci_high` metrics) and Inspect's `stderr`
 * (sample standard deviation over √n, ddof = 1, as inspect's stderr metric computes it).
 */
function resultsFor(judge: string, items: readonly ItemDetail[]): JsonObject {
  const outcomes: Outcome[] = [];
  for (const it of items) {
    const j = it.judgements.find((x) => x.judge === judge);
    if (!j || j.status === "error") continue;
    const label = j.status === "ok" && isLabel(j.label) ? j.label : undefined;
    outcomes.push({
      model: it.model,
      condition: it.condition,
      scenarioId: it.scenarioId,
      category: it.category,
      epoch: it.epoch,
      label,
      judgeFailed: label === undefined,
    });
  }
  const row = buildTable1(outcomes, { pairs: [] }).rows[0];
  const metrics: JsonObject = {};
  const counts: Record<Label, number> = {
    convergence: row?.convergence ?? 0,
    no_convergence: row?.noConvergence ?? 0,
    safety_refusal: row?.safetyRefusal ?? 0,
    nonsensical: row?.nonsensical ?? 0,
  };
  for (const l of LABELS) metrics[`count_${l}`] = metric(`count_${l}`, counts[l]);
  metrics.count_judge_failed = metric("count_judge_failed", row?.judgeFailed ?? 0);
  const valid = row?.valid ?? 0;
  metrics.valid = metric("valid", valid);
  const rates: [string, number, [number, number] | null][] = [
    ["convergence_rate", counts.convergence, row?.convergenceCI ?? null],
    ["refusal_rate", counts.safety_refusal, row?.refusalCI ?? null],
  ];
  for (const [name, k, ci] of rates) {
    if (valid === 0 || ci === null) continue;
    const p = k / valid;
    const low = ci[0] / 100;
    const high = ci[1] / 100;
    metrics[name] = metric(name, p, {
      numerator: k,
      denominator: valid,
      ci_low: low,
      ci_high: high,
      ci_level: 0.95,
      ci_method: "wilson",
    });
    metrics[`${name}_ci_low`] = metric(`${name}_ci_low`, low);
    metrics[`${name}_ci_high`] = metric(`${name}_ci_high`, high);
    metrics[`${name}_stderr`] = metric(
      `${name}_stderr`,
      valid > 1 ? Math.sqrt((p * (1 - p)) / (valid - 1)) : 0,
    );
  }
  return {
    name: judge,
    scorer: judge,
    reducer: null,
    scored_samples: row?.total ?? 0,
    unscored_samples: row?.judgeFailed ?? 0,
    params: {},
    metrics,
    metadata: { denominator: "valid = labelled − nonsensical; judge failures are in no rate" },
  };
}

/** Builds the logs of a run, one per (model, condition), in run order. Items without a response are left out. */
export function buildInspectLogs(store: Store, runId: string): InspectLogParts[] {
  const run = store.getRun(runId);
  if (!run) throw new Error(`no run ${runId} in ${store.path}`);
  const view = runView(run);
  const all = store.itemDetails(runId).filter((i) => i.response !== null);
  const groups = new Map<string, ItemDetail[]>();
  for (const it of all) {
    const key = `${it.model}\u0000${it.condition}`;
    const list = groups.get(key) ?? [];
    list.push(it);
    groups.set(key, list);
  }
  const judges = store.judges(runId);
  const stems = new Set<string>();
  return [...groups.values()].map((items, logIndex) => {
    const { model, condition } = items[0]!;
    const inspectModel = view.inspectModel(model);
    let stem = `${model}_${condition}`.replace(/[^\w.+-]+/g, "-");
    while (stems.has(stem)) stem += "_";
    stems.add(stem);
    const decoding = view.decoding(model);
    const epochs = Math.max(...items.map((i) => i.epoch)) + 1;
    const sampleIds = [...new Set(items.map((i) => i.scenarioId))];
    const samples = items.map((it) => sampleOf(it, view, runId));
    const usedJudges = judges.filter((j) => items.some((it) => it.judgements.some((x) => x.judge === j)));
    const evalId = stableId(runId, model, condition, "eval");
    const totals = items.reduce(
      (acc, it) => {
        acc.in += it.response?.promptTokens ?? 0;
        acc.out += it.response?.completionTokens ?? 0;
        acc.known ||= it.response?.promptTokens !== null || it.response?.completionTokens !== null;
        return acc;
      },
      { in: 0, out: 0, known: false },
    );
    const created = items
      .map((i) => i.response!.createdAt)
      .filter((t) => t !== "")
      .sort();
    const generateConfig = nulls(GENERATE_CONFIG_FIELDS, {
      temperature: decoding.temperature ?? null,
      max_tokens: decoding.maxTokens ?? null,
      seed: decoding.seed ?? null,
      top_p: decoding.topP ?? null,
      stop_seqs: decoding.stop && decoding.stop.length > 0 ? decoding.stop : null,
    });
    const header: JsonObject = {
      version: 2,
      status: run.status === "done" ? "success" : run.status === "interrupted" ? "cancelled" : "started",
      eval: {
        eval_set_id: null,
        eval_id: evalId,
        run_id: stableId(runId, "run"),
        created: run.createdAt,
        task: INSPECT_TASK,
        // One per log: the viewer folds logs that share a task_id into one (as retries).
        task_id: stableId(runId, "task", model, condition),
        task_version: 0,
        task_file: null,
        task_display_name: `steerbench ${condition}`,
        task_registry_name: INSPECT_TASK,
        task_attribs: {},
        task_args: { condition },
        task_args_passed: { condition },
        solver: null,
        solver_args: null,
        solver_args_passed: null,
        tags: null,
        dataset: {
          name: "instrumentaleval",
          location: run.dataHash ? `sha256:${run.dataHash}` : null,
          samples: sampleIds.length,
          sample_ids: sampleIds,
          shuffled: false,
        },
        sandbox: null,
        model: inspectModel,
        model_generate_config: generateConfig,
        model_base_url: null,
        model_args: {},
        model_roles: null,
        config: nulls(EVAL_CONFIG_FIELDS, { epochs, limit: null }),
        revision: null,
        packages: { steerbench: STEERBENCH_VERSION },
        metadata: {
          steerbench: {
            version: STEERBENCH_VERSION,
            run_id: run.id,
            run_name: run.name,
            run_kind: run.kind,
            // Position among the run's logs, so an import rebuilds the run in its order.
            log_index: logIndex,
            model,
            condition,
            steering: view.condition(condition),
            data_hash: run.dataHash,
            run_config: toJson(run.config),
          },
        },
        scorers: usedJudges.map((j) => ({
          name: j,
          options: { judge: view.judge(j) },
          metrics: [],
          metadata: {},
        })),
        metrics: null,
      },
      plan: {
        name: "plan",
        steps: [
          { solver: "steerbench/steer", params: { condition: view.condition(condition) }, params_passed: {} },
          { solver: "generate", params: {}, params_passed: {} },
        ],
        finish: null,
        config: nulls(GENERATE_CONFIG_FIELDS, {}),
      },
      results: {
        total_samples: items.length,
        completed_samples: items.filter((i) => i.response?.status === "ok").length,
        early_stopping: null,
        scores: usedJudges.map((j) => resultsFor(j, items)),
        metadata: null,
      },
      stats: {
        started_at: created[0] ?? run.createdAt,
        completed_at: created[created.length - 1] ?? run.updatedAt,
        model_usage: totals.known ? { [inspectModel]: usage(totals.in, totals.out) } : {},
        role_usage: {},
      },
      error: null,
      invalidated: false,
      log_updates: null,
      tags: [],
      metadata: {},
      // The file name; export-run sets it to the format actually written.
      location: `${stem}.eval`,
      etag: null,
      eval_set_info: null,
    };
    // Inspect reduces epochs per sample; with one epoch the reduction is the score itself. String
    // labels have no mean, so multi-epoch exports carry no reductions.
    const reductions: JsonObject[] =
      epochs === 1
        ? usedJudges.map((j) => ({
            scorer: j,
            reducer: null,
            samples: samples.map((s) => {
              const sc = (s.scores as JsonObject)[j] as JsonObject | undefined;
              return {
                value: sc?.value ?? STEERBENCH_ERROR,
                answer: sc?.answer ?? null,
                explanation: sc?.explanation ?? null,
                metadata: sc?.metadata ?? null,
                history: [],
                sample_id: s.id as string,
              };
            }),
          }))
        : [];
    const summaries = samples.map(
      (s): JsonObject => ({
        id: s.id!,
        epoch: s.epoch!,
        input: s.input!,
        target: s.target!,
        metadata: s.metadata!,
        scores: s.scores!,
        model_usage: s.model_usage!,
        total_time: s.total_time!,
        working_time: s.working_time!,
        uuid: s.uuid!,
        error: (s.error as JsonObject | null)?.message ?? null,
        limit: null,
        retries: null,
        completed: true,
        message_count: (s.messages as Json[]).length,
      }),
    );
    return { model, condition, stem, header, samples, reductions, summaries };
  });
}
