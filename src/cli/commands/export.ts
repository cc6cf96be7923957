import { createWriteStream } from "node:fs";
import type { Command } from "commander";
import { exportRunInspect, INSPECT_FORMATS, type InspectFormat } from "../../interop/inspect/export-run.js";
import { exportRunJsonl } from "../../report/export-jsonl.js";
import { Store } from "../../store/store.js";
import { storeOption, UsageError } from "../options.js";

const FORMATS = ["jsonl", "inspect"] as const;

interface ExportOptions {
  store: string;
  run?: string;
  out?: string;
  format: string;
  inspectFormat?: string;
}

export function registerExport(program: Command): void {
  storeOption(
    program
      .command("export")
      .description(
        "write every item of a run as JSONL (prompts, response, thinking, labels and reasons of each judge), or as Inspect eval logs",
      )
      .option("--run <id>", "run id, prefix or name (default: the newest run)")
      .option(
        "--format <fmt>",
        `${FORMATS.join(" or ")}: one Inspect eval log per (model, condition)`,
        "jsonl",
      )
      .option("--out <path>", "jsonl: output file (default: stdout); inspect: output folder (required)")
      .option("--inspect-format <fmt>", `with --format inspect: ${INSPECT_FORMATS.join(" (default) or ")}`),
  ).action(async (opts: ExportOptions) => {
    if (!(FORMATS as readonly string[]).includes(opts.format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, got "${opts.format}"`);
    }
    if (opts.format !== "inspect" && opts.inspectFormat !== undefined) {
      throw new UsageError("--inspect-format applies only to --format inspect");
    }
    const inspectFormat = opts.inspectFormat ?? "eval";
    if (!(INSPECT_FORMATS as readonly string[]).includes(inspectFormat)) {
      throw new UsageError(
        `--inspect-format must be one of ${INSPECT_FORMATS.join(", ")}, got "${inspectFormat}"`,
      );
    }
    if (opts.format === "inspect" && !opts.out) {
      throw new UsageError("--format inspect needs --out DIR (one log file per model and condition)");
    }
    const store = Store.openExisting(opts.store);
    try {
      const run = store.resolveRun(opts.run);
      if (opts.format === "inspect") {
        const res = exportRunInspect(store, run.id, opts.out!, inspectFormat as InspectFormat);
        process.stderr.write(
          `wrote ${res.files.length} Inspect logs (${res.samples} samples) of run ${run.id} and listing.json to ${opts.out}\n`,
        );
        if (res.skipped > 0) {
          process.stderr.write(`note: ${res.skipped} items have no response yet and are not in the logs\n`);
        }
        return;
      }
      if (!opts.out) {
        await exportRunJsonl(store, run.id, process.stdout);
        return;
      }
      const file = createWriteStream(opts.out);
      const closed = new Promise<void>((resolve, reject) => {
        file.on("error", reject);
        file.on("finish", resolve);
      });
      const n = await exportRunJsonl(store, run.id, file);
      file.end();
      await closed;
      process.stderr.write(`wrote ${n} items of run ${run.id} to ${opts.out}\n`);
    } finally {
      store.close();
    }
  });
}
