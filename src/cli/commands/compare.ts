// `steerbench compare`: prompt steering (pro_ic − anti_ic) vs activation steering (strongest + vs −) for each
// model, with intervals and the perplexity cost of each.
import { existsSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import { modelLabel } from "../../config/run-config.js";
import {
  conditionsOf,
  modelsOf,
  readStoredConfig,
  type StoredConfig,
  type StoredModel,
  sweepOf,
} from "../../config/stored-config.js";
import { resolveDataDir } from "../../data/data-dir.js";
import { loadPack } from "../../data/pack.js";
import { parseGpuRequest } from "../../llama/backend.js";
import type { Outcome } from "../../metrics/table1.js";
import { type AttackModel, measureMissingCosts, storedCosts } from "../../steering/attack-costs.js";
import { type AttackCost, buildAttackTables } from "../../steering/attacks.js";
import { attackReportHtml, formatAttackTables } from "../../steering/attacks-format.js";
import { bakedEdit } from "../../steering/bake.js";
import { buildSteeringComparison, formatSteeringComparison } from "../../steering/compare.js";
import { STEERING_FORMATS, type SteeringFormat } from "../../steering/format.js";
import type { PerplexityResult } from "../../steering/perplexity.js";
import type { SideEffectResult } from "../../steering/side-effects.js";
import { measurePerplexities, PASSAGE_SHA256 } from "../../steering/sweep.js";
import { controlConditionNames } from "../../steering/sweep-config.js";
import { Store } from "../../store/store.js";
import type { Condition } from "../../types.js";
import { gpuFields } from "../gpu-options.js";
import { dataOption, storeOption, UsageError } from "../options.js";

interface CompareFlags {
  store: string;
  data?: string;
  run?: string[];
  judge?: string;
  format: string;
  perplexity: boolean;
  attacks?: boolean;
  html?: string;
}

/** A stored model entry as a local GGUF to load, if it runs in-process (provider llama). */
function localModel(m: StoredModel | undefined, key: string): AttackModel | undefined {
  if (m === undefined || m.provider !== "llama") return undefined;
  return {
    label: modelLabel(m),
    path: m.model,
    ...(m.threads !== undefined ? { threads: m.threads } : {}),
    ...(m.contextSize !== undefined ? { contextSize: m.contextSize } : {}),
    // The run's backend choice, so a perplexity pass runs where the run did.
    ...(m.gpu !== undefined ? { gpu: parseGpuRequest(m.gpu, key) } : {}),
    ...(m.gpuLayers !== undefined ? { gpuLayers: m.gpuLayers } : {}),
  };
}

export function registerCompare(program: Command): void {
  const cmd = program
    .command("compare")
    .description("prompt vs activation steering for each model: gaps with CIs and their perplexity cost")
    .option(
      "--run <id>",
      "run id, prefix or name (repeatable: e.g. a prompt run and a sweep run; default: the newest run)",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("--judge <name>", "whose labels to use (default: each run's first judge)")
    .option("--format <fmt>", `output format: ${STEERING_FORMATS.join(", ")}`, "terminal")
    .option("--no-perplexity", "do not compute missing perplexities and KL (they need the local model)")
    .option(
      "--attacks",
      "one row per attack class (prompt suffix, addition, rotation, ablation, baked edit) and the builder's side",
    )
    .option(
      "--html <file>",
      "with --attacks: also write the table and its cost–effect scatter as an HTML page",
    );
  storeOption(dataOption(cmd)).action(async (flags: CompareFlags) => {
    if (!(STEERING_FORMATS as readonly string[]).includes(flags.format)) {
      throw new UsageError(`--format must be one of ${STEERING_FORMATS.join(", ")}, got "${flags.format}"`);
    }
    if (flags.html && !flags.attacks) throw new UsageError("--html needs --attacks");
    if (flags.attacks) return compareAttacks(flags);
    const store = Store.openExisting(flags.store);
    try {
      const refs = flags.run ?? [undefined];
      const outcomes: Outcome[] = [];
      const conditions: Condition[] = [];
      const perplexity: Record<string, PerplexityResult> = {};
      let referencePerplexity: number | undefined;
      const controls = new Set<string>();
      const sideEffects: Record<string, SideEffectResult> = {};
      const taken = new Set<string>();
      const judges: string[] = [];
      for (const ref of refs) {
        const run = store.resolveRun(ref);
        const runJudges = store.judges(run.id);
        const judge = flags.judge ?? runJudges[0];
        if (judge === undefined) throw new UsageError(`run ${run.id} has no judgements yet`);
        if (!runJudges.includes(judge)) {
          throw new UsageError(`run ${run.id} has no judge "${judge}"; judges: ${runJudges.join(", ")}`);
        }
        judges.push(judge);
        // A (model, condition) is taken from the first run that has it, so runs never double-count items.
        const fresh = store
          .outcomes(run.id, judge)
          .filter((o) => !taken.has(`${o.model}\u0000${o.condition}`));
        for (const o of fresh) outcomes.push(o);
        for (const o of fresh) taken.add(`${o.model}\u0000${o.condition}`);
        const sc: StoredConfig = readStoredConfig(run);
        const runConditions = conditionsOf(sc).filter((c) => !conditions.some((x) => x.name === c.name));
        conditions.push(...runConditions);

        const record = sweepOf(sc);
        for (const name of controlConditionNames(record)) controls.add(name);
        for (const [name, se] of Object.entries(record?.sideEffects?.byCondition ?? {})) {
          sideEffects[name] ??= se;
        }
        let stored = record?.perplexity;
        if (stored?.passageSha256 !== PASSAGE_SHA256) stored = undefined;
        const model = localModel(modelsOf(sc)[0], "models[0].gpu");
        if (!stored && flags.perplexity && model) {
          stored = await computePerplexities(model, runConditions, flags.data);
        }
        if (stored) {
          for (const [name, p] of Object.entries(stored.byCondition)) perplexity[name] ??= p;
          referencePerplexity ??= stored.reference.perplexity;
        }
      }
      const comparisons = buildSteeringComparison({
        outcomes,
        judge: [...new Set(judges)].join(", "),
        conditions,
        perplexity,
        referencePerplexity,
        controls,
        sideEffects,
      });
      process.stdout.write(formatSteeringComparison(comparisons, flags.format as SteeringFormat));
    } finally {
      store.close();
    }
  });
}

async function computePerplexities(model: AttackModel, conditions: Condition[], data: string | undefined) {
  const pack = await loadPack(resolveDataDir({ flag: data }));
  const { LlamaEngine } = await import("../../llama/engine.js");
  const { resolveModelFile } = await import("../../llama/model-source.js");
  const engine = await LlamaEngine.load(await resolveModelFile(model.path), {
    threads: model.threads,
    contextSize: model.contextSize,
    ...gpuFields(model),
  });
  try {
    return await measurePerplexities(engine, conditions, pack.strings);
  } finally {
    await engine.dispose();
  }
}

/** `compare --attacks`: the attack-surface table over the given runs (default: every run in the store). */
async function compareAttacks(flags: CompareFlags): Promise<void> {
  const store = Store.openExisting(flags.store);
  try {
    const runs = flags.run ? flags.run.map((r) => store.resolveRun(r)) : store.listRuns();
    if (runs.length === 0) throw new UsageError(`no runs in ${flags.store}`);
    const outcomes: Outcome[] = [];
    const conditions: Condition[] = [];
    const controls = new Set<string>();
    const costs = new Map<string, AttackCost>();
    const models = new Map<string, AttackModel>();
    const taken = new Set<string>();
    const judges: string[] = [];
    for (const run of runs) {
      const runJudges = store.judges(run.id);
      const judge = flags.judge ?? runJudges[0];
      if (judge === undefined) continue;
      if (!runJudges.includes(judge)) {
        throw new UsageError(`run ${run.id} has no judge "${judge}"; judges: ${runJudges.join(", ")}`);
      }
      judges.push(judge);
      const fresh = store.outcomes(run.id, judge).filter((o) => !taken.has(`${o.model}\u0000${o.condition}`));
      for (const o of fresh) {
        outcomes.push(o);
        taken.add(`${o.model}\u0000${o.condition}`);
      }
      const sc = readStoredConfig(run);
      for (const c of conditionsOf(sc)) {
        const same = conditions.find((x) => x.name === c.name);
        if (!same) conditions.push(c);
        else if (
          JSON.stringify(same.activation) !== JSON.stringify(c.activation) ||
          JSON.stringify(same.prompt) !== JSON.stringify(c.prompt)
        ) {
          throw new UsageError(
            `condition "${c.name}" means different things in different runs (run ${run.id}); give --run to pick runs`,
          );
        }
      }
      const record = sweepOf(sc);
      for (const name of controlConditionNames(record)) controls.add(name);
      const locals = modelsOf(sc).flatMap((m) => localModel(m, "models[].gpu") ?? []);
      for (const m of locals) if (!models.has(m.label)) models.set(m.label, m);
      if (locals[0]) storedCosts(locals[0].label, record, costs);
    }
    if (judges.length === 0) throw new UsageError("no judged runs to compare");
    const baked = new Map<string, Record<string, string | number>>();
    const bakedFrom = new Map<string, string>();
    for (const m of models.values()) {
      if (!existsSync(m.path)) continue;
      const edit = bakedEdit(m.path);
      if (!edit) continue;
      baked.set(m.label, edit);
      // The original: the local model of these runs whose file name the edit records.
      const source = [...models.values()].find((o) => o !== m && basename(o.path) === edit.source_model);
      if (source) bakedFrom.set(m.label, source.label);
    }
    const input = {
      outcomes,
      conditions,
      judge: [...new Set(judges)].join(", "),
      baked,
      bakedFrom,
      controls,
      costs,
    };
    let tables = buildAttackTables(input);
    if (tables.length === 0) {
      throw new UsageError(
        "no model with an unsteered reference (a baseline or strength-0 condition) in these runs",
      );
    }
    const notes: string[] = [];
    if (flags.perplexity) {
      const pack = await loadPack(resolveDataDir({ flag: flags.data }));
      const { LlamaEngine } = await import("../../llama/engine.js");
      const load = (m: AttackModel) =>
        LlamaEngine.load(m.path, {
          threads: m.threads ?? 1,
          contextSize: m.contextSize,
          ...gpuFields(m),
        });
      notes.push(...(await measureMissingCosts(tables, conditions, models, pack.strings, costs, load)));
      tables = buildAttackTables(input);
    }
    const format = flags.format as SteeringFormat;
    process.stdout.write(formatAttackTables(tables, format));
    for (const n of notes) process.stderr.write(`${n}\n`);
    if (flags.html) {
      writeFileSync(flags.html, attackReportHtml(tables));
      if (format !== "json") process.stdout.write(`wrote ${resolve(flags.html)}\n`);
    }
  } finally {
    store.close();
  }
}
