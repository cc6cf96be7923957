import { type Command, Option } from "commander";
import { defaultDataDir, resolveDataDir } from "../../data/data-dir.js";
import { loadPack } from "../../data/pack.js";
import { pullData } from "../../data/pull.js";
import { selectScenarios } from "../../data/selection.js";
import { dataOption } from "../options.js";

export function registerData(program: Command): void {
  const data = program.command("data").description("get and inspect the benchmark data");
  data
    .command("pull")
    .description("download the pinned InstrumentalEval files and protocol strings, verifying their sha256")
    .option("--data <dir>", "where to put the data (default: the cache ~/.cache/steerbench/data)")
    .addOption(new Option("--dir <dir>", "old name of --data").hideHelp())
    .option("--base-url <url>", "mirror of the upstream repository at the pinned commit")
    .action(async (opts: { data?: string; dir?: string; baseUrl?: string }) => {
      if (opts.data !== undefined && opts.dir !== undefined)
        throw new Error("give --data once (--dir is its old name)");
      const cacheDir = opts.data ?? opts.dir ?? defaultDataDir();
      const res = await pullData({
        cacheDir,
        baseUrl: opts.baseUrl,
        onFile: (name, bytes) => process.stderr.write(`  ${name} (${bytes} bytes) verified\n`),
      });
      process.stdout.write(
        `pulled ${res.files.length} files into ${res.dir} (pack ${res.hash.slice(0, 12)})\n`,
      );
    });
  dataOption(
    data
      .command("info")
      .description("show the benchmark pack: categories, scenario counts, selections, hash"),
  ).action(async (opts: { data?: string }) => {
    const dir = resolveDataDir({ flag: opts.data });
    const pack = await loadPack(dir);
    for (const w of pack.warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(`pack ${dir}\nhash ${pack.hash}\n`);
    for (const c of pack.categories) {
      process.stdout.write(
        `  ${c.slug.padEnd(34)} ${String(c.scenarios.length).padStart(3)} scenarios  (${c.file})\n`,
      );
    }
    process.stdout.write(
      `selections: full ${selectScenarios(pack, "full").length}, paper ${selectScenarios(pack, "paper").length}\n`,
    );
  });
}
