import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import { type MergeInput, mergeStores } from "../../store/merge.js";
import { Store } from "../../store/store.js";
import { UsageError } from "../options.js";

export function registerMerge(program: Command): void {
  program
    .command("merge")
    .description(
      "merge stores into one: the shards of a study (run --shard i/n) become one run with the unsharded run's id",
    )
    .argument("<out>", "output store (created if missing; must not hold the merged runs yet)")
    .argument("<inputs...>", "input stores")
    .action((outPath: string, inputPaths: string[]) => {
      const seen = new Set<string>();
      for (const p of inputPaths) {
        // Store.open would create a missing file: a typo must not merge an empty store.
        if (!existsSync(p)) throw new UsageError(`input store ${p} does not exist`);
        const full = resolve(p);
        if (seen.has(full)) throw new UsageError(`input store ${p} is given twice`);
        if (full === resolve(outPath))
          throw new UsageError(`input store ${p} is also the output; merge into a new file`);
        seen.add(full);
      }
      const inputs: MergeInput[] = [];
      let out: Store | undefined;
      try {
        for (const p of inputPaths) inputs.push({ label: basename(p), store: Store.openExisting(p) });
        out = Store.open(outPath);
        const result = mergeStores(out, inputs);
        for (const r of result.runs) {
          const shards = r.shards
            ? ` from ${r.shards.present.length} of ${r.shards.count} shards` +
              (r.shards.missing.length > 0
                ? ` (MISSING shards ${r.shards.missing.join(", ")}: incomplete)`
                : "")
            : " (copied)";
          process.stdout.write(
            `run ${r.id} (${r.name})${shards}: ${r.items} items, ${r.responses} responses, ${r.judgements} judgements, ${r.status}\n`,
          );
        }
        process.stdout.write(`merged into ${outPath}; ${result.cachedReplies} cached judge replies copied\n`);
      } finally {
        out?.close();
        for (const i of inputs) i.store.close();
      }
    });
}
