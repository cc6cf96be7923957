// `steerbench vectors extract|info`: steering vectors from contrastive pairs, saved as llama.cpp
// control-vector GGUFs.
import { resolve } from "node:path";
import type { Command } from "commander";
import { resolveDataDir } from "../../data/data-dir.js";
import { loadPack } from "../../data/pack.js";
import { parseSelection } from "../../data/selection.js";
import { createProgress } from "../../engine/progress.js";
import { extractionToVector, extractSteeringVectors } from "../../steering/extract.js";
import {
  formatExtraction,
  formatVectorInfo,
  STEERING_FORMATS,
  type SteeringFormat,
} from "../../steering/format.js";
import { builtinPairs, readPairsFile } from "../../steering/pairs.js";
import { parseLayerRange } from "../../steering/sweep-config.js";
import { modelArchitecture, readControlVector, writeControlVector } from "../../steering/vector-file.js";
import { dataOption, parseIntOption, parseListOption, parseNumberOption, UsageError } from "../options.js";

interface ExtractFlags {
  model: string;
  pairs: string;
  data?: string;
  selection?: string;
  categories?: string[];
  limit?: number;
  layers?: string;
  method: string;
  holdout: number;
  seed: number;
  lastTokens: number;
  normalize?: boolean;
  contextSize?: number;
  threads?: number;
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
    let pairs =
      flags.pairs === "builtin"
        ? builtinPairs(await loadPack(resolveDataDir({ flag: flags.data })), {
            selection: flags.selection ? parseSelection(flags.selection) : "full",
            ...(flags.categories ? { categories: flags.categories } : {}),
          })
        : readPairsFile(flags.pairs);
    if (flags.limit !== undefined) pairs = pairs.slice(0, flags.limit);
    const { LlamaEngine } = await import("../../llama/engine.js");
    const { resolveModelFile } = await import("../../llama/model-source.js");
    const modelPath = await resolveModelFile(flags.model);
    const engine = await LlamaEngine.load(modelPath, {
      threads: flags.threads,
      contextSize: flags.contextSize,
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
      });
      writeControlVector(flags.out, vec);
      process.stdout.write(formatExtraction(extraction, format));
      if (format !== "json") process.stdout.write(`wrote ${resolve(flags.out)}\n`);
    } finally {
      await engine.dispose();
    }
  });

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
