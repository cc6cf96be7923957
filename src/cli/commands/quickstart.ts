import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { parseRunConfig } from "../../config/run-config.js";
import { resolveDataDir } from "../../data/data-dir.js";
import { createProgress } from "../../runner/progress.js";
import { runEvaluation } from "../../runner/run.js";
import { Store } from "../../store/store.js";
import { dataOption, parseIntOption, storeOption } from "../options.js";
import { withInterrupt } from "../signals.js";
import { printRunTable, printSummary } from "./run.js";

// The package root; the shared fixtures sit beside a checkout (../shared), where the README says.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const SHARED = resolve(packageRoot, "..", "shared");
const DEFAULT_MODEL = join(SHARED, "models", "aidreams260K", "aidreams260K-f32.gguf");

export function registerQuickstart(program: Command): void {
  const cmd = program
    .command("quickstart")
    .description(
      "a complete offline evaluation: embedded llama.cpp model, local label-scoring judge, SQLite, Table 1",
    )
    .option(
      "--model <file>",
      "GGUF model (env STEERBENCH_MODEL; default: the tiny fixture in ../shared/models)",
    )
    .option("--judge-model <file>", "GGUF judge for label scoring (default: the same model)")
    .option("--limit <n>", "items of the paper selection per condition", parseIntOption("--limit"), 24)
    .option("--max-tokens <n>", "max new tokens per answer", parseIntOption("--max-tokens"), 48);
  storeOption(dataOption(cmd)).action(
    async (opts: {
      model?: string;
      judgeModel?: string;
      limit: number;
      maxTokens: number;
      data?: string;
      store: string;
    }) => {
      const model = resolve(opts.model || process.env.STEERBENCH_MODEL || DEFAULT_MODEL);
      if (!existsSync(model)) {
        throw new Error(`model file not found: ${model} (pass --model FILE.gguf or set STEERBENCH_MODEL)`);
      }
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
          limit: opts.limit,
          conditions: ["baseline", "pro_ic", "anti_ic"],
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
        `quickstart: ${config.conditions.length} conditions × ${opts.limit} items, model ${model}, store ${resolve(opts.store)}\n`,
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
        if (model === DEFAULT_MODEL) {
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
        if (summary.interrupted) process.exitCode = 130;
      } finally {
        store.close();
      }
    },
  );
}
