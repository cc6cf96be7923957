import { type Command, Option } from "commander";
import { resolveDataDir } from "../../data/data-dir.js";
import { importPublishedRuns } from "../../importers/import-published.js";
import { importInspectLogs } from "../../interop/inspect/import-logs.js";
import { loadLabelMapFile } from "../../interop/inspect/label-map.js";
import { Store } from "../../store/store.js";
import { storeOption, UsageError } from "../options.js";

const FORMATS = ["published", "inspect"] as const;

interface ImportOptions {
  store: string;
  format: string;
  data?: string;
  pack?: string;
  name?: string;
  labelMap?: string;
  condition?: string;
}

export function registerImport(program: Command): void {
  storeOption(
    program
      .command("import")
      .description(
        "import published run folders (config.json + stdout.log each, like the paper's results/), or Inspect eval logs (.eval/.json), as one run",
      )
      .argument(
        "<paths...>",
        "published: a folder of run folders, or one run folder; inspect: log files or folders of them",
      )
      .option("--format <fmt>", `${FORMATS.join(" or ")}`, "published")
      .option(
        "--data <dir>",
        "published: benchmark data to match scenario ids, the pack or its parent as everywhere (default: instrumentaleval/ beside <dir>)",
      )
      .addOption(new Option("--pack <dir>", "old name of --data").hideHelp())
      .option(
        "--label-map <file>",
        "inspect: JSON/YAML {scorer: {value: label|failed|error}} ('*' for any scorer)",
      )
      .option(
        "--condition <name>",
        "inspect: condition for logs that name none (default: task_args.condition, else the task)",
      )
      .option("--name <name>", "run name"),
  ).action(async (paths: string[], opts: ImportOptions) => {
    if (!(FORMATS as readonly string[]).includes(opts.format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, got "${opts.format}"`);
    }
    if (opts.format === "inspect") {
      if (opts.pack !== undefined || opts.data !== undefined)
        throw new UsageError("--data applies only to --format published");
      const labelMap = opts.labelMap ? loadLabelMapFile(opts.labelMap) : undefined;
      const store = Store.open(opts.store);
      try {
        const res = importInspectLogs(store, paths, { labelMap, condition: opts.condition, name: opts.name });
        const judges = Object.entries(res.judges)
          .map(([j, m]) => `${j} (${m})`)
          .join(", ");
        process.stdout.write(
          res.alreadyImported
            ? `already imported as run ${res.run.id} (${res.items} items) in ${store.path}\n`
            : `imported ${res.logs} Inspect logs, ${res.items} items judged by ${judges || "no scorer"}, as run ${res.run.id} in ${store.path}\n`,
        );
      } finally {
        store.close();
      }
      return;
    }
    for (const flag of ["labelMap", "condition"] as const) {
      if (opts[flag] !== undefined) {
        throw new UsageError(
          `--${flag === "labelMap" ? "label-map" : flag} applies only to --format inspect`,
        );
      }
    }
    if (paths.length !== 1)
      throw new UsageError(`import: published runs come from one folder, got ${paths.length}`);
    const dir = paths[0]!;
    const store = Store.open(opts.store);
    try {
      const res = await importPublishedRuns(store, dir, {
        // --data takes the pack or its parent, as in every other verb (resolveDataDir); --pack is its old name.
        packDir:
          (opts.data ?? opts.pack) !== undefined
            ? resolveDataDir({ flag: opts.data ?? opts.pack })
            : undefined,
        name: opts.name,
      });
      if (res.alreadyImported) {
        process.stdout.write(`already imported as run ${res.run.id} (${res.items} items) in ${store.path}\n`);
      } else {
        process.stdout.write(
          `imported ${res.folders} run folders, ${res.items} items judged by ${res.judge}, as run ${res.run.id} in ${store.path}\n`,
        );
        if (res.unmatched > 0) {
          process.stdout.write(
            `note: ${res.unmatched} items matched no scenario of the pack; their ids use task numbers\n`,
          );
        }
      }
    } finally {
      store.close();
    }
  });
}
