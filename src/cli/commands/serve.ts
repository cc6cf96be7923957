import { resolve } from "node:path";
import type { Command } from "commander";
import { DEFAULT_MAX_PROMPT_BYTES, startServer } from "../../server/openai-server.js";
import { DEFAULT_MAX_VECTOR_BYTES } from "../../server/vector-path.js";
import {
  GPU_HELP,
  GPU_LAYERS_HELP,
  type GpuFlags,
  gpuFields,
  parseGpuFlag,
  parseGpuLayers,
} from "../gpu-options.js";
import { parseIntOption } from "../options.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve a GGUF model as an OpenAI-compatible API with per-request activation steering")
    .requiredOption("--model <file>", "GGUF model file (or hf:OWNER/REPO/FILE.gguf)")
    .option("--host <host>", "address to bind (keep 127.0.0.1 unless you mean to expose it)", "127.0.0.1")
    .option("--port <n>", "port (0 = any free port)", parseIntOption("--port"), 8080)
    .option("--parallel <n>", "generations in flight at once (slots)", parseIntOption("--parallel"), 1)
    .option("--max-queue <n>", "generations waiting for a slot before 429", parseIntOption("--max-queue"), 64)
    .option(
      "--vectors <dir>",
      "directory of control-vector GGUFs that requests may name in `steering.vector`",
    )
    .option("--allow-vector-paths", "also accept absolute paths in `steering.vector` (any file on disk)")
    .option(
      "--max-vector-bytes <n>",
      "largest control-vector file a request may use",
      parseIntOption("--max-vector-bytes"),
      DEFAULT_MAX_VECTOR_BYTES,
    )
    .option(
      "--max-prompt-bytes <n>",
      "largest prompt text (413 above; also capped by what the context can hold)",
      parseIntOption("--max-prompt-bytes"),
      DEFAULT_MAX_PROMPT_BYTES,
    )
    .option("--threads <n>", "CPU threads", parseIntOption("--threads"))
    .option("--context-size <n>", "context size in tokens", parseIntOption("--context-size"))
    .option(
      "--chat-template <t>",
      "the GGUF's own template by default; builtin:NAME (llama.cpp's), none, or Jinja text",
    )
    .option("--gpu <backend>", GPU_HELP, parseGpuFlag)
    .option("--gpu-layers <n>", GPU_LAYERS_HELP, parseGpuLayers)
    .option("--quiet", "no request log")
    .action(
      async (opts: {
        model: string;
        host: string;
        port: number;
        parallel: number;
        maxQueue: number;
        vectors?: string;
        allowVectorPaths?: boolean;
        maxVectorBytes: number;
        maxPromptBytes: number;
        threads?: number;
        contextSize?: number;
        chatTemplate?: string;
        gpu?: GpuFlags["gpu"];
        gpuLayers?: number;
        quiet?: boolean;
      }) => {
        if (opts.parallel < 1) throw new Error(`--parallel must be at least 1, got ${opts.parallel}`);
        if (opts.maxQueue < 0) throw new Error(`--max-queue must be 0 or more, got ${opts.maxQueue}`);
        const server = await startServer({
          model: opts.model,
          host: opts.host,
          port: opts.port,
          parallel: opts.parallel,
          maxQueue: opts.maxQueue,
          vectorsDir: opts.vectors ? resolve(opts.vectors) : undefined,
          allowVectorPaths: opts.allowVectorPaths ?? false,
          maxVectorBytes: opts.maxVectorBytes,
          maxPromptBytes: opts.maxPromptBytes,
          threads: opts.threads,
          contextSize: opts.contextSize,
          ...(opts.chatTemplate !== undefined ? { chatTemplate: opts.chatTemplate } : {}),
          ...gpuFields(opts),
          log: opts.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(
          `steerbench serve: ${server.url} (model ${opts.model}, ${opts.parallel} slot${opts.parallel === 1 ? "" : "s"}); Ctrl-C to stop\n`,
        );
        // First SIGINT/SIGTERM: abort everything in flight, refuse the queue, free the model, exit 0.
        // A second one exits at once.
        await new Promise<void>((done) => {
          let signals = 0;
          const stop = (sig: NodeJS.Signals) => {
            signals++;
            if (signals > 1) {
              process.stderr.write(`${sig} again: exiting now\n`);
              process.exit(130);
            }
            process.stderr.write(`${sig}: stopping (aborting the generations in flight)\n`);
            server.close().then(done, done);
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
      },
    );
}
