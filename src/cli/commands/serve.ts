import { resolve } from "node:path";
import type { Command } from "commander";
import { startServer } from "../../server/openai-server.js";
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
    .option(
      "--vectors <dir>",
      "directory of control-vector GGUFs that requests may name in `steering.vector`",
    )
    .option("--threads <n>", "CPU threads", parseIntOption("--threads"))
    .option("--context-size <n>", "context size in tokens", parseIntOption("--context-size"))
    .option("--gpu <backend>", GPU_HELP, parseGpuFlag)
    .option("--gpu-layers <n>", GPU_LAYERS_HELP, parseGpuLayers)
    .option("--max-queue <n>", "queued requests before 429", parseIntOption("--max-queue"), 64)
    .option("--quiet", "no request log")
    .action(
      async (opts: {
        model: string;
        host: string;
        port: number;
        vectors?: string;
        threads?: number;
        contextSize?: number;
        gpu?: GpuFlags["gpu"];
        gpuLayers?: number;
        maxQueue: number;
        quiet?: boolean;
      }) => {
        const server = await startServer({
          model: opts.model,
          host: opts.host,
          port: opts.port,
          vectorsDir: opts.vectors ? resolve(opts.vectors) : undefined,
          threads: opts.threads,
          contextSize: opts.contextSize,
          ...gpuFields(opts),
          maxQueue: opts.maxQueue,
          log: opts.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(`steerbench serve: ${server.url} (model ${opts.model}); Ctrl-C to stop\n`);
        await new Promise<void>((done) => {
          const stop = () => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            server.close().then(done, done);
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
      },
    );
}
