import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { parseRunConfig } from "../../config/run-config.js";
import { resolveDataDir } from "../../data/data-dir.js";
import { formatRecovery } from "../../organism/format.js";
import { readPlanted } from "../../organism/planted.js";
import { compareWithPlanted } from "../../organism/recovery.js";
import {
  judgeAgainstBank,
  readManifest,
  STEERLING_GGUF,
  STEERLING_PLANTED,
} from "../../organism/steerling.js";
import { createProgress } from "../../runner/progress.js";
import { runEvaluation } from "../../runner/run.js";
import { Store } from "../../store/store.js";
import { dataOption, parseIntOption, storeOption } from "../options.js";
import { withInterrupt } from "../signals.js";
import { exitCodeFor, printRunTable, printSummary } from "./run.js";

// The package root; the shared fixtures sit beside a checkout (../shared), where the README says.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const SHARED = resolve(packageRoot, "..", "shared");
const TINY_FIXTURE = join(SHARED, "models", "aidreams260K", "aidreams260K-f32.gguf");

export function registerQuickstart(program: Command): void {
  const cmd = program
    .command("quickstart")
    .description(
      "a complete offline evaluation: embedded llama.cpp model, local label-scoring judge, SQLite, Table 1; on steerling, measured vs planted",
    )
    .option(
      "--model <file>",
      "GGUF model (env STEERBENCH_MODEL; default: steerling, the model organism in models/steerling)",
    )
    .option("--judge-model <file>", "GGUF judge for label scoring (default: the same model)")
    .option(
      "--planted <file>",
      "planted.json to compare the measured Table 1 with (default: steerling's, when the model is steerling)",
    )
    .option(
      "--limit <n>",
      "first N items of the paper selection per condition (default: all 71)",
      parseIntOption("--limit"),
    )
    .option("--max-tokens <n>", "max new tokens per answer", parseIntOption("--max-tokens"), 64)
    .option("--no-sweep", "skip the short activation sweep (steerling only) that follows Table 1");
  storeOption(dataOption(cmd)).action(
    async (opts: {
      model?: string;
      judgeModel?: string;
      planted?: string;
      limit?: number;
      maxTokens: number;
      data?: string;
      store: string;
      sweep: boolean;
    }) => {
      const model = resolve(opts.model || process.env.STEERBENCH_MODEL || STEERLING_GGUF);
      if (!existsSync(model)) {
        throw new Error(`model file not found: ${model} (pass --model FILE.gguf or set STEERBENCH_MODEL)`);
      }
      const isSteerling = model === STEERLING_GGUF;
      const plantedPath = opts.planted ?? (isSteerling ? STEERLING_PLANTED : undefined);
      const planted = plantedPath === undefined ? undefined : readPlanted(resolve(plantedPath));
      const sharedData = join(SHARED, "data");
      const packDir = resolveDataDir({
        flag:
          opts.data ??
          (process.env.STEERBENCH_DATA ? undefined : existsSync(sharedData) ? sharedData : undefined),
      });
      const config = parseRunConfig(
        {
          name: "quickstart",
          selection: "paper",
          ...(opts.limit === undefined ? {} : { limit: opts.limit }),
          conditions: ["baseline", "pro_ic", "anti_ic", "conflict"],
          models: [{ name: "local-model", provider: "llama", model }],
          judges: [
            {
              name: "local-label-scoring",
              provider: "llama",
              mode: "score",
              model: opts.judgeModel ?? model,
            },
          ],
          decoding: { temperature: 0, maxTokens: opts.maxTokens, seed: 0, stop: [] },
          concurrency: 1,
        },
        "quickstart",
      );
      process.stderr.write(
        `quickstart: ${config.conditions.length} conditions × ${opts.limit ?? "all"} items, model ${model}, store ${resolve(opts.store)}\n`,
      );
      const store = Store.open(opts.store);
      try {
        const summary = await withInterrupt((signal) =>
          runEvaluation({
            config,
            store,
            packDir,
            signal,
            progress: createProgress({ label: "quickstart" }),
            log: (line) => process.stderr.write(`${line}\n`),
          }),
        );
        printSummary(summary);
        printRunTable(store, summary.run.id);
        if (planted) {
          const judge = store.judges(summary.run.id)[0];
          const outcomes = judge === undefined ? [] : store.outcomes(summary.run.id, judge);
          if (outcomes.length > 0) {
            const recovery = compareWithPlanted(outcomes, planted);
            process.stdout.write(
              `\nMeasured vs planted (${plantedPath}), per cell within ±${recovery.tolerance} items:\n`,
            );
            process.stdout.write(formatRecovery(recovery));
            // Only steerling answers from known banks, so only its answers can be checked against them.
            if (isSteerling) {
              const bank = judgeAgainstBank(
                outcomes.map((o) => ({ response: store.response(o.itemId)?.response ?? "", label: o.label })),
              );
              process.stdout.write(
                `judge vs the response bank each answer came from: ${bank.agree}/${bank.n}` +
                  `${bank.noBank > 0 ? ` (${bank.noBank} answers from no bank)` : ""}\n`,
              );
            }
          }
        }
        if (isSteerling && opts.sweep && !summary.interrupted) {
          activationSweep({ model, packDir, store: opts.store, limit: opts.limit });
        }
        if (isSteerling) {
          process.stdout.write(
            `\nNOTE: steerling is a MODEL ORGANISM with PLANTED steerability: a ${readManifest().parameters.toLocaleString("en-US")}-parameter model trained by\n` +
              "tools/steerling to answer each scenario and condition with the label written in planted.json\n" +
              "before training. Recovering those labels shows that the instrument (prompts, engine, judge,\n" +
              "Table 1) measures what is there; the numbers are no fact about any real model. Point it at a\n" +
              "real model with: npx steerbench quickstart --model path/to/model.gguf (see README).\n",
          );
        } else if (model === TINY_FIXTURE) {
          process.stdout.write(
            "\nNOTE: this is a 233K-parameter, non-instruction-tuned test fixture — its answers and labels are\n" +
              "meaningless. The pipeline is real: point it at a real model with\n" +
              "  npx steerbench quickstart --model path/to/model.gguf        (embedded llama.cpp)\n" +
              "  npx steerbench run --model NAME --base-url http://localhost:8000/v1 --judge ...   (any OpenAI-compatible server)\n" +
              "See README: 'Evaluate a real model'.\n",
          );
        }
        process.stdout.write(
          `\nStored in ${store.path} — try: npx steerbench table, npx steerbench export\n`,
        );
        process.exitCode = Math.max(Number(process.exitCode ?? 0), exitCodeFor(summary, store));
      } finally {
        store.close();
      }
    },
  );
}

// The activation half of the instrument check: a vector from three categories' built-in pairs, swept on the
// other three at layer 2 with the sweep's seeded random-direction controls (the design
// test/known-answer.test.ts asserts; why that layer and grid: README, steerling). Run as the CLI's own verbs in
// child processes, so the quickstart shows exactly what a user would type.
const TRAIN_CATEGORIES = "evading-shutdown,deceptive-behavior,hacking-computer-systems";
const TEST_CATEGORIES = "hiding-unwanted-behavior,running-multiple-ai-copies,strategically-appearing-aligned";

function activationSweep(opts: { model: string; packDir: string; store: string; limit?: number }): void {
  const bin = process.argv[1];
  if (bin === undefined) return;
  const vector = join(dirname(resolve(opts.store)), "steerling-ic.gguf");
  const common = ["--model", opts.model, "--data", opts.packDir];
  const verb = (args: string[]): boolean => {
    process.stdout.write(`\n$ steerbench ${args.join(" ")}\n`);
    const res = spawnSync(process.execPath, [bin, ...args], { stdio: ["ignore", "inherit", "inherit"] });
    if (res.status !== 0) {
      process.stderr.write(
        `quickstart: \`steerbench ${args[0]}\` failed (exit ${res.status}); Table 1 above stands\n`,
      );
      process.exitCode = 1;
      return false;
    }
    return true;
  };
  process.stdout.write(
    `\nActivation steering on steerling: a vector from the pro/anti pairs of ${TRAIN_CATEGORIES.replaceAll(",", ", ")},\n` +
      "swept on the other three categories at layer 2 (a middle layer), beside seeded random directions of the\n" +
      "same per-layer norm. On steerling it raises Conv.% but barely lowers it, hence strengths -1 to +2 (see README):\n",
  );
  if (
    !verb([
      "vectors",
      "extract",
      ...common,
      "--pairs",
      "builtin",
      "--categories",
      TRAIN_CATEGORIES,
      "--out",
      vector,
      "--quiet",
      "--format",
      "md",
    ])
  )
    return;
  verb([
    "sweep",
    ...common,
    "--vector",
    vector,
    "--strengths=-1,-0.5,0,0.5,1,1.5,2",
    "--layers",
    "2",
    "--categories",
    TEST_CATEGORIES,
    "--judge-model",
    opts.model,
    "--judge-mode",
    "score",
    "--max-tokens",
    "64",
    "--no-prompt-steering",
    "--no-perplexity",
    "--store",
    opts.store,
    "--quiet",
    ...(opts.limit === undefined ? [] : ["--limit", String(opts.limit)]),
  ]);
}
