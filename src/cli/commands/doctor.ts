// `steerbench doctor`: what this machine can run. Node, platform, the llama.cpp builds found and the one
// chosen, its devices with free memory, threads, chromium; with --model, the GGUF's shape, chat template and
// a 32-token generation speed. Exit code 1 when the engine cannot load (or the model cannot), so scripts can
// gate on it; the report is printed either way.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { GpuRequest, ProbedDevice } from "../../llama/backend.js";
import { type BackendReport, diagnoseBackend } from "../../llama/diagnose.js";
import { STEERBENCH_VERSION } from "../../version.js";
import { GPU_HELP, GPU_LAYERS_HELP, parseGpuFlag, parseGpuLayers } from "../gpu-options.js";
import { parseIntOption, UsageError } from "../options.js";

/** Tokens generated for the speed line. */
export const SPEED_TOKENS = 32;

export interface ModelReport {
  path: string;
  architecture: string;
  description: string;
  params: number;
  layers: number;
  embedding: number;
  vocab: number;
  contextTrain: number;
  chatTemplate: { source: "none" | "model" | "option"; example: string };
  backend: string;
  gpuLayers: number;
  threads: number;
  generation: {
    prompt: string;
    tokens: number;
    finishReason: string;
    ms: number;
    tokensPerSecond: number;
    promptTokensPerSecond: number;
  };
}

export interface DoctorReport {
  steerbench: string;
  node: { version: string; modules: string };
  platform: { os: string; arch: string };
  threads: { available: number; model?: number };
  llama: BackendReport;
  chromium: { path: string; found: boolean };
  model?: ModelReport;
  modelError?: string;
}

// Same rule as test/browser/chromium.ts (which src cannot import).
function chromiumPath(): string {
  return process.env.STEERBENCH_CHROMIUM ?? "/usr/bin/chromium";
}

async function diagnoseModel(
  path: string,
  o: { gpu: GpuRequest; gpuLayers?: number; threads?: number },
): Promise<ModelReport> {
  const { LlamaEngine } = await import("../../llama/engine.js");
  const { defaultThreads } = await import("../../providers/llama-provider.js");
  const { modelArchitecture } = await import("../../gguf/vector-file.js");
  const architecture = modelArchitecture(path);
  const engine = await LlamaEngine.load(path, {
    threads: o.threads ?? defaultThreads(path),
    gpu: o.gpu,
    ...(o.gpuLayers !== undefined ? { gpuLayers: o.gpuLayers } : {}),
  });
  try {
    const prompt = "Once upon a time";
    // The first decode allocates compute buffers (and on a GPU compiles kernels): warm up, then measure.
    await engine.generate({ prompt, maxTokens: 4, temperature: 0 });
    const r = await engine.generate({ prompt, maxTokens: SPEED_TOKENS, temperature: 0 });
    const i = engine.info;
    return {
      path,
      architecture,
      description: i.description,
      params: i.nParams,
      layers: i.nLayer,
      embedding: i.nEmbd,
      vocab: i.nVocab,
      contextTrain: i.nCtxTrain,
      chatTemplate: {
        source: i.chatTemplate,
        example: engine.applyChatTemplate([{ role: "user", content: "Hi" }]),
      },
      backend: i.backend,
      gpuLayers: i.gpuLayers,
      threads: i.threads,
      generation: {
        prompt,
        tokens: r.completionTokens,
        finishReason: r.finishReason,
        ms: r.timings.generationMs,
        tokensPerSecond: r.timings.generationTokensPerSecond,
        promptTokensPerSecond: r.timings.promptTokensPerSecond,
      },
    };
  } finally {
    await engine.dispose();
  }
}

export async function runDoctor(o: {
  model?: string;
  gpu?: GpuRequest;
  gpuLayers?: number;
  threads?: number;
}): Promise<DoctorReport> {
  const gpu = o.gpu ?? "auto";
  const llama = diagnoseBackend(gpu);
  const report: DoctorReport = {
    steerbench: STEERBENCH_VERSION,
    node: { version: process.version, modules: process.versions.modules },
    platform: { os: process.platform, arch: process.arch },
    threads: { available: availableParallelism() },
    llama,
    chromium: { path: chromiumPath(), found: existsSync(chromiumPath()) },
  };
  if (o.model !== undefined) {
    const { resolveModelFile } = await import("../../llama/model-source.js");
    try {
      const path = await resolveModelFile(o.model);
      const { defaultThreads } = await import("../../providers/llama-provider.js");
      report.threads.model = o.threads ?? defaultThreads(path);
      if (llama.error === undefined) report.model = await diagnoseModel(path, { ...o, gpu });
    } catch (err) {
      report.modelError = (err as Error).message;
    }
  }
  return report;
}

// Model-supplied text (descriptions, templates) reaches the terminal: escape control and bidi characters.
function printable(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const hidden =
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x200e ||
      c === 0x200f ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069);
    out += hidden ? `\\u${c.toString(16).padStart(4, "0")}` : ch;
  }
  return out;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function deviceLine(d: ProbedDevice): string {
  return `${d.name} (${d.type}) ${printable(d.description)}: ${gib(d.freeBytes)} free of ${gib(d.totalBytes)}`;
}

export function formatDoctor(r: DoctorReport): string {
  const L: string[] = [];
  const l = r.llama;
  L.push(`steerbench ${r.steerbench}`);
  L.push(`node        ${r.node.version} (modules ABI ${r.node.modules})`);
  L.push(`platform    ${l.platform}, C ABI ${l.abi}`);
  L.push(
    `layouts     ${l.layouts.problems.length === 0 ? "ok" : `MISMATCH: ${l.layouts.problems.join("; ")}`} (verified for ${l.layouts.verifiedFor.join(", ")})`,
  );
  L.push("llama.cpp packages (in order of preference):");
  for (const p of l.packages) {
    const state =
      p.state === "ok"
        ? `ok ${p.version} at ${p.root}`
        : p.state === "empty"
          ? `empty stand-in at ${p.root} (install: ${p.install})`
          : p.state === "missing"
            ? `not installed (install: ${p.install})`
            : (p.problem ?? p.state);
    L.push(`  ${p.name.padEnd(34)} ${p.backend.padEnd(6)} wants ${p.wanted}: ${state}`);
  }
  L.push(`  GPU builds go in ${l.prefix} (STEERBENCH_LLAMA_PREFIX), searched before node_modules`);
  L.push(
    `backend     asked ${l.requested}: ${l.chosen ? `${l.chosen.backend} (${l.chosen.package} ${l.chosen.version}, llama.cpp ${l.chosen.llamaCpp})` : "NONE"}`,
  );
  for (const n of l.notes) L.push(`            note: ${n}`);
  if (l.error) L.push(`            ERROR: ${l.error}`);
  L.push(`devices     ${l.devices.length === 0 ? "none" : ""}`);
  for (const d of l.devices) L.push(`  ${deviceLine(d)}`);
  L.push(
    `threads     ${r.threads.available} available${r.threads.model !== undefined ? `; ${r.threads.model} for this model` : ""}`,
  );
  L.push(
    `chromium    ${r.chromium.found ? "found" : "NOT FOUND"} at ${r.chromium.path} (browser tests; STEERBENCH_CHROMIUM)`,
  );
  if (r.modelError) L.push(`model       ERROR: ${r.modelError}`);
  const m = r.model;
  if (m) {
    L.push(`model       ${m.path}`);
    L.push(
      `  architecture  ${printable(m.architecture)} (${printable(m.description)}, ${m.params} parameters)`,
    );
    L.push(
      `  layers        ${m.layers}, embedding ${m.embedding}, vocabulary ${m.vocab}, trained context ${m.contextTrain}`,
    );
    L.push(
      `  chat template ${m.chatTemplate.source}; "Hi" renders as ${printable(JSON.stringify(m.chatTemplate.example))}`,
    );
    L.push(
      `  offload       ${m.backend} build, gpuLayers ${m.gpuLayers < 0 ? "all" : m.gpuLayers}, ${m.threads} threads`,
    );
    const g = m.generation;
    L.push(
      `  generation    ${g.tokens} tokens in ${g.ms.toFixed(1)} ms = ${g.tokensPerSecond.toFixed(1)} tokens/s (greedy, after a warm-up; ${g.finishReason}); prompt ${g.promptTokensPerSecond.toFixed(0)} tokens/s`,
    );
  }
  return `${L.join("\n")}\n`;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description(
      "what this machine can run: llama.cpp builds and devices, threads, chromium; --model: its speed",
    )
    .option("--model <file>", "also load this GGUF (or hf: reference): shape, chat template, 32-token speed")
    .option("--gpu <backend>", GPU_HELP, parseGpuFlag)
    .option("--gpu-layers <n>", GPU_LAYERS_HELP, parseGpuLayers)
    .option(
      "--threads <n>",
      "CPU threads for the speed test (default: as `run` would use)",
      parseIntOption("--threads"),
    )
    .option("--format <fmt>", "terminal or json", "terminal")
    .action(
      async (flags: {
        model?: string;
        gpu?: GpuRequest;
        gpuLayers?: number;
        threads?: number;
        format: string;
      }) => {
        if (flags.format !== "terminal" && flags.format !== "json") {
          throw new UsageError(`--format must be terminal or json, got "${flags.format}"`);
        }
        const report = await runDoctor({
          ...flags,
          ...(flags.model !== undefined && !flags.model.startsWith("hf:")
            ? { model: resolve(flags.model) }
            : {}),
        });
        process.stdout.write(
          flags.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report),
        );
        if (report.llama.error !== undefined || report.modelError !== undefined) process.exitCode = 1;
      },
    );
}
