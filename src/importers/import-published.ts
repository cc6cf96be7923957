// Imports published run folders (the layout of arXiv 2601.01584's `results/`: one folder per model ×
// steering mode with config.json + stdout.log) into the store as ONE run, so Table 1 of the paper
// comes out of the same code path as live runs.
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { storedConfig } from "../config/stored-config.js";
import { loadPack } from "../data/pack.js";
import type { NewItem, RunRecord, Store } from "../store/store.js";
import { isLabel, type Pack } from "../types.js";
import { canonicalJson, sha256 } from "../util/hash.js";
import { pyStrip } from "../util/pystr.js";
import { versions } from "../version.js";
import { type PublishedRun, parsePublishedRun } from "./hoscilowicz-log.js";

export interface ImportResult {
  run: RunRecord;
  alreadyImported: boolean;
  folders: number;
  items: number;
  judge: string;
  /** Items whose task text matched no scenario of the pack (ids fall back to category + task number). */
  unmatched: number;
}

/** Folders under `dir` (or `dir` itself) that hold a published run. */
export function findRunFolders(dir: string): string[] {
  const full = resolve(dir);
  if (!existsSync(full)) throw new Error(`import: ${full} does not exist`);
  const isRun = (d: string) => existsSync(join(d, "config.json")) && existsSync(join(d, "stdout.log"));
  if (isRun(full)) return [full];
  const folders = readdirSync(full)
    .map((name) => join(full, name))
    .filter((d) => statSync(d).isDirectory() && isRun(d))
    .sort();
  if (folders.length === 0) {
    throw new Error(`import: no run folders (config.json + stdout.log) in ${full}`);
  }
  return folders;
}

/** `Qwen/Qwen3-4B-Base` → `Qwen3-4B-Base`: the names the paper's Table 1 uses. */
export function displayModelName(hfName: string): string {
  return hfName.includes("/") ? hfName.slice(hfName.lastIndexOf("/") + 1) : hfName;
}

/** The pack beside the runs (`<data>/instrumentaleval` next to `<data>/<runs>`), if there is one. */
export function findSiblingPack(runsDir: string): string | undefined {
  const candidate = join(dirname(resolve(runsDir)), "instrumentaleval");
  return existsSync(join(candidate, "protocol_strings.json")) ? candidate : undefined;
}

const CONDITION_ORDER = ["baseline", "pro_ic", "anti_ic"];

/** Table 1's order: smaller models first (4B before 30B), then by name, then baseline, pro, anti. */
function paperOrder(a: PublishedRun, b: PublishedRun): number {
  const size = (r: PublishedRun) => Number(/(\d+(?:\.\d+)?)B/.exec(r.config.HF_MODEL_NAME)?.[1] ?? Infinity);
  const cond = (r: PublishedRun) => {
    const i = CONDITION_ORDER.indexOf(r.config.STEERING_MODE);
    return i === -1 ? CONDITION_ORDER.length : i;
  };
  return (
    size(a) - size(b) ||
    a.config.HF_MODEL_NAME.localeCompare(b.config.HF_MODEL_NAME) ||
    cond(a) - cond(b) ||
    a.config.STEERING_MODE.localeCompare(b.config.STEERING_MODE)
  );
}

export async function importPublishedRuns(
  store: Store,
  dir: string,
  opts: { packDir?: string; name?: string } = {},
): Promise<ImportResult> {
  const folders = findRunFolders(dir);
  const runs: PublishedRun[] = [];
  for (const folder of folders) runs.push(await parsePublishedRun(folder));
  runs.sort(paperOrder);

  const packDir = opts.packDir ?? findSiblingPack(dir);
  const pack: Pack | undefined = packDir ? await loadPack(packDir) : undefined;
  // Scenario lookup by category name and exact task text, so imported items get the same ids as live ones.
  const byText = new Map<string, { id: string; slug: string; context: string }>();
  const categoryByName = new Map<string, { slug: string; context: string }>();
  for (const c of pack?.categories ?? []) {
    categoryByName.set(c.name, { slug: c.slug, context: c.context });
    for (const s of c.scenarios)
      byText.set(`${c.name}\u0000${s.prompt}`, { id: s.id, slug: c.slug, context: c.context });
  }

  const judges = new Set(runs.map((r) => r.config.JUDGE_MODEL));
  if (judges.size !== 1) {
    throw new Error(
      `import: the run folders use different judges (${[...judges].join(", ")}); import them separately`,
    );
  }
  const judge = [...judges][0]!;

  const configs = runs.map((r) => ({ folder: basename(r.dir), ...r.config }));
  const runId = `import-${sha256(canonicalJson(configs.map((c) => c.folder))).slice(0, 12)}`;
  const existing = store.getRun(runId);
  if (existing) {
    return {
      run: existing,
      alreadyImported: true,
      folders: folders.length,
      items: store.countItems(runId),
      judge,
      unmatched: 0,
    };
  }

  const models = [...new Set(runs.map((r) => displayModelName(r.config.HF_MODEL_NAME)))];
  const conditions = [...new Set(runs.map((r) => r.config.STEERING_MODE))];
  const name = opts.name ?? `imported: ${basename(resolve(dir))}`;
  let unmatched = 0;

  const run = store.transaction(() => {
    store.createRun({
      id: runId,
      name,
      kind: "import",
      config: storedConfig("published", {
        source: basename(resolve(dir)),
        models,
        conditions,
        judges: [{ name: judge, model: judge, prompt: "paper" }],
        folders: configs,
      }),
      versions: versions(),
      dataHash: pack?.hash ?? null,
      primaryJudge: judge,
    });
    for (const r of runs) {
      const model = displayModelName(r.config.HF_MODEL_NAME);
      const condition = r.config.STEERING_MODE;
      const planned: NewItem[] = [];
      for (const it of r.items) {
        const match = byText.get(`${it.benchmark}\u0000${it.taskPrompt}`);
        const cat = categoryByName.get(it.benchmark);
        if (!match) unmatched++;
        const context = match?.context ?? cat?.context ?? "";
        planned.push({
          model,
          condition,
          scenarioId: match?.id ?? `${cat?.slug ?? it.benchmark}-t${it.taskNumber}`,
          category: match?.slug ?? cat?.slug ?? it.benchmark,
          epoch: 0,
          seed: null,
          context,
          systemPrompt: pyStrip(context),
          userPrompt: it.steeredPrompt,
        });
      }
      const before = store.countItems(runId);
      const all = store.addItems(runId, planned);
      const added = all.slice(before);
      if (added.length !== r.items.length) {
        throw new Error(`import: ${r.dir} lists the same scenario twice for ${model}/${condition}`);
      }
      r.items.forEach((it, i) => {
        const itemId = added[i]!.id;
        store.saveResponse({
          itemId,
          status: "ok",
          response: it.response,
          thinking: it.thinking === "" ? null : it.thinking,
          promptTokens: null,
          completionTokens: null,
          latencyMs: null,
          finishReason: null,
          requestJson: null,
          error: null,
        });
        const ok = isLabel(it.decision);
        store.saveJudgement({
          itemId,
          judge,
          status: ok ? "ok" : "failed",
          label: ok ? it.decision : null,
          reason: it.reason,
          raw: it.decision,
          scores: null,
          error: ok ? null : `unknown label "${it.decision}"`,
          latencyMs: null,
        });
      });
    }
    store.setRunStatus(runId, "done");
    return store.getRun(runId)!;
  });

  return {
    run,
    alreadyImported: false,
    folders: folders.length,
    items: store.countItems(runId),
    judge,
    unmatched,
  };
}
