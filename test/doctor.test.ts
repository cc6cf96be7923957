// `steerbench doctor` as a user runs it: a real process, the real llama.cpp build, the real fixture GGUF.
// The GPU path is driven through a real probe child by an install prefix holding a "Vulkan" package whose
// libraries are the CPU build's (links): it loads, shows no GPU device, and auto mode falls back to the CPU.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DoctorReport } from "../src/cli/commands/doctor.js";
import { locateLibraries } from "../src/llama/ffi.js";
import { repoRoot, tinyModel } from "./paths.js";

let dir = "";
let emptyPrefix = "";

function doctor(prefix: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const res = spawnSync(process.execPath, [join(repoRoot, "bin", "steerbench.js"), "doctor", ...args], {
    encoding: "utf8",
    env: { ...process.env, STEERBENCH_LLAMA_PREFIX: prefix },
  });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-doctor-"));
  emptyPrefix = join(dir, "empty-prefix");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("steerbench doctor", () => {
  it("reports node, platform, packages, backend, devices, threads, chromium and the model (json)", () => {
    const res = doctor(emptyPrefix, "--model", tinyModel, "--format", "json");
    expect(res.code, res.err).toBe(0);
    const r = JSON.parse(res.out) as DoctorReport;
    expect(r.node.version).toBe(process.version);
    expect(r.platform).toEqual({ os: process.platform, arch: process.arch });
    expect(r.llama.platform).toBe(`${process.platform}-${process.arch}`);
    expect(r.llama.layouts.problems).toEqual([]);
    const states = Object.fromEntries(r.llama.packages.map((p) => [p.name, p.state]));
    expect(states["@node-llama-cpp/linux-x64"]).toBe("ok");
    expect(states["@node-llama-cpp/linux-x64-cuda"]).toBe("empty");
    expect(r.llama.prefix).toBe(emptyPrefix);
    expect(r.llama.chosen?.backend).toBe("cpu");
    expect(r.llama.chosen?.package).toBe("@node-llama-cpp/linux-x64");
    const cpu = r.llama.devices.find((d) => d.type === "cpu");
    expect(cpu?.totalBytes).toBeGreaterThan(0);
    expect(cpu?.freeBytes).toBeGreaterThan(0);
    expect(r.threads.available).toBeGreaterThan(0);
    expect(r.threads.model).toBe(1); // a small file gets one thread
    expect(r.chromium.found).toBe(existsSync(r.chromium.path));
    const m = r.model;
    expect(m).toMatchObject({
      architecture: "llama",
      layers: 4,
      embedding: 64,
      vocab: 512,
      contextTrain: 128,
      params: 263744,
      chatTemplate: { source: "none", example: "Hi" },
      backend: "cpu",
    });
    expect(m?.generation.tokens).toBeGreaterThan(0);
    expect(m?.generation.tokens).toBeLessThanOrEqual(32);
    if (m && m.generation.tokens < 32) expect(m.generation.finishReason).not.toBe("max_tokens");
    expect(m?.generation.tokensPerSecond).toBeGreaterThan(0);
  });

  it("prints the same in the terminal format", () => {
    const res = doctor(emptyPrefix, "--model", tinyModel);
    expect(res.code, res.err).toBe(0);
    expect(res.out).toContain(`node        ${process.version}`);
    expect(res.out).toMatch(
      /backend {5}asked auto: cpu \(@node-llama-cpp\/linux-x64 3\.22\.1, llama\.cpp v0\.5\.0\)/,
    );
    expect(res.out).toMatch(/CPU \(cpu\) .*: \d+\.\d GiB free of \d+\.\d GiB/);
    expect(res.out).toContain(
      `empty stand-in at ${join(repoRoot, "node_modules", "@node-llama-cpp", "linux-x64-cuda")} (install: npm install --prefix ${emptyPrefix} --save-exact @node-llama-cpp/linux-x64-cuda@3.22.1)`,
    );
    expect(res.out).toMatch(/layers {8}4, embedding 64, vocabulary 512, trained context 128/);
    expect(res.out).toMatch(/generation {4}\d+ tokens in \d+\.\d ms = \d+\.\d tokens\/s/);
  });

  it("an explicit GPU backend that is only a stand-in fails with the install command", () => {
    const res = doctor(emptyPrefix, "--gpu", "cuda", "--format", "json");
    expect(res.code).toBe(1);
    const r = JSON.parse(res.out) as DoctorReport;
    expect(r.llama.error).toContain("is an empty stand-in");
    expect(r.llama.error).toContain(
      `install the real build with: npm install --prefix ${emptyPrefix} --save-exact @node-llama-cpp/linux-x64-cuda@3.22.1`,
    );
    expect(r.llama.chosen).toBeUndefined();
  });

  it("a GPU build in the prefix is probed in a child: no device → auto runs on the CPU, --gpu says why not", () => {
    const prefix = join(dir, "prefix");
    const { binsDir } = locateLibraries(false);
    const pkg = join(prefix, "node_modules", "@node-llama-cpp", "linux-x64-vulkan");
    const bins = join(pkg, "bins", "linux-x64-vulkan");
    mkdirSync(bins, { recursive: true });
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({ name: "@node-llama-cpp/linux-x64-vulkan", version: "3.22.1" }),
    );
    writeFileSync(
      join(bins, "_nlcBuildMetadata.json"),
      JSON.stringify({
        buildOptions: {
          platform: "linux",
          arch: "x64",
          gpu: "vulkan",
          llamaCpp: { repo: "ggml-org/llama.cpp", release: "v0.5.0" },
        },
      }),
    );
    for (const f of readdirSync(binsDir)) if (f.endsWith(".so")) symlinkSync(join(binsDir, f), join(bins, f));
    symlinkSync(join(binsDir, "libllama.v0.5.0.so"), join(bins, "libllama.vulkan.v0.5.0.so"));
    symlinkSync(join(binsDir, "libggml.v0.5.0.so"), join(bins, "libggml.vulkan.v0.5.0.so"));

    const auto = doctor(prefix, "--format", "json");
    expect(auto.code, auto.err).toBe(0);
    const a = JSON.parse(auto.out) as DoctorReport;
    expect(a.llama.packages.find((p) => p.name.endsWith("linux-x64-vulkan"))?.state).toBe("ok");
    expect(a.llama.chosen?.backend).toBe("cpu");
    expect(a.llama.notes).toHaveLength(1);
    // ggml's own reason: this fake build has no libggml-vulkan.so module.
    expect(a.llama.notes[0]).toMatch(
      /^@node-llama-cpp\/linux-x64-vulkan: no vulkan device \(needs a Vulkan loader \(libvulkan\.so\.1\) and a Vulkan driver\); libggml-vulkan\.so did not load: .*libggml-vulkan\.so: cannot open shared object file/,
    );

    const asked = doctor(prefix, "--gpu", "vulkan", "--format", "json");
    expect(asked.code).toBe(1);
    expect((JSON.parse(asked.out) as DoctorReport).llama.error).toMatch(
      /^gpu: vulkan: @node-llama-cpp\/linux-x64-vulkan found no vulkan device \(needs a Vulkan loader .*\); libggml-vulkan\.so did not load: /,
    );
  });

  it("refuses bad flags and a missing model by name", () => {
    const bad = doctor(emptyPrefix, "--gpu", "rocm");
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('--gpu: expected auto, cuda, vulkan, metal or false, got "rocm"');
    const fmt = doctor(emptyPrefix, "--format", "xml");
    expect(fmt.code).toBe(1);
    expect(fmt.err).toContain('--format must be terminal or json, got "xml"');
    const missing = doctor(emptyPrefix, "--model", join(dir, "nope.gguf"), "--format", "json");
    expect(missing.code).toBe(1);
    expect((JSON.parse(missing.out) as DoctorReport).modelError).toContain("nope.gguf");
  });
});
