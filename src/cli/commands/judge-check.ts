import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { JUDGE_PROVIDER_KINDS } from "../../config/provider-kinds.js";
import { resolveDataDir } from "../../data/data-dir.js";
import { readProtocolStrings } from "../../data/protocol-strings.js";
import { findSiblingPack, importPublishedRuns } from "../../importers/import-published.js";
import { loadClassifier } from "../../judge/classifier/model.js";
import { type ConditionPair, DEFAULT_PAIRS, pairsAgainst } from "../../metrics/index.js";
import { describeEstimate, estimateJudgeWork } from "../../reliability/estimate.js";
import { formatComparison, formatSensitivity, parseReportFormat } from "../../reliability/format.js";
import { type CandidateJudge, judgeCheck, planCandidates } from "../../reliability/judge-check.js";
import { VERB_FORMATS } from "../../report/formats.js";
import { createProgress } from "../../runner/progress.js";
import { Store } from "../../store/store.js";
import type { ProtocolStrings } from "../../types.js";
import { dataOption, parseIntOption, parseListOption, storeOption, UsageError } from "../options.js";
import { withInterrupt } from "../signals.js";

const PROVIDERS = JUDGE_PROVIDER_KINDS;

interface JudgeCheckFlags {
  store: string;
  data?: string;
  run?: string;
  import?: string;
  judgeModel: string;
  judgeBaseUrl?: string;
  judgeProvider: string;
  judgeApiKeyEnv?: string;
  judgePrompt?: string[];
  judgeName?: string;
  judgeMaxTokens?: number;
  reference?: string;
  limit?: number;
  concurrency: number;
  latencyMs: number;
  retryErrors?: boolean;
  vs?: string;
  format: string;
  yes?: boolean;
  quiet?: boolean;
}

/** Repeatable and comma-separated: `--judge-prompt paper,instrumentaleval --judge-prompt my.yaml`. */
const collectList = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...parseListOption(value),
];

/** The pack's protocol strings: --data, else the pack beside an --import folder, else STEERBENCH_DATA / the cache. */
async function loadStrings(
  flags: JudgeCheckFlags,
  candidates: readonly CandidateJudge[],
): Promise<ProtocolStrings> {
  const needed = candidates.some((c) => !c.planned.local);
  let packDir: string | undefined;
  try {
    packDir =
      flags.data === undefined && flags.import !== undefined
        ? (findSiblingPack(flags.import) ?? resolveDataDir({}))
        : resolveDataDir({ flag: flags.data });
  } catch (err) {
    if (needed) throw err;
  }
  if (packDir !== undefined) return readProtocolStrings(join(packDir, "protocol_strings.json"));
  // Only local judges (the classifier), which read no judge prompt: no template is ever filled.
  return {
    proIcSuffix: "",
    antiIcSuffix: "",
    judgeSystemTemplate: "",
    judgeUserTemplate: "",
    originalTaskSystemPrompt: "",
    originalJudgeSystemTemplate: "",
    originalJudgeUserTemplate: "",
  };
}

/**
 * A classifier trained on this run's reference labels has seen (some of) the answers: agreement on
 * its training models is in-sample and says nothing about how good a judge it is.
 */
function inSampleNote(c: CandidateJudge, runId: string, reference: string): string[] {
  if (c.config.provider !== "classifier") return [];
  const t = loadClassifier(c.config.model).file.training;
  if (t.run !== runId || t.judge !== reference) return [];
  return [
    `note: ${c.planned.name} was trained on ${t.items} of this run's ${reference} labels (models ${t.models.join(", ")}); ` +
      "its agreement on those models is in-sample — read the per-model rows of the models it was not trained on",
  ];
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function registerJudgeCheck(program: Command): void {
  const cmd = program
    .command("judge-check")
    .description(
      "run a judge over an existing run (e.g. the imported published runs) and report its agreement with the reference labels and how Table 1 and every Δ would change (resumable)",
    )
    .requiredOption(
      "--judge-model <name>",
      "judge model name (for --judge-provider classifier: the model .json file)",
    )
    .option("--judge-base-url <url>", "judge's OpenAI-compatible base URL")
    .option("--judge-provider <kind>", `${PROVIDERS.join(" | ")}`, "openai")
    .option("--judge-api-key-env <var>", "env var with the judge's API key (default OPENAI_API_KEY if set)")
    .option(
      "--judge-prompt <list>",
      "paper | instrumentaleval | FILE (JSON/YAML variant); repeat or comma-separate for several variants, each judged as <model>/<variant>",
      collectList,
    )
    .option("--judge-name <name>", "store the verdicts under this judge name (one variant only)")
    .option("--judge-max-tokens <n>", "judge max tokens", parseIntOption("--judge-max-tokens"))
    .option("--run <id>", "run id, id prefix or name (default: the newest run)")
    .option(
      "--import <dir>",
      "import published run folders first (or reuse that import) and check against them",
    )
    .option(
      "--reference <judge>",
      "the judge whose labels are the reference (default: the run's first judge)",
    )
    .option("--limit <n>", "only the first N items of the run", parseIntOption("--limit"))
    .option("--concurrency <n>", "judge calls in flight", parseIntOption("--concurrency"), 8)
    .option(
      "--latency-ms <ms>",
      "guessed latency per judge call, for the time estimate",
      parseIntOption("--latency-ms"),
      1500,
    )
    .option("--retry-errors", "also redo verdicts that failed or errored before")
    .option("--vs <condition>", "also compare every condition against this one (e.g. baseline)")
    .option("--format <fmt>", VERB_FORMATS["judge-check"].join(" | "), "terminal")
    .option("--yes", "do not ask for confirmation on a terminal")
    .option("--quiet", "no progress output");
  storeOption(dataOption(cmd)).action(async (flags: JudgeCheckFlags) => {
    const format = parseReportFormat(flags.format);
    if (!(PROVIDERS as readonly string[]).includes(flags.judgeProvider)) {
      throw new UsageError(
        `--judge-provider must be one of ${PROVIDERS.join(", ")}, got "${flags.judgeProvider}"`,
      );
    }
    if (flags.run !== undefined && flags.import !== undefined)
      throw new UsageError("give --run or --import, not both");
    if (flags.concurrency < 1) throw new UsageError("--concurrency must be at least 1");
    if (flags.limit !== undefined && flags.limit < 1) throw new UsageError("--limit must be at least 1");
    if (flags.latencyMs < 0) throw new UsageError("--latency-ms must be ≥ 0");
    const candidates = planCandidates({
      provider: flags.judgeProvider as (typeof PROVIDERS)[number],
      model: flags.judgeModel,
      baseUrl: flags.judgeBaseUrl,
      apiKeyEnv: flags.judgeApiKeyEnv,
      prompts: flags.judgePrompt,
      name: flags.judgeName,
      maxTokens: flags.judgeMaxTokens,
    });
    const strings = await loadStrings(flags, candidates);
    const store = Store.openExisting(flags.store);
    try {
      let runId: string;
      if (flags.import !== undefined) {
        const res = await importPublishedRuns(store, flags.import);
        runId = res.run.id;
        process.stderr.write(
          `${res.alreadyImported ? "using the earlier import" : "imported"} ${flags.import} as run ${runId} (${res.items} items, judge ${res.judge})\n`,
        );
      } else {
        runId = store.resolveRun(flags.run).id;
      }
      const names = new Set(candidates.map((c) => c.planned.name));
      const reference = flags.reference ?? store.judges(runId).find((j) => !names.has(j));
      if (reference === undefined)
        throw new UsageError(`run ${runId} has no judge to compare with; give --reference`);

      const conditions = [...new Set(store.items(runId).map((i) => i.condition))];
      const pairs: ConditionPair[] =
        flags.vs === undefined
          ? [...DEFAULT_PAIRS]
          : [...DEFAULT_PAIRS, ...pairsAgainst(flags.vs, conditions)];

      const estimate = estimateJudgeWork({
        store,
        runId,
        judges: candidates.map((c) => c.planned),
        strings,
        limit: flags.limit,
        retryErrors: flags.retryErrors,
        concurrency: flags.concurrency,
        latencyMs: candidates.every((c) => c.planned.local) ? 0 : flags.latencyMs,
      });
      process.stderr.write(
        `judge-check on run ${runId}, reference ${reference}:\n${describeEstimate(estimate)}`,
      );
      const notes = candidates.flatMap((c) => inSampleNote(c, runId, reference));
      for (const note of notes) process.stderr.write(`${note}\n`);
      if (estimate.calls > 0 && !flags.yes && process.stdin.isTTY && process.stderr.isTTY) {
        if (!(await confirm("proceed? [y/N] "))) {
          process.stderr.write("nothing done\n");
          return;
        }
      }

      const result = await withInterrupt((signal) =>
        judgeCheck({
          store,
          runId,
          reference,
          candidates,
          strings,
          limit: flags.limit,
          concurrency: flags.concurrency,
          retryErrors: flags.retryErrors,
          signal,
          progress: createProgress({ label: "judge-check", quiet: flags.quiet ?? false }),
          log: flags.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
          pairs,
        }),
      );
      const s = result.summary;
      process.stderr.write(
        `judged ${s.judged} (${s.failures} failed verdicts), ${s.errors} errors${s.interrupted ? "; INTERRUPTED — run the same command again to resume" : ""}\n`,
      );
      const out: string[] = result.comparisons.map((c) => formatComparison(c, format));
      if (notes.length > 0) out.push(`${notes.join("\n")}\n`);
      if (result.sensitivity) out.push(formatSensitivity(result.sensitivity, format));
      if (format === "json") {
        process.stdout.write(
          `${JSON.stringify({ run: runId, reference, summary: s, comparisons: result.comparisons, sensitivity: result.sensitivity ?? null }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(out.join("\n"));
      }
      if (s.interrupted) process.exitCode = 130;
      else if (s.errors > 0)
        process.stderr.write("some judge calls failed: rerun with --retry-errors to retry only those\n");
    } finally {
      store.close();
    }
  });
}
