import { resolve } from "node:path";
import type { Command } from "commander";
import { importPublishedRuns } from "../../importers/import-published.js";
import { Store } from "../../store/store.js";
import { storeOption } from "../options.js";

export function registerImport(program: Command): void {
  storeOption(
    program
      .command("import")
      .description(
        "import published run folders (config.json + stdout.log each, like the paper's results/) as one run",
      )
      .argument("<dir>", "a folder of run folders, or one run folder")
      .option(
        "--pack <dir>",
        "benchmark pack to match scenario ids (default: instrumentaleval/ beside <dir>)",
      )
      .option("--name <name>", "run name"),
  ).action(async (dir: string, opts: { store: string; pack?: string; name?: string }) => {
    const store = Store.open(opts.store);
    try {
      const res = await importPublishedRuns(store, dir, {
        packDir: opts.pack ? resolve(opts.pack) : undefined,
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
