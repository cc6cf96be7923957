// --gpu / --gpu-layers: parsing, where each verb puts them, and refusals by name.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRunConfig } from "../config/run-config.js";
import { configFromFlags } from "./commands/run.js";
import { type SweepFlags, sweepFromFlags } from "./commands/sweep.js";
import { parseGpuFlag, parseGpuLayers } from "./gpu-options.js";
import { buildProgram } from "./main.js";

const URL = "http://127.0.0.1:9/v1";
let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-gpu-flags-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function optionNames(cmd: Command | undefined): string[] {
  return (cmd?.options ?? []).map((o) => o.long ?? "");
}

describe("--gpu and --gpu-layers", () => {
  it("parse the five backends and a layer count, refusing anything else by flag name", () => {
    expect(["auto", "cuda", "vulkan", "metal", "false"].map(parseGpuFlag)).toEqual([
      "auto",
      "cuda",
      "vulkan",
      "metal",
      false,
    ]);
    expect(() => parseGpuFlag("rocm")).toThrow(
      '--gpu: expected auto, cuda, vulkan, metal or false, got "rocm"',
    );
    expect(parseGpuLayers("12")).toBe(12);
    expect(() => parseGpuLayers("-1")).toThrow("--gpu-layers must be 0 or more, got -1");
    expect(() => parseGpuLayers("all")).toThrow('--gpu-layers must be an integer, got "all"');
  });

  it("are offered by every verb that loads a local model", () => {
    const program = buildProgram();
    const verb = (name: string) => program.commands.find((c) => c.name() === name);
    const extract = verb("vectors")?.commands.find((c) => c.name() === "extract");
    for (const cmd of [verb("serve"), verb("sweep"), verb("run"), verb("doctor"), extract]) {
      expect(optionNames(cmd)).toEqual(expect.arrayContaining(["--gpu", "--gpu-layers"]));
    }
  });

  it("run: go on every llama model and judge, and are refused when there is none", () => {
    const both = configFromFlags(undefined, {
      store: "x",
      model: "m.gguf",
      judgeModel: "j.gguf",
      gpu: "cuda",
      gpuLayers: 20,
    });
    expect([both.models[0]?.gpu, both.models[0]?.gpuLayers, both.judges[0]?.gpu]).toEqual([
      "cuda",
      20,
      "cuda",
    ]);
    const judgeOnly = configFromFlags(undefined, {
      store: "x",
      model: "gpt-4o",
      baseUrl: URL,
      judgeModel: "j.gguf",
      gpu: false,
    });
    expect(judgeOnly.models[0]?.gpu).toBeUndefined();
    expect(judgeOnly.judges[0]?.gpu).toBe(false);
    expect(() =>
      configFromFlags(undefined, {
        store: "x",
        model: "gpt-4o",
        baseUrl: URL,
        judgeModel: "gpt-4o",
        judgeBaseUrl: URL,
        gpu: "cuda",
      }),
    ).toThrow("--gpu and --gpu-layers need a llama model or judge (a .gguf file)");
  });

  it("the config file takes gpu and gpuLayers on a model, and names a bad value", () => {
    const ok = parseRunConfig(
      {
        models: [{ provider: "llama", model: "m.gguf", gpu: false, gpuLayers: 0 }],
        judges: [{ model: "j.gguf", provider: "llama" }],
      },
      "c.yaml",
    );
    expect(ok.models[0]).toMatchObject({ gpu: false, gpuLayers: 0 });
    expect(() =>
      parseRunConfig(
        {
          models: [{ provider: "llama", model: "m.gguf", gpu: "rocm" }],
          judges: [{ model: "j.gguf", provider: "llama" }],
        },
        "c.yaml",
      ),
    ).toThrow(/models\.0\.gpu/);
  });

  it("sweep: go on the local model and a local judge; refused with --base-url", () => {
    const vector = join(dir, "v.gguf");
    writeFileSync(vector, "not read here");
    const base: SweepFlags = {
      store: "x",
      model: "m.gguf",
      vector,
      strengths: "-2,0,2",
      promptSteering: true,
      judge: "m.gguf",
      judgeProvider: "llama",
      judgeMode: "score",
      perplexity: false,
      format: "terminal",
    };
    const { config } = sweepFromFlags({ ...base, gpu: "vulkan", gpuLayers: 3 });
    expect([config.models[0]?.gpu, config.models[0]?.gpuLayers, config.judges[0]?.gpu]).toEqual([
      "vulkan",
      3,
      "vulkan",
    ]);
    const remoteJudge = sweepFromFlags({
      ...base,
      judge: "gpt-4o",
      judgeProvider: "openai",
      judgeMode: "generate",
      judgeBaseUrl: URL,
      gpu: "cuda",
    }).config;
    expect(remoteJudge.judges[0]?.gpu).toBeUndefined();
    expect(() => sweepFromFlags({ ...base, baseUrl: URL, gpu: "cuda" })).toThrow(
      "--gpu and --gpu-layers are for a local model; the server at --base-url picks its own",
    );
  });
});
