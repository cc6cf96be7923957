import { resolve } from "node:path";
import type { Command } from "commander";
import { saveClassifier } from "../../judge/classifier/model.js";
import { crossEvaluate, trainFromStore } from "../../reliability/classifier/train.js";
import { formatSplitEvaluations, parseReportFormat } from "../../reliability/format.js";
import { VERB_FORMATS } from "../../report/formats.js";
import { Store } from "../../store/store.js";
import { parseIntOption, parseListOption, parseNumberOption, storeOption, UsageError } from "../options.js";

interface TrainJudgeFlags {
  store: string;
  run?: string;
  judge?: string;
  trainModels?: string[];
  testModels?: string[];
  out: string;
  l2?: number;
  classWeight: string;
  maxIterations?: number;
  format: string;
}

export function registerTrainJudge(program: Command): void {
  storeOption(
    program
      .command("train-judge")
      .description(
        "train the offline judge (TF-IDF n-grams + softmax regression) on a run's labels; with --train-models, also test it on the other models",
      )
      .requiredOption("--out <file>", "where to write the model (JSON)")
      .option("--run <id>", "run id, id prefix or name (default: the newest run)")
      .option("--judge <name>", "whose labels to learn (default: the run's first judge)")
      .option("--train-models <list>", "train only on these models' responses (comma list)", parseListOption)
      .option(
        "--test-models <list>",
        "held-out models to evaluate on (default with --train-models: all the others)",
        parseListOption,
      )
      .option("--l2 <x>", "L2 penalty (default 1e-4)", parseNumberOption("--l2"))
      .option("--class-weight <w>", "none | balanced", "none")
      .option(
        "--max-iterations <n>",
        "L-BFGS iterations at most (default 50)",
        parseIntOption("--max-iterations"),
      )
      .option("--format <fmt>", `evaluation report: ${VERB_FORMATS["train-judge"].join(" | ")}`, "terminal"),
  ).action((flags: TrainJudgeFlags) => {
    const format = parseReportFormat(flags.format);
    if (flags.classWeight !== "none" && flags.classWeight !== "balanced") {
      throw new UsageError(`--class-weight must be none or balanced, got "${flags.classWeight}"`);
    }
    if (flags.l2 !== undefined && flags.l2 < 0) throw new UsageError("--l2 must be ≥ 0");
    if (flags.testModels !== undefined && flags.trainModels === undefined) {
      throw new UsageError(
        "--test-models needs --train-models (the test models must be held out of training)",
      );
    }
    const options = {
      l2: flags.l2,
      classWeight: flags.classWeight as "none" | "balanced",
      maxIterations: flags.maxIterations,
    };
    const store = Store.openExisting(flags.store);
    try {
      const run = store.resolveRun(flags.run);
      const judge = flags.judge ?? store.judges(run.id)[0];
      if (judge === undefined) throw new UsageError(`run ${run.id} has no judgements to learn from`);
      const models = [...new Set(store.items(run.id).map((i) => i.model))];
      const out = resolve(flags.out);
      if (flags.trainModels === undefined) {
        const file = trainFromStore(store, run.id, judge, options);
        saveClassifier(out, file);
        process.stdout.write(
          `trained on ${file.training.items} responses of ${file.training.models.length} models (labels by ${judge}); wrote ${out}\n` +
            "no held-out evaluation: pass --train-models to test on the models left out\n",
        );
        return;
      }
      const test = flags.testModels ?? models.filter((m) => !flags.trainModels!.includes(m));
      if (test.length === 0) {
        const file = trainFromStore(store, run.id, judge, { ...options, models: flags.trainModels });
        saveClassifier(out, file);
        process.stdout.write(
          `trained on ${file.training.items} responses; no models left to test on; wrote ${out}\n`,
        );
        return;
      }
      const [evaluation] = crossEvaluate(store, run.id, judge, [{ train: flags.trainModels, test }], options);
      saveClassifier(out, evaluation!.model);
      process.stdout.write(formatSplitEvaluations([evaluation!], format));
      process.stderr.write(
        `trained on ${evaluation!.trainItems} responses (labels by ${judge}); wrote ${out}\n`,
      );
    } finally {
      store.close();
    }
  });
}
