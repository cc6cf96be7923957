// Package discovery and backend choice against fake node_modules trees built in a temp dir: every platform ×
// backend node-llama-cpp publishes, missing packages, empty stand-ins, version mismatches, broken builds,
// and the install prefix. The fake libraries are empty files: nothing here is loaded (the probe is injected).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type BackendKind,
  backendPrefix,
  chooseBackend,
  type DeviceProbe,
  type DiscoveryOptions,
  discoverPackages,
  installCommand,
  PREBUILT,
  type PrebuiltSpec,
  parseGpuRequest,
} from "./backend.js";

// File names as shipped in the real packages (linux-x64 3.22.1, linux-x64-cuda 3.22.1, linux-x64-vulkan
// 3.22.1, mac-arm64-metal 3.21.1 and win-x64 3.21.1 were listed with `npm pack`); the rest follow the same rule.
const EXPECTED_LIBLLAMA: Record<string, string> = {
  "linux-x64-cuda": "libllama.cuda.v0.5.0.so",
  "linux-x64-vulkan": "libllama.vulkan.v0.5.0.so",
  "linux-x64": "libllama.v0.5.0.so",
  "linux-arm64": "libllama.v0.5.0.so",
  "mac-arm64-metal": "libllama.metal.v0.4.0.dylib",
  "mac-x64": "libllama.v0.4.0.dylib",
  "win-x64-cuda": "llama.cuda.v0.4.0.dll",
  "win-x64-vulkan": "llama.vulkan.v0.4.0.dll",
  "win-x64": "llama.v0.4.0.dll",
};
const EXPECTED_BASE: Record<PrebuiltSpec["os"], string> = {
  linux: "libggml-base.so",
  mac: "libggml-base.dylib",
  win: "ggml-base.dll",
};

let tmp = "";
let app = "";
let nm = "";
let prefix = "";

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "steerbench-backend-"));
  app = join(tmp, "app");
  nm = join(app, "node_modules");
  prefix = join(tmp, "prefix");
  mkdirSync(nm, { recursive: true });
  writeFileSync(join(app, "index.js"), "");
  nodeLlamaCpp("3.22.1", "v0.5.0");
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function writeJson(file: string, value: unknown): void {
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, JSON.stringify(value));
}

function nodeLlamaCpp(version: string, tag: string): void {
  writeJson(join(nm, "node-llama-cpp", "package.json"), { name: "node-llama-cpp", version });
  writeJson(join(nm, "node-llama-cpp", "llama", "llama.cpp.info.json"), {
    tag,
    llamaCppGithubRepo: "ggml-org/llama.cpp",
  });
}

interface FakeOptions {
  version?: string;
  release?: string;
  gpu?: string | false;
  skipFile?: string;
  at?: string;
  fallback?: boolean;
}

function libNames(os: PrebuiltSpec["os"], backend: BackendKind, release: string): string[] {
  const v = backend === "cpu" ? release : `${backend}.${release}`;
  if (os === "win") return [`llama.${v}.dll`, `ggml.${v}.dll`, "ggml-base.dll"];
  const ext = os === "mac" ? "dylib" : "so";
  return [`libllama.${v}.${ext}`, `libggml.${v}.${ext}`, `libggml-base.${ext}`];
}

/** A prebuilt package as node-llama-cpp lays it out: package.json, bins/<folder>/{metadata, libraries}. */
function fakePackage(s: PrebuiltSpec, o: FakeOptions = {}): string {
  const root = join(o.at ?? nm, s.name);
  const release = o.release ?? s.llamaCpp;
  writeJson(join(root, "package.json"), { name: s.name, version: o.version ?? s.version });
  const bins = join(root, "bins", s.folder);
  writeJson(join(bins, "_nlcBuildMetadata.json"), {
    buildOptions: {
      platform: s.os,
      arch: s.folder.includes("arm64") ? "arm64" : "x64",
      gpu: o.gpu ?? (s.backend === "cpu" ? false : s.backend),
      llamaCpp: { repo: "ggml-org/llama.cpp", release },
    },
  });
  for (const f of libNames(s.os, s.backend, release)) if (f !== o.skipFile) writeFileSync(join(bins, f), "");
  if (o.fallback) mkdirSync(join(bins, "fallback"), { recursive: true });
  return root;
}

/** What package.json's overrides install in place of the GPU builds. */
function emptyStandIn(name: string): void {
  writeJson(join(nm, name, "package.json"), {
    name: "steerbench-empty-optional",
    version: "1.0.0",
    private: true,
  });
}

function opts(platformKey: string, extra: Partial<DiscoveryOptions> = {}): DiscoveryOptions {
  const [platform, arch] = platformKey.split("-");
  return { platform, arch, resolveFrom: [join(app, "index.js")], prefixes: [prefix], env: {}, ...extra };
}

const gpuProbe: DeviceProbe = (libs) => [
  ...(libs.backend === "cpu" ? [] : [dev(`${libs.backend.toUpperCase()}0`, "gpu")]),
  dev("CPU", "cpu"),
];
const cpuOnlyProbe: DeviceProbe = () => [dev("CPU", "cpu")];
function dev(name: string, type: "gpu" | "cpu") {
  return { name, description: name, type, freeBytes: 1, totalBytes: 2 };
}

const ALL = Object.entries(PREBUILT).flatMap(([platform, specs]) => specs.map((s) => ({ platform, s })));

describe("the package catalogue", () => {
  it("covers every build the issue names, in preference order CUDA > Vulkan/Metal > CPU", () => {
    expect(ALL.map(({ s }) => s.folder).sort()).toEqual(Object.keys(EXPECTED_LIBLLAMA).sort());
    const rank: Record<BackendKind, number> = { cuda: 0, vulkan: 1, metal: 1, cpu: 2 };
    for (const specs of Object.values(PREBUILT)) {
      const ranks = specs.map((s) => rank[s.backend]);
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    }
  });

  it("pins Linux to node-llama-cpp 3.22.1 (llama.cpp v0.5.0) and macOS/Windows to 3.21.1 (v0.4.0)", () => {
    for (const { s } of ALL) {
      expect([s.version, s.llamaCpp]).toEqual(s.os === "linux" ? ["3.22.1", "v0.5.0"] : ["3.21.1", "v0.4.0"]);
    }
  });
});

describe.each(ALL)("$platform: $s.name", ({ platform, s }) => {
  it("is found, checked and chosen when it is the only build installed", () => {
    fakePackage(s);
    const d = discoverPackages(opts(platform));
    const found = d.packages.find((p) => p.spec.name === s.name);
    expect(found?.status.state).toBe("ok");
    for (const other of d.packages.filter((p) => p.spec.name !== s.name)) {
      expect(other.status.state).toBe("missing");
    }
    const request = s.backend === "cpu" ? false : s.backend;
    const { libraries } = chooseBackend(d, request, gpuProbe);
    expect(libraries.package).toBe(s.name);
    expect(libraries.backend).toBe(s.backend);
    expect(libraries.libllama).toBe(join(nm, s.name, "bins", s.folder, EXPECTED_LIBLLAMA[s.folder] ?? "?"));
    expect(libraries.libggmlBase.endsWith(EXPECTED_BASE[s.os])).toBe(true);
    expect(libraries.sourceBundle).toBe(join(nm, "node-llama-cpp", "llama", "gitRelease.bundle"));
    // auto takes it too (a GPU build because it has a device; a CPU build because it is all there is).
    expect(chooseBackend(d, "auto", gpuProbe).libraries.package).toBe(s.name);
  });

  it("missing: the error names the package, its version and the install command", () => {
    const d = discoverPackages(opts(platform));
    const request = s.backend === "cpu" ? false : s.backend;
    // On Apple silicon the Metal build is also the CPU build.
    expect(() => chooseBackend(d, request, gpuProbe)).toThrow(
      `${s.name}@${s.version} is not installed; install it with: npm install --prefix ${prefix} --save-exact ${s.name}@${s.version}`,
    );
  });

  it("version mismatch: the error names both versions", () => {
    fakePackage(s, { version: "3.20.0" });
    const d = discoverPackages(opts(platform));
    const request = s.backend === "cpu" ? false : s.backend;
    expect(d.packages.find((p) => p.spec.name === s.name)?.status.state).toBe("mismatch");
    const err = () => chooseBackend(d, request, gpuProbe);
    expect(err).toThrow(`${s.name} 3.20.0 is installed`);
    expect(err).toThrow(`verified against ${s.name} ${s.version} on ${platform}`);
    if (s.os !== "linux") expect(err).toThrow(`node-llama-cpp 3.22.1 has no ${s.folder} build`);
  });

  it("a build from an unverified llama.cpp release is refused", () => {
    fakePackage(s, { release: "v0.6.0" });
    const request = s.backend === "cpu" ? false : s.backend;
    expect(() => chooseBackend(discoverPackages(opts(platform)), request, gpuProbe)).toThrow(
      `was built from llama.cpp v0.6.0, but the bindings are verified for ${s.llamaCpp}`,
    );
  });

  it("a missing library file is refused by name", () => {
    const base = EXPECTED_BASE[s.os];
    fakePackage(s, { skipFile: base });
    const request = s.backend === "cpu" ? false : s.backend;
    expect(() => chooseBackend(discoverPackages(opts(platform)), request, gpuProbe)).toThrow(
      `missing llama.cpp library ${join(nm, s.name, "bins", s.folder, base)}`,
    );
  });
});

describe("choosing in auto mode", () => {
  const [cuda, vulkan, cpu] = PREBUILT["linux-x64"] ?? [];
  if (!cuda || !vulkan || !cpu) throw new Error("linux-x64 catalogue changed");

  it("the default install (GPU packages replaced by empty stand-ins) runs on the CPU build without probing", () => {
    emptyStandIn(cuda.name);
    emptyStandIn("@node-llama-cpp/linux-x64-cuda-ext");
    emptyStandIn(vulkan.name);
    fakePackage(cpu);
    const d = discoverPackages(opts("linux-x64"));
    expect(d.packages.map((p) => p.status.state)).toEqual(["empty", "empty", "ok"]);
    const probed: string[] = [];
    const choice = chooseBackend(d, "auto", (l) => {
      probed.push(l.package);
      return gpuProbe(l);
    });
    expect(choice.libraries.package).toBe(cpu.name);
    expect(probed).toEqual([]);
  });

  it("an explicit request for a stand-in says it is one and how to install the real build", () => {
    emptyStandIn(cuda.name);
    fakePackage(cpu);
    expect(() => chooseBackend(discoverPackages(opts("linux-x64")), "cuda", gpuProbe)).toThrow(
      `${cuda.name} at ${join(nm, cuda.name)} is an empty stand-in (package.json overrides it to keep the install small); install the real build with: npm install --prefix ${prefix} --save-exact ${cuda.name}@3.22.1`,
    );
  });

  it("prefers CUDA, then Vulkan, then CPU, taking the first build that shows a GPU device", () => {
    fakePackage(cuda);
    fakePackage(vulkan);
    fakePackage(cpu);
    const d = discoverPackages(opts("linux-x64"));
    expect(chooseBackend(d, "auto", gpuProbe).libraries.backend).toBe("cuda");
    const vulkanOnly: DeviceProbe = (l) => (l.backend === "vulkan" ? gpuProbe(l) : cpuOnlyProbe(l));
    const v = chooseBackend(d, "auto", vulkanOnly);
    expect(v.libraries.backend).toBe("vulkan");
    expect(v.notes.join("\n")).toContain("linux-x64-cuda: no cuda device");
    const c = chooseBackend(d, "auto", cpuOnlyProbe);
    expect(c.libraries.backend).toBe("cpu");
    expect(c.notes).toHaveLength(2);
  });

  it("a probe that crashes counts as no device in auto mode and is reported for an explicit request", () => {
    fakePackage(cuda);
    fakePackage(cpu);
    const d = discoverPackages(opts("linux-x64"));
    const crash: DeviceProbe = () => {
      throw new Error("probing libggml.cuda.v0.5.0.so failed (exit 139)");
    };
    const auto = chooseBackend(d, "auto", crash);
    expect(auto.libraries.backend).toBe("cpu");
    expect(auto.notes[0]).toContain("exit 139");
    expect(() => chooseBackend(d, "cuda", crash)).toThrow(
      /^gpu: cuda: @node-llama-cpp\/linux-x64-cuda found no cuda device \(needs .*\); probing libggml\.cuda\.v0\.5\.0\.so failed \(exit 139\)$/,
    );
  });

  it("an explicit GPU request with no device fails, naming what the backend needs", () => {
    fakePackage(cuda);
    fakePackage(cpu);
    expect(() => chooseBackend(discoverPackages(opts("linux-x64")), "cuda", cpuOnlyProbe)).toThrow(
      /found no cuda device \(needs an NVIDIA driver \(libcuda\.so\.1\).*devices seen: CPU$/,
    );
  });

  it("a GPU that is listed but fails to initialise does not count", () => {
    fakePackage(cuda);
    fakePackage(cpu);
    const d = discoverPackages(opts("linux-x64"));
    const broken: DeviceProbe = () => [{ ...dev("CUDA0", "gpu"), initialised: false }, dev("CPU", "cpu")];
    expect(chooseBackend(d, "auto", broken).libraries.backend).toBe("cpu");
    expect(() => chooseBackend(d, "cuda", broken)).toThrow(
      /devices seen: CUDA0 \(failed to initialise\), CPU$/,
    );
  });

  it("a GPU build that is installed but unusable is an error in auto mode, not a quiet fall back", () => {
    fakePackage(cuda, { version: "3.22.0" });
    fakePackage(cpu);
    expect(() => chooseBackend(discoverPackages(opts("linux-x64")), "auto", gpuProbe)).toThrow(
      "@node-llama-cpp/linux-x64-cuda 3.22.0 is installed",
    );
  });

  it("a backend the platform has no build for is refused by name", () => {
    fakePackage(cpu);
    expect(() => chooseBackend(discoverPackages(opts("linux-x64")), "metal", gpuProbe)).toThrow(
      "gpu: metal has no llama.cpp build for linux-x64 (builds: cuda, vulkan, cpu)",
    );
    const arm = PREBUILT["linux-arm64"]?.[0];
    if (!arm) throw new Error("no linux-arm64");
    fakePackage(arm);
    expect(() => chooseBackend(discoverPackages(opts("linux-arm64")), "cuda", gpuProbe)).toThrow(
      "gpu: cuda has no llama.cpp build for linux-arm64 (builds: cpu)",
    );
  });

  it("Apple silicon: gpu false and auto without a Metal device both run the Metal build", () => {
    const metal = PREBUILT["darwin-arm64"]?.[0];
    if (!metal) throw new Error("no darwin-arm64");
    fakePackage(metal);
    const d = discoverPackages(opts("darwin-arm64"));
    expect(chooseBackend(d, false, gpuProbe).libraries.package).toBe(metal.name);
    const auto = chooseBackend(d, "auto", cpuOnlyProbe);
    expect(auto.libraries.package).toBe(metal.name);
    expect(auto.notes[0]).toContain("no metal device");
  });
});

describe("where packages are looked for", () => {
  const [cuda, , cpu] = PREBUILT["linux-x64"] ?? [];
  if (!cuda || !cpu) throw new Error("linux-x64 catalogue changed");

  it("the install prefix comes before node_modules, so a real build there beats the stand-in", () => {
    emptyStandIn(cuda.name);
    fakePackage(cpu);
    fakePackage(cuda, { at: join(prefix, "node_modules") });
    const d = discoverPackages(opts("linux-x64"));
    expect(d.searched[0]).toBe(join(prefix, "node_modules"));
    expect(d.searched).toContain(nm);
    const { libraries } = chooseBackend(d, "cuda", gpuProbe);
    expect(libraries.binsDir).toBe(join(prefix, "node_modules", cuda.name, "bins", "linux-x64-cuda"));
  });

  it("finds packages up the tree, as node does (a hoisted install one level up)", () => {
    const nested = join(app, "packages", "inner");
    mkdirSync(nested, { recursive: true });
    writeFileSync(join(nested, "index.js"), "");
    fakePackage(cpu);
    const d = discoverPackages({ ...opts("linux-x64"), resolveFrom: [join(nested, "index.js")] });
    expect(chooseBackend(d, false, gpuProbe).libraries.package).toBe(cpu.name);
  });

  it("the CUDA fallback build comes from the -ext package when installed, with a matching version", () => {
    fakePackage(cpu);
    fakePackage(cuda);
    const ext = { ...cuda, name: `${cuda.name}-ext` };
    fakePackage(ext, { fallback: true });
    const d = discoverPackages(opts("linux-x64"));
    expect(chooseBackend(d, "cuda", gpuProbe).libraries.fallbackDir).toBe(
      join(nm, ext.name, "bins", "linux-x64-cuda", "fallback"),
    );
    rmSync(join(nm, ext.name), { recursive: true });
    fakePackage(ext, { version: "3.21.1", fallback: true });
    expect(() => chooseBackend(discoverPackages(opts("linux-x64")), "cuda", gpuProbe)).toThrow(
      `${ext.name} 3.21.1 is installed at ${join(nm, ext.name)}, but ${cuda.name} is 3.22.1`,
    );
  });

  it("STEERBENCH_LLAMA_PREFIX sets the prefix; else XDG_CACHE_HOME or ~/.cache", () => {
    expect(backendPrefix({ STEERBENCH_LLAMA_PREFIX: "/opt/sb" })).toBe("/opt/sb");
    expect(backendPrefix({ XDG_CACHE_HOME: "/c" })).toBe(join("/c", "steerbench", "backends"));
    expect(backendPrefix({}).endsWith(join(".cache", "steerbench", "backends"))).toBe(true);
    expect(installCommand(cuda, "/my dir")).toBe(
      "npm install --prefix '/my dir' --save-exact @node-llama-cpp/linux-x64-cuda@3.22.1",
    );
  });

  it("refuses unsupported platforms and a node-llama-cpp that is not the pinned one", () => {
    expect(() => chooseBackend(discoverPackages(opts("linux-riscv64")), "auto", gpuProbe)).toThrow(
      "the embedded llama.cpp engine has no prebuilt build for linux-riscv64",
    );
    fakePackage(cpu);
    nodeLlamaCpp("3.23.0", "v0.5.0");
    expect(() => chooseBackend(discoverPackages(opts("linux-x64")), false, gpuProbe)).toThrow(
      "node-llama-cpp 3.23.0 is installed but the FFI bindings are pinned to 3.22.1",
    );
    rmSync(join(nm, "node-llama-cpp"), { recursive: true });
    expect(() => chooseBackend(discoverPackages(opts("linux-x64")), false, gpuProbe)).toThrow(
      "node-llama-cpp is not installed",
    );
  });
});

describe("parseGpuRequest", () => {
  it("accepts the five values (and off/cpu for false) and names anything else", () => {
    expect(
      ["auto", "cuda", "vulkan", "metal", "false", "off", "cpu", false].map((v) => parseGpuRequest(v)),
    ).toEqual(["auto", "cuda", "vulkan", "metal", false, false, false, false]);
    expect(() => parseGpuRequest("rocm", "--gpu")).toThrow(
      '--gpu: expected auto, cuda, vulkan, metal or false, got "rocm"',
    );
  });
});

describe("this machine's install", () => {
  it("finds the CPU build and the empty CUDA/Vulkan stand-ins in the shared node_modules", () => {
    if (process.platform !== "linux" || process.arch !== "x64")
      throw new Error("this check is for linux-x64");
    const d = discoverPackages({ prefixes: [join(tmp, "no-prefix")] });
    const states = Object.fromEntries(d.packages.map((p) => [p.spec.folder, p.status.state]));
    expect(states["linux-x64"]).toBe("ok");
    expect(states["linux-x64-cuda"]).toBe("empty");
    expect(states["linux-x64-vulkan"]).toBe("empty");
  });
});
