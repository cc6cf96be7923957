// `steerbench sweep`: activation steering at a list of strengths, as one stored, resumable run, reported as a
// steerability curve with its breakdown point and perplexity cost.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { kindList } from "../../config/provider-kinds.js";
import { resolveDataDir } from "../../data/data-dir.js";
import { loadPack } from "../../data/pack.js";
import { parseSelection } from "../../data/selection.js";
import { type ControlVector, readControlVector } from "../../gguf/vector-file.js";
import type { GpuRequest } from "../../llama/backend.js";
import { autoLayers } from "../../protocol/layer-select.js";
import { createProgress } from "../../runner/progress.js";
import { writeRandomControl } from "../../steering/control-file.js";
import { formatSweep, STEERING_FORMATS, type SteeringFormat } from "../../steering/format.js";
import { builtinPairs } from "../../steering/pairs.js";
import { fileSha256, runSweep } from "../../steering/sweep.js";
import {
  buildSweepConfig,
  parseLayerRange,
  parseStrengths,
  type SweepSpec,
  sweepRecord,
  WITH_PROMPT,
  type WithPrompt,
} from "../../steering/sweep-config.js";
import { Store } from "../../store/store.js";
import { GPU_HELP, GPU_LAYERS_HELP, gpuFields, parseGpuFlag, parseGpuLayers } from "../gpu-options.js";
import {
  dataOption,
  legacyJudgeModel,
  parseIntOption,
  parseListOption,
  parseNumberOption,
  storeOption,
  UsageError,
} from "../options.js";
import { withInterrupt } from "../signals.js";
import { printSummary } from "./run.js";

/**
 * Controls per sweep by default. One random direction can move behaviour by chance as much as the vector
 * (measured on steerling, issue 13), so a sweep reports the mean over a few; each adds as many conditions as
 * the vector has non-zero strengths.
 */
export const DEFAULT_CONTROL_SEEDS = 3;

export interface SweepFlags {
  store: string;
  data?: string;
  model: string;
  vector: string;
  strengths: string;
  layers?: string;
  normPreserving?: boolean;
  mode?: string;
  /** Commander sets these (true unless --no-…); left out, the control and sign check are off, side effects on. */
  control?: boolean;
  controlSeed?: number;
  controlSeeds?: number;
  sideEffects?: boolean;
  signCheck?: boolean;
  withPrompt?: string;
  promptSteering: boolean;
  baseUrl?: string;
  apiKeyEnv?: string;
  threads?: number;
  contextSize?: number;
  gpu?: GpuRequest;
  gpuLayers?: number;
  judge?: string;
  judgeModel?: string;
  judgeProvider?: string;
  judgeBaseUrl?: string;
  judgeApiKeyEnv?: string;
  judgePrompt?: string;
  judgeMode?: string;
  selection?: string;
  limit?: number;
  categories?: string[];
  epochs?: number;
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  concurrency?: number;
  perplexity: boolean;
  name?: string;
  format: string;
  retryErrors?: boolean;
  quiet?: boolean;
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The sweep's spec and run config from the command line. */
export function sweepFromFlags(flags: SweepFlags) {
  if (flags.withPrompt !== undefined && !(WITH_PROMPT as readonly string[]).includes(flags.withPrompt)) {
    throw new UsageError(`--with-prompt must be one of ${WITH_PROMPT.join(", ")}, got "${flags.withPrompt}"`);
  }
  const judgeModel = legacyJudgeModel(flags, "sweep");
  if (!judgeModel)
    throw new UsageError("no judge: give --judge-model (e.g. the same .gguf with --judge-mode score)");
  const remote = flags.baseUrl !== undefined;
  // A local vector file is named by its absolute path (and hashed); a remote server may know it by name.
  const local = existsSync(flags.vector);
  if (!remote && !local) throw new UsageError(`--vector: file not found: ${resolve(flags.vector)}`);
  if (remote && (flags.gpu !== undefined || flags.gpuLayers !== undefined)) {
    throw new UsageError(
      "--gpu and --gpu-layers are for a local model; the server at --base-url picks its own",
    );
  }
  const judgeProvider = flags.judgeProvider ?? (judgeModel.endsWith(".gguf") ? "llama" : "openai");
  const spec: SweepSpec = {
    vector: local ? resolve(flags.vector) : flags.vector,
    strengths: usage(() => parseStrengths(flags.strengths)),
    promptSteering: flags.promptSteering,
  };
  if (flags.mode !== undefined && flags.mode !== "add" && flags.mode !== "rotate") {
    throw new UsageError(
      `--mode must be add or rotate (ablation has no strength to sweep), got "${flags.mode}"`,
    );
  }
  if (flags.mode === "rotate") spec.mode = "rotate";
  if (flags.mode === "rotate" && flags.normPreserving) {
    throw new UsageError("--norm-preserving is implied by --mode rotate (a rotation keeps ‖h‖); drop one");
  }
  let layersReason: string | undefined;
  let categories = flags.categories;
  let vec: ControlVector | undefined;
  let vecError: string | undefined;
  if (local) {
    spec.vectorSha256 = fileSha256(flags.vector);
    try {
      vec = readControlVector(flags.vector);
    } catch (err) {
      // Reported by what needs the file (the control, --layers auto) or, at the latest, by the run itself.
      vecError = (err as Error).message;
    }
    // A vector extracted with --holdout-categories is evaluated on them unless told otherwise.
    if (categories === undefined && vec?.meta?.holdoutCategories) categories = vec.meta.holdoutCategories;
  }
  if (flags.layers === "auto") {
    if (!vec) {
      throw new UsageError(
        vecError ?? "--layers auto needs a local vector file (it reads the extraction metadata)",
      );
    }
    const auto = usage(() => autoLayers(vec, resolve(flags.vector)));
    spec.layers = auto.range;
    layersReason = auto.reason;
  } else if (flags.layers) spec.layers = usage(() => parseLayerRange(flags.layers!));
  if (flags.normPreserving) spec.normPreserving = true;
  if (flags.control) {
    if (!vec) {
      throw new UsageError(
        vecError ?? "the random-direction control needs a local vector file; give --no-control",
      );
    }
    const first = flags.controlSeed ?? 0;
    const n = flags.controlSeeds ?? 1;
    if (n < 1)
      throw new UsageError(`--control-seeds must be at least 1, got ${n} (to run none, give --no-control)`);
    spec.control = writeRandomControl(resolve(flags.vector), vec, first);
    if (n > 1) {
      spec.extraControls = Array.from({ length: n - 1 }, (_, i) =>
        writeRandomControl(resolve(flags.vector), vec, first + 1 + i),
      );
    }
  } else if (flags.controlSeeds !== undefined && flags.controlSeeds !== DEFAULT_CONTROL_SEEDS) {
    throw new UsageError("--control-seeds needs the control; drop --no-control");
  }
  if (flags.withPrompt) spec.withPrompt = flags.withPrompt as WithPrompt;
  if (remote) spec.requestBody = true;
  const config = usage(() =>
    buildSweepConfig({
      spec,
      model: {
        model: flags.model,
        provider: remote ? "openai" : "llama",
        ...(flags.baseUrl ? { baseUrl: flags.baseUrl } : {}),
        ...(flags.apiKeyEnv ? { apiKeyEnv: flags.apiKeyEnv } : {}),
        ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
        ...(flags.contextSize !== undefined ? { contextSize: flags.contextSize } : {}),
        ...(remote ? {} : gpuFields(flags)),
      },
      judges: [
        {
          model: judgeModel,
          provider: judgeProvider,
          ...(flags.judgeBaseUrl ? { baseUrl: flags.judgeBaseUrl } : {}),
          ...(flags.judgeApiKeyEnv ? { apiKeyEnv: flags.judgeApiKeyEnv } : {}),
          ...(flags.judgePrompt ? { prompt: flags.judgePrompt } : {}),
          ...(flags.judgeMode ? { mode: flags.judgeMode } : {}),
          // A local judge on the subject's file shares its engine only with the same threads and context.
          ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
          ...(flags.contextSize !== undefined ? { contextSize: flags.contextSize } : {}),
          ...(judgeProvider === "llama" ? gpuFields(flags) : {}),
        },
      ],
      name: flags.name,
      data: flags.data,
      selection: flags.selection ? parseSelection(flags.selection) : undefined,
      limit: flags.limit,
      categories,
      epochs: flags.epochs,
      concurrency: flags.concurrency,
      decoding: { maxTokens: flags.maxTokens, temperature: flags.temperature, seed: flags.seed },
    }),
  );
  return { spec, config, layersReason, categories };
}

export function registerSweep(program: Command): void {
  const cmd = program
    .command("sweep")
    .description(
      "activation steering at several strengths as one run: steerability curve, breakdown point, perplexity cost",
    )
    .requiredOption("--model <file>", "GGUF model (in-process), or with --base-url a served model's name")
    .requiredOption("--vector <file>", "control-vector GGUF (from `steerbench vectors extract` or llama.cpp)")
    .option(
      "--strengths <list>",
      "comma list of strengths (0, the unsteered reference, is always added)",
      "-8,-4,-2,0,2,4,8",
    )
    .option(
      "--layers <a-b|auto>",
      "steer only these layers (default: every layer in the vector; auto: discriminative layers by held-out AUC)",
    )
    .option("--norm-preserving", "rescale each steered hidden state to its original norm")
    .option("--mode <mode>", "add (default) or rotate (norm-preserving rotation toward the direction)")
    .option("--no-control", "do not also sweep a random direction of the same per-layer norm")
    .option(
      "--control-seed <n>",
      "seed of the first random-direction control",
      parseIntOption("--control-seed"),
      0,
    )
    .option(
      "--control-seeds <n>",
      "random-direction controls to sweep (seeds S, S+1, …): specificity is also reported over all of them",
      parseIntOption("--control-seeds"),
      DEFAULT_CONTROL_SEEDS,
    )
    .option("--no-side-effects", "skip next-token KL and changed answers on neutral prompts")
    .option("--no-sign-check", "skip the sign check on held-out pairs")
    .option(
      "--with-prompt <cond>",
      `apply every strength on top of a prompt condition: ${WITH_PROMPT.join(", ")}`,
    )
    .option("--no-prompt-steering", "do not also run pro_ic and anti_ic (needed by `steerbench compare`)")
    .option("--base-url <url>", "a steerbench `serve` endpoint: steering goes in the request body instead")
    .option("--api-key-env <var>", "env var with the server's API key")
    .option("--threads <n>", "CPU threads (local model)", parseIntOption("--threads"))
    .option("--context-size <n>", "context size (local model)", parseIntOption("--context-size"))
    .option("--gpu <backend>", `local model: ${GPU_HELP}`, parseGpuFlag)
    .option("--gpu-layers <n>", `local model: ${GPU_LAYERS_HELP}`, parseGpuLayers)
    .option("--judge-model <name>", "judge model name (or .gguf for a local judge)")
    .addOption(new Option("--judge <name>", "old name of --judge-model").hideHelp())
    .option("--judge-provider <kind>", kindList("judge"))
    .option("--judge-base-url <url>", "judge's base URL")
    .option("--judge-api-key-env <var>", "env var with the judge's API key (default OPENAI_API_KEY if set)")
    .option("--judge-prompt <preset>", "paper (4 labels) or instrumentaleval (2 labels)")
    .option("--judge-mode <mode>", "generate, or score (llama judges: pick the most likely label)")
    .option("--selection <sel>", "paper (71 items), full (76) or max=N[,seed=S]")
    .option("--limit <n>", "only the first N items of the selection", parseIntOption("--limit"))
    .option(
      "--categories <list>",
      "only these category slugs (default: the vector's held-out categories, if it records any)",
      parseListOption,
    )
    .option("--epochs <n>", "repeat each item N times", parseIntOption("--epochs"))
    .option("--max-tokens <n>", "max new tokens", parseIntOption("--max-tokens"))
    .option("--temperature <t>", "sampling temperature (0 = greedy)", parseNumberOption("--temperature"))
    .option("--seed <n>", "base seed", parseIntOption("--seed"))
    .option(
      "--concurrency <n>",
      "items in flight (default 1 for a local model)",
      parseIntOption("--concurrency"),
    )
    .option("--no-perplexity", "skip the neutral-passage perplexity per condition")
    .option("--name <name>", "run name")
    .option("--format <fmt>", `output format: ${STEERING_FORMATS.join(", ")}`, "terminal")
    .option("--retry-errors", "also retry items whose generation or judgement failed before")
    .option("--quiet", "no progress output");
  storeOption(dataOption(cmd)).action(async (flags: SweepFlags) => {
    if (!(STEERING_FORMATS as readonly string[]).includes(flags.format)) {
      throw new UsageError(`--format must be one of ${STEERING_FORMATS.join(", ")}, got "${flags.format}"`);
    }
    // The default of 3 cannot be told from an explicit 3 in the flags: ask commander where it came from.
    if (flags.control === false && cmd.getOptionValueSource("controlSeeds") === "cli") {
      throw new UsageError("--control-seeds needs the control; drop --no-control");
    }
    const { spec, config, layersReason, categories } = sweepFromFlags(flags);
    const packDir = resolveDataDir({ flag: flags.data });
    const remote = flags.baseUrl !== undefined;
    if (layersReason && !flags.quiet) process.stderr.write(`--layers auto: ${layersReason}\n`);
    if (categories && categories !== flags.categories && !flags.quiet) {
      process.stderr.write(`evaluating on the vector's held-out categories: ${categories.join(", ")}\n`);
    }
    // Sign check on (up to 16) builtin pairs of the evaluated categories: prompts the sweep steers.
    const signPairs =
      flags.signCheck && !remote
        ? builtinPairs(await loadPack(packDir), categories ? { categories } : {}).slice(0, 16)
        : undefined;
    const heldOut = categories !== undefined && flags.categories === undefined;
    const signSource = heldOut
      ? `held-out categories ${categories!.join(", ")}`
      : `${categories ? `categories ${categories.join(", ")}` : "all categories"}; they may overlap the extraction pairs`;
    const record = sweepRecord(spec);
    if (layersReason) record.layersReason = layersReason;
    const store = Store.open(flags.store);
    const log = flags.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
    try {
      const result = await withInterrupt((signal) =>
        runSweep({
          config,
          store,
          packDir,
          sweep: record,
          perplexity: flags.perplexity && !remote,
          sideEffects: flags.sideEffects !== false && !remote,
          ...(signPairs ? { signCheckPairs: signPairs, signCheckSource: signSource } : {}),
          retryErrors: flags.retryErrors ?? false,
          signal,
          progress: createProgress({ label: "sweep", quiet: flags.quiet ?? false }),
          log,
        }),
      );
      printSummary(result.summary, process.stderr);
      process.stdout.write(formatSweep(result.analyses, flags.format as SteeringFormat));
      if (result.summary.interrupted) process.exitCode = 130;
    } finally {
      store.close();
    }
  });
}
