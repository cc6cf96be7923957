import type { Command } from "commander";
import type { ConditionPair } from "../../metrics/index.js";
import { writeHtmlReport } from "../../report/html/index.js";
import { Store } from "../../store/store.js";
import { storeOption, UsageError } from "../options.js";

/** `pro_ic:anti_ic,pro_ic:baseline` → pairs; a clear error for anything else. */
export function parsePairList(text: string): ConditionPair[] {
  return text.split(",").map((p) => {
    const [high, low, extra] = p.split(":").map((s) => s.trim());
    if (!high || !low || extra !== undefined) throw new UsageError(`--pairs: "${p}" is not HIGH:LOW`);
    return { high, low };
  });
}

export function registerReport(program: Command): void {
  storeOption(
    program
      .command("report")
      .description("write a run's self-contained HTML report: settings, Table 1, figures and every item")
      .option("--run <id>", "run id, id prefix or name (default: the newest run)")
      .requiredOption("--html <file>", "the HTML file to write")
      .option("--judge <name>", "whose labels lead the report (default: the run's primary judge)")
      .option(
        "--pairs <list>",
        "gap pairs HIGH:LOW,... (default pro_ic:anti_ic, else each condition vs baseline)",
      ),
  ).action((opts: { store: string; run?: string; html: string; pairs?: string; judge?: string }) => {
    const store = Store.openExisting(opts.store);
    try {
      const res = writeHtmlReport(store, opts.html, {
        run: opts.run,
        judge: opts.judge,
        pairs: opts.pairs ? parsePairList(opts.pairs) : undefined,
      });
      process.stdout.write(
        `wrote ${res.file} (${(res.bytes / 1024 / 1024).toFixed(1)} MiB, run ${res.run.id}, ${res.items} items, judge ${res.judge ?? "(none)"})\n`,
      );
    } finally {
      store.close();
    }
  });
}
