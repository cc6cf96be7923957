import { createWriteStream } from "node:fs";
import type { Command } from "commander";
import { exportRunJsonl } from "../../report/export-jsonl.js";
import { Store } from "../../store/store.js";
import { storeOption } from "../options.js";

export function registerExport(program: Command): void {
  storeOption(
    program
      .command("export")
      .description(
        "write every item of a run as JSONL: prompts, response, thinking, labels and reasons of each judge",
      )
      .option("--run <id>", "run id, prefix or name (default: the newest run)")
      .option("--out <file>", "output file (default: stdout)"),
  ).action(async (opts: { store: string; run?: string; out?: string }) => {
    const store = Store.openExisting(opts.store);
    try {
      const run = store.resolveRun(opts.run);
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
