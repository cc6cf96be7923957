import type { Command } from "commander";
import { Store } from "../../store/store.js";
import { storeOption } from "../options.js";

export function registerRuns(program: Command): void {
  storeOption(program.command("runs").description("list the runs in a store with their progress")).action(
    (opts: { store: string }) => {
      const store = Store.open(opts.store);
      try {
        const runs = store.listRuns();
        if (runs.length === 0) process.stdout.write(`no runs in ${store.path}\n`);
        for (const r of runs) {
          const p = store.progress(r.id);
          const judged = Object.entries(p.judged)
            .map(([j, c]) => `${j}: ${c.ok} ok/${c.failed} failed/${c.error} errors`)
            .join("; ");
          process.stdout.write(
            `${r.id}  ${r.kind.padEnd(6)} ${r.status.padEnd(11)} ${r.createdAt}  ${r.name}\n` +
              `    ${p.items} items, ${p.responsesOk} responses (${p.responseErrors} errors)${judged ? `; ${judged}` : ""}\n`,
          );
        }
      } finally {
        store.close();
      }
    },
  );
}
