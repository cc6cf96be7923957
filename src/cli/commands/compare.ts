// `steerbench compare`: prompt steering (pro_ic − anti_ic) vs activation steering (strongest + vs −) for each
// model, with intervals and the perplexity cost of each.
import type { Command } from "commander";
import { resolveDataDir } from "../../data/data-dir.js";
import { loadPack } from "../../data/pack.js";
import { parseGpuRequest } from "../../llama/backend.js";
import type { Outcome } from "../../metrics/table1.js";
import {
  buildSteeringComparison,
  formatSteeringComparison,
  storedConditions,
} from "../../steering/compare.js";
import { STEERING_FORMATS, type SteeringFormat } from "../../steering/format.js";
import type { PerplexityResult } from "../../steering/perplexity.js";
import { measurePerplexities, PASSAGE_SHA256, storedSweep } from "../../steering/sweep.js";
import { Store } from "../../store/store.js";
import type { Condition } from "../../types.js";
import { type GpuFlags, gpuFields } from "../gpu-options.js";
import { dataOption, storeOption, UsageError } from "../options.js";

interface CompareFlags {
  store: string;
  data?: string;
  run?: string[];
  judge?: string;
  format: string;
  perplexity: boolean;
}

/** The local GGUF of a stored run config's first model, if it is an in-process one. */
type LocalModel = { model: string; threads?: number; contextSize?: number } & GpuFlags;

function localModel(config: unknown): LocalModel | undefined {
  const models = (config as { models?: unknown } | null)?.models;
  if (!Array.isArray(models) || models.length === 0) return undefined;
  const m = models[0] as Record<string, unknown>;
  if (m.provider !== "llama" || typeof m.model !== "string") return undefined;
  return {
    model: m.model,
    ...(typeof m.threads === "number" ? { threads: m.threads } : {}),
    ...(typeof m.contextSize === "number" ? { contextSize: m.contextSize } : {}),
    // The run's backend choice, so the perplexity pass runs where the run did.
    ...(m.gpu !== undefined ? { gpu: parseGpuRequest(m.gpu, "models[0].gpu") } : {}),
    ...(typeof m.gpuLayers === "number" ? { gpuLayers: m.gpuLayers } : {}),
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
    .option("--no-perplexity", "do not compute missing perplexities (they need the local model)");
  storeOption(dataOption(cmd)).action(async (flags: CompareFlags) => {
    if (!(STEERING_FORMATS as readonly string[]).includes(flags.format)) {
      throw new UsageError(`--format must be one of ${STEERING_FORMATS.join(", ")}, got "${flags.format}"`);
    }
    const store = Store.openExisting(flags.store);
    try {
      const refs = flags.run ?? [undefined];
      const outcomes: Outcome[] = [];
      const conditions: Condition[] = [];
      const perplexity: Record<string, PerplexityResult> = {};
      let referencePerplexity: number | undefined;
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
        const runConditions = storedConditions(run.config).filter(
          (c) => !conditions.some((x) => x.name === c.name),
        );
        conditions.push(...runConditions);

        let stored = storedSweep(run.config)?.perplexity;
        if (stored?.passageSha256 !== PASSAGE_SHA256) stored = undefined;
        const model = localModel(run.config);
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
      });
      process.stdout.write(formatSteeringComparison(comparisons, flags.format as SteeringFormat));
    } finally {
      store.close();
    }
  });
}

async function computePerplexities(model: LocalModel, conditions: Condition[], data: string | undefined) {
  const pack = await loadPack(resolveDataDir({ flag: data }));
  const { LlamaEngine } = await import("../../llama/engine.js");
  const { resolveModelFile } = await import("../../llama/model-source.js");
  const engine = await LlamaEngine.load(await resolveModelFile(model.model), {
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
