// --gpu / --gpu-layers, shared by the verbs that load a local GGUF model (serve, sweep, vectors extract, run,
// doctor), so they name, parse and document them the same way.
import type { Command } from "commander";
import { type GpuRequest, parseGpuRequest } from "../llama/backend.js";
import { parseIntOption, UsageError } from "./options.js";

export interface GpuFlags {
  gpu?: GpuRequest;
  gpuLayers?: number;
}

/** Commander parser for --gpu. */
export function parseGpuFlag(v: string): GpuRequest {
  try {
    return parseGpuRequest(v, "--gpu");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Commander parser for --gpu-layers. */
export function parseGpuLayers(v: string): number {
  const n = parseIntOption("--gpu-layers")(v);
  if (n < 0) throw new UsageError(`--gpu-layers must be 0 or more, got ${n}`);
  return n;
}

export const GPU_HELP =
  "llama.cpp backend: auto (default: CUDA > Vulkan/Metal > CPU, whichever is installed and has a device), cuda, vulkan, metal, or false (CPU only)";
export const GPU_LAYERS_HELP = "layers to offload to the GPU (default: all)";

export function gpuOptions(cmd: Command): Command {
  return cmd
    .option("--gpu <backend>", GPU_HELP, parseGpuFlag)
    .option("--gpu-layers <n>", GPU_LAYERS_HELP, parseGpuLayers);
}

/** The flags as model-config / engine fields (absent flags stay absent, so config values are kept). */
export function gpuFields(f: GpuFlags): GpuFlags {
  return {
    ...(f.gpu !== undefined ? { gpu: f.gpu } : {}),
    ...(f.gpuLayers !== undefined ? { gpuLayers: f.gpuLayers } : {}),
  };
}
