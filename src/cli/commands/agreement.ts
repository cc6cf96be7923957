import type { Command } from "commander";
import { type ConditionPair, DEFAULT_PAIRS, pairsAgainst } from "../../metrics/index.js";
import { formatAgreement, parseReportFormat } from "../../reliability/format.js";
import { agreementReport, parseTieRule } from "../../reliability/multi-judge.js";
import { VERB_FORMATS } from "../../report/formats.js";
import { Store } from "../../store/store.js";
import { parseIntOption, parseListOption, storeOption, UsageError } from "../options.js";

interface AgreementFlags {
  store: string;
  run?: string;
  judges?: string[];
  tie: string;
  vs?: string;
  format: string;
  seed: number;
  replicates: number;
}

export function registerAgreement(program: Command): void {
  storeOption(
    program
      .command("agreement")
      .description(
        "how far a run's judges agree: raw agreement (IAR), Cohen's κ per pair, Fleiss' κ, confusion matrices, and Table 1 per judge and by majority vote",
      )
      .option("--run <id>", "run id, id prefix or name (default: the newest run)")
      .option("--judges <list>", "comma list of judges (default: all judges of the run)", parseListOption)
      .option("--tie <rule>", "majority-vote ties: fail | first-judge | prefer:<label>", "fail")
      .option("--vs <condition>", "also compare every condition against this one (e.g. baseline)")
      .option("--format <fmt>", VERB_FORMATS.agreement.join(" | "), "terminal")
      .option("--replicates <n>", "bootstrap replicates for Fleiss' κ", parseIntOption("--replicates"), 2000)
      .option("--seed <n>", "bootstrap seed", parseIntOption("--seed"), 1),
  ).action((flags: AgreementFlags) => {
    const format = parseReportFormat(flags.format);
    let tie: ReturnType<typeof parseTieRule>;
    try {
      tie = parseTieRule(flags.tie);
    } catch (err) {
      throw new UsageError(`--tie: ${(err as Error).message}`);
    }
    const store = Store.openExisting(flags.store);
    try {
      const run = store.resolveRun(flags.run);
      const conditions = [...new Set(store.items(run.id).map((i) => i.condition))];
      const pairs: ConditionPair[] =
        flags.vs === undefined
          ? [...DEFAULT_PAIRS]
          : [...DEFAULT_PAIRS, ...pairsAgainst(flags.vs, conditions)];
      const report = agreementReport(store, run.id, {
        judges: flags.judges,
        tie,
        pairs,
        replicates: flags.replicates,
        seed: flags.seed,
      });
      process.stdout.write(
        formatAgreement(
          report,
          format,
          `Judge agreement: ${run.name} (run ${run.id}), ${report.items} items`,
        ),
      );
    } finally {
      store.close();
    }
  });
}
