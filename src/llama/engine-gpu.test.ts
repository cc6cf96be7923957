// The gpu / gpuLayers engine options on this machine's install (the CPU build; CUDA and Vulkan are empty
// stand-ins): what loads, what is refused and how, and that one process keeps one build.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tinyModel } from "../../test/paths.js";
import { LlamaEngine } from "./engine.js";

// Hermetic: a GPU build in the developer's own backend prefix must not change what these tests load.
process.env.STEERBENCH_LLAMA_PREFIX = join(tmpdir(), `sb-no-backends-${process.pid}`); // never created
describe("LlamaEngine gpu options", () => {
  it("an explicit GPU backend that is not installed is refused before anything loads, with the install command", async () => {
    await expect(LlamaEngine.load(tinyModel, { threads: 1, gpu: "vulkan" })).rejects.toThrow(
      /^@node-llama-cpp\/linux-x64-vulkan at .* is an empty stand-in .*; install the real build with: npm install --prefix .* --save-exact @node-llama-cpp\/linux-x64-vulkan@3\.22\.1$/,
    );
    await expect(LlamaEngine.load(tinyModel, { threads: 1, gpu: "metal" })).rejects.toThrow(
      "gpu: metal has no llama.cpp build for linux-x64 (builds: cuda, vulkan, cpu)",
    );
  });

  it("auto loads the CPU build with every layer asked for; false offloads none; bad values are refused", async () => {
    const auto = await LlamaEngine.load(tinyModel, { threads: 1 });
    try {
      expect(auto.info.backend).toBe("cpu");
      expect(auto.info.gpuLayers).toBe(-1);
    } finally {
      await auto.dispose();
    }
    const cpu = await LlamaEngine.load(tinyModel, { threads: 1, gpu: false, gpuLayers: 10 });
    try {
      expect(cpu.info.gpuLayers).toBe(0);
      const a = await cpu.generate({ prompt: "Once upon a time", maxTokens: 8, temperature: 0 });
      expect(a.completionTokens).toBeGreaterThan(0);
    } finally {
      await cpu.dispose();
    }
    const some = await LlamaEngine.load(tinyModel, { threads: 1, gpuLayers: 2 });
    expect(some.info.gpuLayers).toBe(2);
    await some.dispose();
    await expect(LlamaEngine.load(tinyModel, { gpuLayers: -1 })).rejects.toThrow(/gpuLayers/);
    // @ts-expect-error not a backend
    await expect(LlamaEngine.load(tinyModel, { gpu: "rocm" })).rejects.toThrow(/gpu/);
  });

  it("once the CPU build is loaded, a GPU build cannot be loaded beside it in the same process", async () => {
    const e = await LlamaEngine.load(tinyModel, { threads: 1 });
    await e.dispose();
    await expect(LlamaEngine.load(tinyModel, { threads: 1, gpu: "cuda" })).rejects.toThrow(
      "gpu: cuda was asked for, but this process already loaded the cpu build (@node-llama-cpp/linux-x64)",
    );
  });
});
