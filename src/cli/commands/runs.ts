import type { Command } from "commander";
import { readStoredConfig, StoredConfigError } from "../../config/stored-config.js";
import { type RunRecord, Store } from "../../store/store.js";
import { storeOption, UsageError } from "../options.js";

export function registerRuns(program: Command): void {
  storeOption(
    program
      .command("runs")
      .description("list the runs in a store with their progress and primary judge")
      .option(
        "--set-primary-judge <judge>",
        "make JUDGE the judge whose labels table/report/compare use by default (with --run)",
      )
      .option("--run <id>", "the run to change with --set-primary-judge (default: the newest run)"),
  ).action((opts: { store: string; setPrimaryJudge?: string; run?: string }) => {
    if (opts.run !== undefined && opts.setPrimaryJudge === undefined) {
      throw new UsageError("--run is only used with --set-primary-judge");
    }
    const store = Store.openExisting(opts.store);
    try {
      if (opts.setPrimaryJudge !== undefined) {
        const run = store.resolveRun(opts.run);
        const before = store.primaryJudge(run.id);
        store.setPrimaryJudge(run.id, opts.setPrimaryJudge);
        process.stdout.write(
          `run ${run.id}: primary judge ${before ?? "(none)"} → ${opts.setPrimaryJudge}\n`,
        );
        return;
      }
      const runs = store.listRuns();
      if (runs.length === 0) process.stdout.write(`no runs in ${store.path}\n`);
      for (const r of runs) {
        const p = store.progress(r.id);
        const primary = store.primaryJudge(r.id);
        const judged = Object.entries(p.judged)
          .map(
            ([j, c]) =>
              `${j}${j === primary ? " (primary)" : ""}: ${c.ok} ok/${c.failed} failed/${c.error} errors`,
          )
          .join("; ");
        process.stdout.write(
          `${r.id}  ${r.kind.padEnd(6)} ${r.status.padEnd(11)} ${r.createdAt}  ${r.name}\n` +
            `    ${p.items} items, ${p.responsesOk} responses (${p.responseErrors} errors)${judged ? `; ${judged}` : ""}\n` +
            (r.status === "failed" && r.error ? `    failed: ${r.error}\n` : "") +
            storedNotes(r),
        );
      }
    } finally {
      store.close();
    }
  });
}

/** Lines from a run's stored config worth listing: layers chosen by `layers: auto`; or why it is unreadable. */
function storedNotes(run: RunRecord): string {
  try {
    const sc = readStoredConfig(run);
    const chosen = sc.kind === "live" || sc.kind === "sweep" ? (sc.config.layerSelection ?? {}) : {};
    return Object.entries(chosen)
      .map(([name, c]) => `    ${name}: layers auto chose ${c.reason}\n`)
      .join("");
  } catch (err) {
    if (err instanceof StoredConfigError) return `    ${err.message}\n`;
    throw err;
  }
}
