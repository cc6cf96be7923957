import type { Command } from "commander";
import {
  buildTable1,
  type ConditionPair,
  conditionsOf,
  DEFAULT_PAIRS,
  pairsAgainst,
  unknownConditions,
} from "../../metrics/index.js";
import { compareProtocols } from "../../metrics/two-label.js";
import { outcomesFor } from "../../reliability/multi-judge.js";
import { formatTable, type TableFormat } from "../../report/format-table.js";
import { VERB_FORMATS } from "../../report/formats.js";
import type { CsvSection } from "../../report/table-csv.js";
import {
  formatProtocolComparison,
  PROTOCOL_FORMATS,
  type ProtocolFormat,
} from "../../report/table-protocol.js";
import { Store } from "../../store/store.js";
import { storeOption, UsageError } from "../options.js";

const FORMATS = VERB_FORMATS.table;
const CSV_SECTIONS: readonly CsvSection[] = ["rows", "gaps", "categories"];

/** Refuses pairs naming a condition the run does not have, instead of silently printing no gap. */
export function checkPairs(pairs: ConditionPair[], known: readonly string[], flag: string): ConditionPair[] {
  const unknown = unknownConditions(pairs, known);
  if (unknown.length > 0) {
    throw new UsageError(
      `${flag}: the run has no condition ${unknown.map((c) => `"${c}"`).join(", ")}; conditions: ${known.join(", ")}`,
    );
  }
  return pairs;
}
const PROTOCOLS = ["paper", "instrumentaleval"] as const;

function parsePairs(text: string): ConditionPair[] {
  return text.split(",").map((p) => {
    const [high, low, extra] = p.split(":");
    if (!high || !low || extra !== undefined) throw new UsageError(`--pairs: "${p}" is not HIGH:LOW`);
    return { high, low };
  });
}

export function registerTable(program: Command): void {
  storeOption(
    program
      .command("table")
      .description(
        "print Table 1 (conv% and refusal% with 95% intervals, the gap Δ with McNemar p) for a run",
      )
      .option("--run <id>", "run id, id prefix or name (default: the newest run)")
      .option(
        "--judge <name>",
        "whose labels to use, or `consensus` (majority of all judges); default: the run's first judge",
      )
      .option("--format <fmt>", `output format: ${FORMATS.join(", ")}`, "terminal")
      .option("--pairs <list>", "gap pairs HIGH:LOW,... (default pro_ic:anti_ic)")
      .option("--vs <condition>", "also compare every condition against this one (e.g. baseline)")
      .option("--categories", "add the per-category rates (CIR); with csv, the categories section")
      .option("--section <name>", "csv only: which table the file holds: rows (default), gaps or categories")
      .option(
        "--protocol <name>",
        "paper (4 labels), or instrumentaleval: also the inspect_evals 2-label rate for the same responses",
        "paper",
      ),
  ).action(
    (opts: {
      store: string;
      run?: string;
      judge?: string;
      format: string;
      pairs?: string;
      vs?: string;
      categories?: boolean;
      section?: string;
      protocol: string;
    }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) {
        throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, got "${opts.format}"`);
      }
      if (opts.section !== undefined && opts.format !== "csv") {
        throw new UsageError(`--section is for --format csv (one table per CSV file), not ${opts.format}`);
      }
      if (opts.section !== undefined && !CSV_SECTIONS.includes(opts.section as CsvSection)) {
        throw new UsageError(`--section must be one of ${CSV_SECTIONS.join(", ")}, got "${opts.section}"`);
      }
      if (opts.section !== undefined && opts.categories && opts.section !== "categories") {
        throw new UsageError("--categories with --format csv selects the categories section; drop --section");
      }
      if (!(PROTOCOLS as readonly string[]).includes(opts.protocol)) {
        throw new UsageError(`--protocol must be one of ${PROTOCOLS.join(", ")}, got "${opts.protocol}"`);
      }
      if (opts.protocol === "instrumentaleval") {
        if (!(PROTOCOL_FORMATS as readonly string[]).includes(opts.format)) {
          throw new UsageError(
            `--protocol instrumentaleval prints ${PROTOCOL_FORMATS.join(", ")}; --format ${opts.format} is not supported`,
          );
        }
        if (opts.categories)
          throw new UsageError("--categories is not supported with --protocol instrumentaleval");
      }
      const store = Store.openExisting(opts.store);
      try {
        const run = store.resolveRun(opts.run);
        const judges = store.judges(run.id);
        const judge = opts.judge ?? judges[0];
        if (judge === undefined) throw new UsageError(`run ${run.id} has no judgements yet`);
        if (judge !== "consensus" && !judges.includes(judge)) {
          throw new UsageError(`run ${run.id} has no judge "${judge}"; judges: ${judges.join(", ")}`);
        }
        const outcomes = outcomesFor(store, run.id, judge);
        const known = conditionsOf(outcomes);
        let pairs = opts.pairs ? checkPairs(parsePairs(opts.pairs), known, "--pairs") : [...DEFAULT_PAIRS];
        if (opts.vs) {
          checkPairs([{ high: opts.vs, low: opts.vs }], known, "--vs");
          pairs = [...pairs, ...pairsAgainst(opts.vs, known)];
        }
        const format = opts.format as TableFormat;
        const csvSection = (opts.section ?? (opts.categories ? "categories" : "rows")) as CsvSection;
        const out =
          opts.protocol === "instrumentaleval"
            ? formatProtocolComparison(compareProtocols(outcomes, { pairs }), format as ProtocolFormat)
            : formatTable(buildTable1(outcomes, { pairs }), format, {
                categories: opts.categories ?? false,
                csvSection,
              });
        // Machine formats stay pure; human ones say which run and judge the numbers come from.
        if (format === "terminal" || format === "md") {
          process.stdout.write(`${run.name} (run ${run.id}, judge ${judge})\n\n`);
        }
        process.stdout.write(out.endsWith("\n") ? out : `${out}\n`);
      } finally {
        store.close();
      }
    },
  );
}
