// `steerbench vectors extract|info`: steering vectors from contrastive pairs, saved as llama.cpp
// control-vector GGUFs.
import { resolve } from "node:path";
import type { Command } from "commander";
import { resolveDataDir } from "../../data/data-dir.js";
import { loadPack } from "../../data/pack.js";
import { parseSelection } from "../../data/selection.js";
import { modelArchitecture, readControlVector, writeControlVector } from "../../gguf/vector-file.js";
import { createProgress } from "../../runner/progress.js";
import { extractionToVector, extractSteeringVectors } from "../../steering/extract.js";
import {
  formatExtraction,
  formatVectorInfo,
  STEERING_FORMATS,
  type SteeringFormat,
} from "../../steering/format.js";
import { splitTrainTest } from "../../steering/math.js";
import { builtinPairs, type ContrastPair, readPairsFile } from "../../steering/pairs.js";
import { parseLayerRange } from "../../steering/sweep-config.js";
import {
  GPU_HELP,
  GPU_LAYERS_HELP,
  type GpuFlags,
  gpuFields,
  parseGpuFlag,
  parseGpuLayers,
} from "../gpu-options.js";
import { dataOption, parseIntOption, parseListOption, parseNumberOption, UsageError } from "../options.js";

interface ExtractFlags {
  model: string;
  pairs: string;
  data?: string;
  selection?: string;
  categories?: string[];
  holdoutCategories?: string[];
  splitBy?: string;
  limit?: number;
  layers?: string;
  method: string;
  holdout: number;
  seed: number;
  lastTokens: number;
  normalize?: boolean;
  contextSize?: number;
  threads?: number;
  gpu?: GpuFlags["gpu"];
  gpuLayers?: number;
  concurrency: number;
  format: string;
  out: string;
  quiet?: boolean;
}

function checkFormat(format: string): SteeringFormat {
  if (!(STEERING_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${STEERING_FORMATS.join(", ")}, got "${format}"`);
  }
  return format as SteeringFormat;
}

function layerList(text: string): number[] {
  let range: [number, number];
  try {
    range = parseLayerRange(text);
  } catch (err) {
    throw new UsageError(`--${(err as Error).message}`);
  }
  return Array.from({ length: range[1] - range[0] + 1 }, (_, i) => range[0] + i);
}

export function registerVectors(program: Command): void {
  const vectors = program
    .command("vectors")
    .description("activation steering vectors: extract them from a model, inspect control-vector files");

  const extract = vectors
    .command("extract")
    .description(
      "extract steering vectors from contrastive prompt pairs and save a llama.cpp control-vector GGUF",
    )
    .requiredOption("--model <file>", "GGUF model file (or hf: reference)")
    .requiredOption("--out <file>", "control-vector GGUF to write")
    .option(
      "--pairs <source>",
      "builtin (each benchmark scenario with the pro_ic vs the anti_ic suffix) or a JSONL file of {positive, negative}",
      "builtin",
    )
    .option("--selection <sel>", "builtin pairs: full (default), paper, or max=N[,seed=S]")
    .option("--categories <list>", "builtin pairs: only these category slugs", parseListOption)
    .option(
      "--holdout-categories <list>",
      "builtin pairs: leave these categories out of extraction and record them, so `sweep` evaluates on them",
      parseListOption,
    )
    .option(
      "--split-by <what>",
      "category: hold out a seeded half of the categories (--seed), as --holdout-categories would",
    )
    .option("--limit <n>", "only the first N pairs", parseIntOption("--limit"))
    .option("--layers <a-b>", "layers to extract (default: every steerable layer, 1..n_layer-1)")
    .option("--method <m>", "mean-diff or pca", "mean-diff")
    .option(
      "--holdout <share>",
      "share of pairs held out to measure separation",
      parseNumberOption("--holdout"),
      0.25,
    )
    .option("--seed <n>", "seed of the train/test split", parseIntOption("--seed"), 0)
    .option(
      "--last-tokens <k>",
      "average the hidden states of the last k prompt tokens",
      parseIntOption("--last-tokens"),
      1,
    )
    .option("--normalize", "store unit vectors (default: the natural scale of the differences)")
    .option(
      "--context-size <n>",
      "context size; longer prompts are cut from the front",
      parseIntOption("--context-size"),
    )
    .option("--threads <n>", "CPU threads", parseIntOption("--threads"))
    .option("--gpu <backend>", GPU_HELP, parseGpuFlag)
    .option("--gpu-layers <n>", GPU_LAYERS_HELP, parseGpuLayers)
    .option(
      "--concurrency <n>",
      "pairs captured at once (their prompts share decode batches)",
      parseIntOption("--concurrency"),
      2,
    )
    .option("--format <fmt>", `output format: ${STEERING_FORMATS.join(", ")}`, "terminal")
    .option("--quiet", "no progress output");
  dataOption(extract).action(async (flags: ExtractFlags) => {
    const format = checkFormat(flags.format);
    if (flags.method !== "mean-diff" && flags.method !== "pca") {
      throw new UsageError(`--method must be mean-diff or pca, got "${flags.method}"`);
    }
    if (!(flags.holdout >= 0 && flags.holdout < 1)) throw new UsageError("--holdout must be in [0, 1)");
    if (flags.lastTokens < 1) throw new UsageError("--last-tokens must be at least 1");
    if (flags.concurrency < 1) throw new UsageError("--concurrency must be at least 1");
    if (flags.splitBy !== undefined && flags.splitBy !== "category") {
      throw new UsageError(`--split-by must be category, got "${flags.splitBy}"`);
    }
    if (flags.splitBy && flags.holdoutCategories) {
      throw new UsageError("give --split-by category or --holdout-categories, not both");
    }
    let held = flags.holdoutCategories;
    if (flags.splitBy && flags.pairs !== "builtin") {
      throw new UsageError("--split-by category needs --pairs builtin (a pairs file has no categories)");
    }
    if (held && flags.pairs !== "builtin") {
      throw new UsageError("--holdout-categories needs --pairs builtin (a pairs file has no categories)");
    }
    let pairs: ContrastPair[];
    if (flags.pairs === "builtin") {
      const pack = await loadPack(resolveDataDir({ flag: flags.data }));
      const known = pack.categories.map((c) => c.slug);
      if (flags.splitBy) {
        // The same seeded shuffle as the pair split; half of the categories (rounded down) are held out.
        const pool = flags.categories ?? known;
        if (pool.length < 2) throw new UsageError("--split-by category needs at least two categories");
        held = splitTrainTest(pool, Math.floor(pool.length / 2) / pool.length, flags.seed).test;
      }
      const unknown = (held ?? []).filter((c) => !known.includes(c));
      if (unknown.length > 0) {
        throw new UsageError(
          `--holdout-categories: unknown ${unknown.join(", ")}; known: ${known.join(", ")}`,
        );
      }
      const overlap = (held ?? []).filter((c) => flags.categories?.includes(c));
      if (overlap.length > 0) {
        throw new UsageError(`--holdout-categories ${overlap.join(", ")} also in --categories`);
      }
      const train = (flags.categories ?? known).filter((c) => !(held ?? []).includes(c));
      if (train.length === 0) throw new UsageError("--holdout-categories leaves no category to extract from");
      pairs = builtinPairs(pack, {
        selection: flags.selection ? parseSelection(flags.selection) : "full",
        ...(flags.categories || held ? { categories: train } : {}),
      });
    } else {
      pairs = readPairsFile(flags.pairs);
    }
    if (flags.limit !== undefined) pairs = pairs.slice(0, flags.limit);
    const { LlamaEngine } = await import("../../llama/engine.js");
    const { resolveModelFile } = await import("../../llama/model-source.js");
    const modelPath = await resolveModelFile(flags.model);
    const engine = await LlamaEngine.load(modelPath, {
      threads: flags.threads,
      contextSize: flags.contextSize,
      ...gpuFields(flags),
      parallel: 2 * flags.concurrency,
    });
    try {
      const progress = createProgress({ label: "extract", quiet: flags.quiet ?? false });
      progress.start(pairs.length, 0);
      const extraction = await extractSteeringVectors(engine, pairs, {
        layers: flags.layers ? layerList(flags.layers) : undefined,
        method: flags.method,
        holdout: flags.holdout,
        seed: flags.seed,
        lastTokens: flags.lastTokens,
        normalize: flags.normalize ?? false,
        concurrency: flags.concurrency,
        onProgress: (done, total) => progress.update({ done, total, errors: 0 }),
      });
      progress.stop();
      const vec = extractionToVector(extraction, {
        modelPath,
        modelHint: modelArchitecture(modelPath),
        nLayer: engine.info.nLayer,
        nEmbd: engine.info.nEmbd,
        pairsSource: flags.pairs === "builtin" ? "builtin" : resolve(flags.pairs),
        ...(held ? { holdoutCategories: held } : {}),
      });
      writeControlVector(flags.out, vec);
      process.stdout.write(formatExtraction(extraction, format));
      if (held && format !== "json") {
        process.stdout.write(
          `held out categories ${held.join(", ")}: \`steerbench sweep --vector ${flags.out}\` evaluates on them by default\n`,
        );
      }
      if (format !== "json") process.stdout.write(`wrote ${resolve(flags.out)}\n`);
    } finally {
      await engine.dispose();
    }
  });

  vectors
    .command("bake")
    .description(
      "turn a steering vector into a weight edit: a new model GGUF with the direction ablated (or added) and no runtime hook",
    )
    .requiredOption("--model <file>", "model GGUF (F32, F16, BF16 or Q8_0 weights)")
    .requiredOption("--vector <file>", "control-vector GGUF")
    .requiredOption(
      "--mode <mode>",
      "ablate (orthogonalise the residual writers) or add (fold s·v into biases)",
    )
    .requiredOption("--out <file>", "edited model GGUF to write")
    .option("--strength <s>", "add: the multiplier of the vector", parseNumberOption("--strength"))
    .option(
      "--layers <a-b|auto>",
      "blocks a-b (0-based) whose residual writers (attn_output, ffn_down) are edited, plus token_embd when a is 0; the same blocks runtime `mode: ablate` with layers [a, b] ablates (ablate default: the embedding and every block; auto: selective-steering rule)",
    )
    .option(
      "--direction-layer <il>",
      "ablate: the layer whose direction is removed (default: best held-out AUC, discriminative layers first, as at run time)",
      parseIntOption("--direction-layer"),
    )
    .option("--format <fmt>", `output format: ${STEERING_FORMATS.join(", ")}`, "terminal")
    .action(
      async (flags: {
        model: string;
        vector: string;
        mode: string;
        out: string;
        strength?: number;
        layers?: string;
        directionLayer?: number;
        format: string;
      }) => {
        const format = checkFormat(flags.format);
        if (flags.mode !== "ablate" && flags.mode !== "add") {
          throw new UsageError(`--mode must be ablate or add, got "${flags.mode}"`);
        }
        if (resolve(flags.out) === resolve(flags.model)) {
          throw new UsageError("--out must differ from --model: bake never edits a model in place");
        }
        let layers: [number, number] | "auto" | undefined;
        if (flags.layers === "auto") layers = "auto";
        else if (flags.layers !== undefined) {
          try {
            layers = parseLayerRange(flags.layers);
          } catch (err) {
            throw new UsageError(`--${(err as Error).message}`);
          }
        }
        const { resolveModelFile } = await import("../../llama/model-source.js");
        const { bakeModel, BakeError } = await import("../../steering/bake.js");
        const modelPath = await resolveModelFile(flags.model);
        const vec = readControlVector(flags.vector);
        let result: ReturnType<typeof bakeModel>;
        try {
          result = bakeModel(modelPath, vec, flags.out, {
            mode: flags.mode,
            ...(flags.strength !== undefined ? { strength: flags.strength } : {}),
            ...(layers !== undefined ? { layers } : {}),
            ...(flags.directionLayer !== undefined ? { directionLayer: flags.directionLayer } : {}),
            vectorPath: resolve(flags.vector),
          });
        } catch (err) {
          if (err instanceof BakeError) throw new UsageError(err.message);
          throw err;
        }
        if (format === "json") {
          process.stdout.write(`${JSON.stringify({ out: resolve(flags.out), ...result }, null, 2)}\n`);
          return;
        }
        if (result.layerReason) process.stdout.write(`--layers auto: ${result.layerReason}\n`);
        const what =
          result.mode === "ablate"
            ? `ablated direction.${result.directionLayer} from ${result.edited.length} tensors: ${result.layers[0] === 0 ? "the token embedding and " : ""}the residual-stream writers of blocks ${result.layers[0]}-${result.layers[1]}`
            : `folded ${result.strength} × the vector into ${result.edited.length} biases of layers ${result.layers[0]}-${result.layers[1]}`;
        if (result.added) {
          process.stdout.write(
            "the output head was tied to the token embedding: the original is kept as output.weight\n",
          );
        }
        process.stdout.write(
          `${what}\nwrote ${resolve(flags.out)} (edit recorded in steerbench.edit.* keys)\n`,
        );
      },
    );

  vectors
    .command("info")
    .description("show a control-vector GGUF: shape, origin, per-layer norm and separation")
    .argument("<file>", "control-vector GGUF")
    .option("--format <fmt>", `output format: ${STEERING_FORMATS.join(", ")}`, "terminal")
    .action((file: string, flags: { format: string }) => {
      const format = checkFormat(flags.format);
      process.stdout.write(formatVectorInfo(resolve(file), readControlVector(file), format));
    });
}
