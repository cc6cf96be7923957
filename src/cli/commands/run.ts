import { dirname, resolve } from "node:path";
import { type Command, Option } from "commander";
import { kindList } from "../../config/provider-kinds.js";
import {
  ConfigError,
  parseRunConfig,
  type RunConfig,
  readConfigObject,
  resolveConfigPaths,
} from "../../config/run-config.js";
import { resolveDataDir } from "../../data/data-dir.js";
import { parseSelection } from "../../data/selection.js";
import { buildTable1 } from "../../metrics/index.js";
import { PRESET_NAMES } from "../../protocol/conditions.js";
import { formatTable } from "../../report/format-table.js";
import { createProgress } from "../../runner/progress.js";
import { type RunSummary, runEvaluation } from "../../runner/run.js";
import { Store } from "../../store/store.js";
import {
  GPU_HELP,
  GPU_LAYERS_HELP,
  type GpuFlags,
  gpuFields,
  parseGpuFlag,
  parseGpuLayers,
} from "../gpu-options.js";
import {
  dataOption,
  judgeModelOptions,
  legacyJudgeModel,
  llamaOptions,
  parseIntOption,
  parseListOption,
  parseNumberOption,
  selectionOptions,
  storeOption,
  UsageError,
} from "../options.js";
import { withInterrupt } from "../signals.js";

export interface RunFlags {
  store: string;
  data?: string;
  selection?: string;
  conditions?: string[];
  model?: string;
  provider?: string;
  baseUrl?: string;
  apiKeyEnv?: string;
  thinking?: boolean;
  judge?: string;
  judgeModel?: string;
  judgeProvider?: string;
  judgeBaseUrl?: string;
  judgeApiKeyEnv?: string;
  judgePrompt?: string;
  judgeMode?: string;
  limit?: number;
  categories?: string[];
  threads?: number;
  contextSize?: number;
  chatTemplate?: string;
  concurrency?: number;
  epochs?: number;
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  retryErrors?: boolean;
  quiet?: boolean;
  name?: string;
  shard?: string;
  gpu?: GpuFlags["gpu"];
  gpuLayers?: number;
}

/** A config from an optional file with the command-line flags laid over it (flags win). */
export function configFromFlags(file: string | undefined, flags: RunFlags): RunConfig {
  // Paths inside a config file are relative to the file; flags' paths to the working directory.
  const raw: Record<string, unknown> = file
    ? resolveConfigPaths(readConfigObject(file), dirname(resolve(file)))
    : {};
  if (flags.name) raw.name = flags.name;
  if (flags.selection) {
    try {
      raw.selection = parseSelection(flags.selection);
    } catch (err) {
      throw new UsageError(`--selection: ${(err as Error).message}`);
    }
  }
  if (flags.categories) raw.categories = flags.categories;
  if (flags.conditions) raw.conditions = flags.conditions;
  if (flags.limit !== undefined) raw.limit = flags.limit;
  if (flags.concurrency !== undefined) raw.concurrency = flags.concurrency;
  if (flags.epochs !== undefined) raw.epochs = flags.epochs;
  if (flags.shard) {
    const m = /^(\d+)\/(\d+)$/.exec(flags.shard);
    if (!m) throw new ConfigError(`--shard must be INDEX/COUNT (e.g. 0/4), got "${flags.shard}"`);
    raw.shard = { index: Number(m[1]), count: Number(m[2]) };
  }
  const decoding = { ...((raw.decoding as Record<string, unknown> | undefined) ?? {}) };
  if (flags.temperature !== undefined) decoding.temperature = flags.temperature;
  if (flags.maxTokens !== undefined) decoding.maxTokens = flags.maxTokens;
  if (flags.seed !== undefined) decoding.seed = flags.seed;
  if (Object.keys(decoding).length > 0) raw.decoding = decoding;
  if (flags.model) {
    raw.models = [
      {
        model: flags.model,
        provider: flags.provider ?? (flags.model.endsWith(".gguf") ? "llama" : "openai"),
        ...(flags.baseUrl ? { baseUrl: flags.baseUrl } : {}),
        ...(flags.apiKeyEnv ? { apiKeyEnv: flags.apiKeyEnv } : {}),
        ...(flags.thinking ? { thinking: true } : {}),
        ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
        ...(flags.contextSize !== undefined ? { contextSize: flags.contextSize } : {}),
        ...(flags.chatTemplate !== undefined ? { chatTemplate: flags.chatTemplate } : {}),
      },
    ];
  } else if (flags.baseUrl || flags.provider) {
    throw new ConfigError("--base-url and --provider need --model");
  } else if (
    flags.threads !== undefined ||
    flags.contextSize !== undefined ||
    flags.chatTemplate !== undefined
  ) {
    throw new ConfigError(
      "--threads, --context-size and --chat-template need --model (set them per model in a config file)",
    );
  }
  const judgeModel = legacyJudgeModel(flags, "run");
  if (judgeModel) {
    raw.judges = [
      {
        model: judgeModel,
        provider: flags.judgeProvider ?? (judgeModel.endsWith(".gguf") ? "llama" : "openai"),
        ...(flags.judgeBaseUrl ? { baseUrl: flags.judgeBaseUrl } : {}),
        ...(flags.judgeApiKeyEnv ? { apiKeyEnv: flags.judgeApiKeyEnv } : {}),
        ...(flags.judgePrompt ? { prompt: flags.judgePrompt } : {}),
        ...(flags.judgeMode ? { mode: flags.judgeMode } : {}),
      },
    ];
  } else if (flags.judgeBaseUrl || flags.judgeProvider) {
    throw new ConfigError("--judge-base-url and --judge-provider need --judge-model");
  }
  if (raw.models === undefined) throw new ConfigError("no model: give a config file or --model");
  if (raw.judges === undefined) throw new ConfigError("no judge: give a config file or --judge-model");
  applyGpuFlags(raw, flags);
  return parseRunConfig(raw, file ?? "(command line)");
}

/** --gpu / --gpu-layers apply to every llama model and judge; with none, they are refused. */
function applyGpuFlags(raw: Record<string, unknown>, flags: RunFlags): void {
  const fields = gpuFields(flags);
  if (Object.keys(fields).length === 0) return;
  let local = 0;
  for (const list of [raw.models, raw.judges]) {
    if (!Array.isArray(list)) continue;
    for (const m of list as Record<string, unknown>[]) {
      if (m?.provider === "llama") {
        Object.assign(m, fields);
        local++;
      }
    }
  }
  if (local === 0) throw new ConfigError("--gpu and --gpu-layers need a llama model or judge (a .gguf file)");
}

/** Exit codes of commands that run work (documented in the README). */
export const EXIT = { ok: 0, error: 1, completedWithFailures: 3, interrupted: 130 } as const;

export function printSummary(s: RunSummary, out: NodeJS.WritableStream = process.stdout): void {
  out.write(
    `run ${s.run.id}: ${s.items} items; this session generated ${s.generated}, judged ${s.judged}` +
      ` (${s.judgeFailures} judge failures), ${s.generationErrors} generation errors, ${s.judgeErrors} judge errors` +
      `${s.interrupted ? "; INTERRUPTED — run the same command again to resume" : ""}\n`,
  );
  if (s.stoppedBecause !== undefined && !s.interrupted) out.write(`run stopped: ${s.stoppedBecause}\n`);
  const f = s.flags;
  const flagged = [
    f.maxTokensCapped > 0 ? `${f.maxTokensCapped} with max_tokens capped to fit the context` : "",
    f.promptTruncated > 0 ? `${f.promptTruncated} with the prompt cut to fit the context` : "",
    f.responseTruncated > 0 ? `${f.responseTruncated} answers cut to the stored size limit` : "",
    f.empty > 0 ? `${f.empty} empty answers` : "",
  ].filter((t) => t !== "");
  if (flagged.length > 0) out.write(`flagged items: ${flagged.join("; ")} (see export)\n`);
  const o = s.outstanding;
  if (o.generationErrors + o.judgeErrors + o.judgeFailures > 0 && !s.interrupted) {
    out.write(
      `the run has ${o.generationErrors} items in error, ${o.judgeFailures} judge failures and ${o.judgeErrors} judge errors:` +
        " rerun with --retry-errors to retry only those\n",
    );
  }
}

/**
 * 130 interrupted; 1 when the run stopped or nothing at all succeeded (every generation or every
 * verdict failed); 3 when it completed but some items ended in error or judge failure; else 0.
 */
export function exitCodeFor(s: RunSummary, store: Store): number {
  if (s.interrupted) return EXIT.interrupted;
  if (s.stoppedBecause !== undefined) return EXIT.error;
  const p = store.progress(s.run.id);
  if (p.items > 0 && p.responsesOk === 0) return EXIT.error;
  const verdicts = Object.values(p.judged);
  const okVerdicts = verdicts.reduce((n, v) => n + v.ok, 0);
  if (p.responsesOk > 0 && okVerdicts === 0) return EXIT.error;
  const o = s.outstanding;
  return o.generationErrors + o.judgeErrors + o.judgeFailures > 0 ? EXIT.completedWithFailures : EXIT.ok;
}

/** Table 1 of a run by its primary judge, as `run` and `quickstart` print it when they finish. */
export function printRunTable(
  store: Store,
  runId: string,
  out: NodeJS.WritableStream = process.stdout,
): void {
  const judge = store.judges(runId)[0];
  if (judge === undefined) return;
  out.write(`\n${store.getRun(runId)?.name ?? runId} (judge ${judge})\n`);
  out.write(`${formatTable(buildTable1(store.outcomes(runId, judge)), "terminal")}\n`);
}

export function registerRun(program: Command): void {
  const cmd = program
    .command("run")
    .description(
      "evaluate models on the benchmark under steering conditions, judged, into the store (resumable)",
    )
    .argument("[config]", "run config file (YAML or JSON); flags override its fields")
    .option("--name <name>", "run name")
    .option(
      "--conditions <list>",
      `comma list of conditions (presets: ${PRESET_NAMES.join(", ")})`,
      parseListOption,
    )
    .option("--model <name>", "subject model: a server's model name, or a .gguf file for the embedded engine")
    .option("--provider <kind>", kindList("model"))
    .option("--base-url <url>", "OpenAI-compatible base URL, e.g. http://localhost:8000/v1")
    .option("--api-key-env <var>", "env var with the subject's API key (default OPENAI_API_KEY if set)")
    .option("--thinking", "thinking model: judge only the text after the last </think>")
    .addOption(new Option("--judge <name>", "old name of --judge-model").hideHelp());
  judgeModelOptions(cmd);
  selectionOptions(cmd);
  llamaOptions(cmd);
  cmd
    .option("--concurrency <n>", "items in flight (and per endpoint)", parseIntOption("--concurrency"))
    .option("--epochs <n>", "repeat each item N times with seeds seed..seed+N-1", parseIntOption("--epochs"))
    .option("--temperature <t>", "sampling temperature (0 = greedy)", parseNumberOption("--temperature"))
    .option("--max-tokens <n>", "max new tokens", parseIntOption("--max-tokens"))
    .option("--seed <n>", "base seed", parseIntOption("--seed"))
    .option("--shard <i/n>", "run only shard i of n (merge the stores afterwards with `steerbench merge`)")
    .option("--retry-errors", "also retry items whose generation or judgement failed before")
    .option("--gpu <backend>", `llama models: ${GPU_HELP}`, parseGpuFlag)
    .option("--gpu-layers <n>", `llama models: ${GPU_LAYERS_HELP}`, parseGpuLayers)
    .option("--quiet", "no progress output");
  storeOption(dataOption(cmd)).action(async (file: string | undefined, flags: RunFlags) => {
    const config = configFromFlags(file, flags);
    const packDir = resolveDataDir({ flag: flags.data ?? config.data });
    const store = Store.open(flags.store);
    try {
      const progress = createProgress({ label: "run", quiet: flags.quiet ?? false });
      // Log lines go through the progress reporter, so they never land inside the bar.
      const say = (line: string) => (progress.log ? progress.log(line) : process.stderr.write(`${line}\n`));
      const summary = await withInterrupt(
        (signal) =>
          runEvaluation({
            config,
            store,
            packDir,
            retryErrors: flags.retryErrors ?? false,
            signal,
            progress,
            log: flags.quiet ? undefined : say,
            warn: (line) => process.stderr.write(`${line}\n`),
          }),
        say,
      );
      printSummary(summary);
      printRunTable(store, summary.run.id);
      process.exitCode = exitCodeFor(summary, store);
    } finally {
      store.close();
    }
  });
}
