// Which of node-llama-cpp's prebuilt llama.cpp packages are installed, whether each is the version our FFI
// bindings are verified against, and which one to load: CUDA > Vulkan / Metal > CPU.
//
// Packages are found the way node finds them (every node_modules folder up from this module and from
// node-llama-cpp), after the backend prefixes (`STEERBENCH_LLAMA_PREFIX`, default ~/.cache/steerbench/backends)
// that `npm install --prefix` fills: steerbench's own package.json replaces the CUDA/Vulkan packages with an
// empty stand-in (tools/empty-optional) to keep the default install small, and npm refuses to install a
// package over an override (EOVERRIDE), so GPU builds live in a prefix of their own.
//
// Everything here reads files only; loading a library and asking it for devices is devices.ts's job.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

/** The node-llama-cpp version this package depends on (its bundled llama.cpp headers feed the layout test). */
export const NODE_LLAMA_CPP_VERSION = "3.22.1";
/** The llama.cpp release the bindings were written against (node-llama-cpp's tag for its bundled llama.cpp). */
export const LLAMA_CPP_RELEASE = "v0.5.0";

/**
 * llama.cpp releases whose binaries the bindings may load, and how each was verified. Other releases are
 * refused: a struct that changed would corrupt memory rather than fail.
 */
export const VERIFIED_LLAMA_CPP_RELEASES: Readonly<Record<string, string>> = {
  "v0.5.0":
    "src/llama/ffi-layout.test.ts compiles its llama.h against the linux-x64 binaries and compares every size, offset, default and symbol",
  "v0.4.0":
    "its include/ and ggml/include/ headers diffed against v0.5.0: additions only; every bound struct and prototype is identical",
};

export type BackendKind = "cuda" | "vulkan" | "metal" | "cpu";
/** The `gpu` option: "auto" picks the best backend with a working device; false = CPU only. */
export type GpuRequest = "auto" | "cuda" | "vulkan" | "metal" | false;
export const GPU_REQUESTS: readonly GpuRequest[] = ["auto", "cuda", "vulkan", "metal", false];

/** Parses a `--gpu` flag or config value (`false`/`off`/`cpu` = CPU only). */
export function parseGpuRequest(value: unknown, label = "gpu"): GpuRequest {
  if (value === false || value === "false" || value === "off" || value === "cpu") return false;
  if (value === "auto" || value === "cuda" || value === "vulkan" || value === "metal") return value;
  throw new Error(`${label}: expected auto, cuda, vulkan, metal or false, got ${JSON.stringify(value)}`);
}

/** One prebuilt package node-llama-cpp publishes. */
export interface PrebuiltSpec {
  /** npm package name. */
  name: string;
  /** node-llama-cpp's name for the build, also its folder under `bins/`. */
  folder: string;
  os: "linux" | "mac" | "win";
  backend: BackendKind;
  /** The version steerbench loads for this platform. */
  version: string;
  /** The llama.cpp release that version is built from. */
  llamaCpp: string;
  /** Optional companion package with a fallback build in `bins/<folder>/fallback` (CUDA only). */
  ext?: string;
}

// node-llama-cpp 3.22.x was published for Linux only; 3.21.1 is the newest macOS and Windows build (checked
// with `npm view @node-llama-cpp/<name> versions`). It bundles llama.cpp v0.4.0, verified above.
const LINUX = { version: NODE_LLAMA_CPP_VERSION, llamaCpp: "v0.5.0" } as const;
const MAC_WIN = { version: "3.21.1", llamaCpp: "v0.4.0" } as const;

function spec(
  folder: string,
  os: PrebuiltSpec["os"],
  backend: BackendKind,
  pin: { version: string; llamaCpp: string },
  ext?: boolean,
): PrebuiltSpec {
  const name = `@node-llama-cpp/${folder}`;
  return { name, folder, os, backend, ...pin, ...(ext ? { ext: `${name}-ext` } : {}) };
}

/** Every supported `${process.platform}-${process.arch}`, with its packages in order of preference. */
export const PREBUILT: Readonly<Record<string, readonly PrebuiltSpec[]>> = {
  "linux-x64": [
    spec("linux-x64-cuda", "linux", "cuda", LINUX, true),
    spec("linux-x64-vulkan", "linux", "vulkan", LINUX),
    spec("linux-x64", "linux", "cpu", LINUX),
  ],
  "linux-arm64": [spec("linux-arm64", "linux", "cpu", LINUX)],
  "darwin-arm64": [spec("mac-arm64-metal", "mac", "metal", MAC_WIN)],
  "darwin-x64": [spec("mac-x64", "mac", "cpu", MAC_WIN)],
  "win32-x64": [
    spec("win-x64-cuda", "win", "cuda", MAC_WIN, true),
    spec("win-x64-vulkan", "win", "vulkan", MAC_WIN),
    spec("win-x64", "win", "cpu", MAC_WIN),
  ],
};

/** The library files of one build: node-llama-cpp names them `<lib>.<gpu>.<release>` (CMake OUTPUT_NAME). */
export function libraryFileNames(
  os: PrebuiltSpec["os"],
  backend: BackendKind,
  release: string,
): { libllama: string; libggml: string; libggmlBase: string } {
  const variant = backend === "cpu" ? release : `${backend}.${release}`;
  if (os === "win") {
    return { libllama: `llama.${variant}.dll`, libggml: `ggml.${variant}.dll`, libggmlBase: "ggml-base.dll" };
  }
  const ext = os === "mac" ? "dylib" : "so";
  return {
    libllama: `libllama.${variant}.${ext}`,
    libggml: `libggml.${variant}.${ext}`,
    libggmlBase: `libggml-base.${ext}`,
  };
}

/** What `ffi.ts` loads. */
export interface BackendLibraries {
  /** Folder holding the libraries and the dynamically loaded ggml backends (CPU variants, CUDA, ...). */
  binsDir: string;
  /** A second folder of backends, tried when `binsDir` gives no GPU device (the CUDA fallback build). */
  fallbackDir?: string;
  libllama: string;
  libggml: string;
  libggmlBase: string;
  /** node-llama-cpp's git bundle of the llama.cpp source (headers for the layout test). */
  sourceBundle: string;
  /** The package loaded, its version and backend. */
  package: string;
  version: string;
  backend: BackendKind;
  llamaCpp: string;
}

export type PackageStatus =
  | { state: "ok"; root: string; libraries: Omit<BackendLibraries, "sourceBundle"> }
  | { state: "missing" }
  | { state: "empty"; root: string }
  | { state: "mismatch"; root: string; version: string; message: string }
  | { state: "broken"; root: string; message: string };

export interface FoundPackage {
  spec: PrebuiltSpec;
  status: PackageStatus;
}

export interface Discovery {
  /** `${platform}-${arch}`. */
  platform: string;
  /** The packages for this platform, in order of preference, with what was found. */
  packages: FoundPackage[];
  /** The folders searched, in order (prefixes first). */
  searched: string[];
  /** Where a GPU package should be installed. */
  prefix: string;
  /** node-llama-cpp's root folder, if installed. */
  nodeLlamaCpp?: { root: string; version: string };
}

export interface DiscoveryOptions {
  platform?: string;
  arch?: string;
  /** Files to resolve packages from, as node would (default: this module). */
  resolveFrom?: string[];
  /** Install prefixes searched before node_modules (default: STEERBENCH_LLAMA_PREFIX or the cache folder). */
  prefixes?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Where `npm install --prefix` should put GPU builds: STEERBENCH_LLAMA_PREFIX, else ~/.cache/steerbench/backends. */
export function backendPrefix(env: NodeJS.ProcessEnv = process.env): string {
  const p = env.STEERBENCH_LLAMA_PREFIX;
  if (p !== undefined && p !== "") return p;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "steerbench", "backends");
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@~=+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** The one command that installs a prebuilt package where discovery finds it (npm honours no opt-in). */
export function installCommand(pkg: PrebuiltSpec, prefix: string = backendPrefix()): string {
  return `npm install --prefix ${shellQuote(prefix)} --save-exact ${pkg.name}@${pkg.version}`;
}

const PackageJson = z.object({ name: z.string(), version: z.string() });
const BuildMetadata = z.object({
  buildOptions: z.object({
    platform: z.string(),
    arch: z.string(),
    gpu: z.union([z.literal(false), z.string()]),
    llamaCpp: z.object({ repo: z.string(), release: z.string() }),
  }),
});
const LlamaCppInfo = z.object({ tag: z.string(), llamaCppGithubRepo: z.string() });

function readJson<T>(file: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`unexpected content in ${file}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  }
  return parsed.data;
}

/** node_modules folders to look in for `name`, in node's order, prefixes first, without repeats. */
function searchDirs(name: string, resolveFrom: string[], prefixes: string[]): string[] {
  const dirs: string[] = prefixes.map((p) => join(p, "node_modules"));
  for (const from of resolveFrom) {
    // resolve.paths() is node's own lookup list; it needs no entry point, so it also finds the empty stand-in.
    for (const d of createRequire(from).resolve.paths(name) ?? []) dirs.push(d);
  }
  return [...new Set(dirs)];
}

function findPackageRoot(name: string, dirs: string[]): string | undefined {
  for (const d of dirs) {
    const root = join(d, name);
    if (existsSync(join(root, "package.json"))) return root;
  }
  return undefined;
}

function inspectPackage(
  s: PrebuiltSpec,
  platform: string,
  dirs: (name: string) => string[],
  prefix: string,
): PackageStatus {
  const root = findPackageRoot(s.name, dirs(s.name));
  if (root === undefined) return { state: "missing" };
  let pj: z.infer<typeof PackageJson>;
  try {
    pj = readJson(join(root, "package.json"), PackageJson);
  } catch (err) {
    return { state: "broken", root, message: (err as Error).message };
  }
  if (pj.name !== s.name || !existsSync(join(root, "bins"))) return { state: "empty", root };
  const fix = `install it with: ${installCommand(s, prefix)}`;
  if (pj.version !== s.version) {
    const why =
      s.version === NODE_LLAMA_CPP_VERSION
        ? ""
        : ` (node-llama-cpp ${NODE_LLAMA_CPP_VERSION} has no ${s.folder} build; ${s.version} is the newest)`;
    return {
      state: "mismatch",
      root,
      version: pj.version,
      message: `${s.name} ${pj.version} is installed at ${root}, but steerbench's llama.cpp bindings are verified against ${s.name} ${s.version} on ${platform}${why}; ${fix}`,
    };
  }
  const binsDir = join(root, "bins", s.folder);
  let release: string;
  try {
    const meta = readJson(join(binsDir, "_nlcBuildMetadata.json"), BuildMetadata).buildOptions;
    release = meta.llamaCpp.release;
    const gpu = meta.gpu === false ? "cpu" : meta.gpu;
    if (gpu !== s.backend) {
      return { state: "broken", root, message: `${s.name} holds a ${gpu} build, expected ${s.backend}` };
    }
  } catch (err) {
    return { state: "broken", root, message: (err as Error).message };
  }
  if (release !== s.llamaCpp || VERIFIED_LLAMA_CPP_RELEASES[release] === undefined) {
    return {
      state: "broken",
      root,
      message: `${s.name} ${pj.version} was built from llama.cpp ${release}, but the bindings are verified for ${s.llamaCpp} on ${platform}`,
    };
  }
  const names = libraryFileNames(s.os, s.backend, release);
  const files = {
    libllama: join(binsDir, names.libllama),
    libggml: join(binsDir, names.libggml),
    libggmlBase: join(binsDir, names.libggmlBase),
  };
  for (const f of Object.values(files)) {
    if (!existsSync(f)) return { state: "broken", root, message: `missing llama.cpp library ${f}` };
  }
  let fallbackDir: string | undefined;
  if (s.ext !== undefined) {
    const extRoot = findPackageRoot(s.ext, dirs(s.ext));
    if (extRoot !== undefined && existsSync(join(extRoot, "bins"))) {
      const ext = readJson(join(extRoot, "package.json"), PackageJson);
      if (ext.version !== s.version) {
        return {
          state: "mismatch",
          root: extRoot,
          version: ext.version,
          message: `${s.ext} ${ext.version} is installed at ${extRoot}, but ${s.name} is ${s.version}; install ${s.ext}@${s.version} or remove it`,
        };
      }
      fallbackDir = join(extRoot, "bins", s.folder, "fallback");
    }
  }
  fallbackDir ??= join(binsDir, "fallback");
  return {
    state: "ok",
    root,
    libraries: {
      binsDir,
      ...(existsSync(fallbackDir) ? { fallbackDir } : {}),
      ...files,
      package: s.name,
      version: pj.version,
      backend: s.backend,
      llamaCpp: release,
    },
  };
}

/** Finds every prebuilt package for this platform and says what state each is in. Reads files only. */
export function discoverPackages(opts: DiscoveryOptions = {}): Discovery {
  const env = opts.env ?? process.env;
  const platform = `${opts.platform ?? process.platform}-${opts.arch ?? process.arch}`;
  const prefixes = opts.prefixes ?? [backendPrefix(env)];
  const prefix = prefixes[0] ?? backendPrefix(env);
  const resolveFrom = opts.resolveFrom ?? [import.meta.url];
  const nlcRoot = findPackageRoot("node-llama-cpp", searchDirs("node-llama-cpp", resolveFrom, []));
  let nodeLlamaCpp: Discovery["nodeLlamaCpp"];
  if (nlcRoot !== undefined) {
    nodeLlamaCpp = { root: nlcRoot, version: readJson(join(nlcRoot, "package.json"), PackageJson).version };
  }
  // The prebuilt packages are optional dependencies of node-llama-cpp: look beside it too.
  const from = nlcRoot ? [...resolveFrom, join(nlcRoot, "package.json")] : resolveFrom;
  const dirs = (name: string) => searchDirs(name, from, prefixes);
  const specs = PREBUILT[platform] ?? [];
  return {
    platform,
    packages: specs.map((s) => ({ spec: s, status: inspectPackage(s, platform, dirs, prefix) })),
    searched: dirs("@node-llama-cpp/x"),
    prefix,
    ...(nodeLlamaCpp ? { nodeLlamaCpp } : {}),
  };
}

/** What the chosen package reports about its devices (devices.ts fills this in). */
export interface ProbedDevice {
  name: string;
  description: string;
  type: "cpu" | "gpu" | "igpu" | "accel" | "meta" | "unknown";
  freeBytes: number;
  totalBytes: number;
  /** Probe only: whether ggml_backend_dev_init gave a working backend on this device (GPUs only). */
  initialised?: boolean;
}
export type DeviceProbe = (libs: Omit<BackendLibraries, "sourceBundle">) => ProbedDevice[];

// A GPU counts when the probe could start a backend on it (a listed device can still fail to initialise).
const isGpu = (d: ProbedDevice) => (d.type === "gpu" || d.type === "igpu") && d.initialised !== false;

function packageProblem(d: Discovery, f: FoundPackage): string {
  const { spec: s, status } = f;
  const cmd = installCommand(s, d.prefix);
  switch (status.state) {
    case "missing":
      return `${s.name}@${s.version} is not installed; install it with: ${cmd}`;
    case "empty":
      return `${s.name} at ${status.root} is an empty stand-in (package.json overrides it to keep the install small); install the real build with: ${cmd}`;
    case "mismatch":
    case "broken":
      return status.message;
    case "ok":
      return "";
  }
}

export interface BackendChoice {
  libraries: BackendLibraries;
  /** Why this one (e.g. which GPU packages were skipped in auto mode). */
  notes: string[];
}

/**
 * Picks the package to load. An explicit backend must be installed and must show a GPU device (probed);
 * "auto" probes the installed GPU packages in order and takes the first with a GPU device, else the CPU build
 * (a GPU package that is installed but unusable — wrong version, broken — is an error there too). Throws a one-line error naming the package and the install command.
 */
export function chooseBackend(d: Discovery, request: GpuRequest, probe: DeviceProbe): BackendChoice {
  if (d.packages.length === 0) {
    const known = Object.keys(PREBUILT).join(", ");
    throw new Error(
      `the embedded llama.cpp engine has no prebuilt build for ${d.platform} (supported: ${known})`,
    );
  }
  if (d.nodeLlamaCpp === undefined) {
    throw new Error(`node-llama-cpp is not installed; install node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`);
  }
  if (d.nodeLlamaCpp.version !== NODE_LLAMA_CPP_VERSION) {
    throw new Error(
      `node-llama-cpp ${d.nodeLlamaCpp.version} is installed but the FFI bindings are pinned to ${NODE_LLAMA_CPP_VERSION}; install that exact version or update src/llama/backend.ts (and re-run ffi-layout.test.ts)`,
    );
  }
  const sourceBundle = join(d.nodeLlamaCpp.root, "llama", "gitRelease.bundle");
  const infoFile = join(d.nodeLlamaCpp.root, "llama", "llama.cpp.info.json");
  if (existsSync(infoFile)) {
    const tag = readJson(infoFile, LlamaCppInfo).tag;
    if (tag !== LLAMA_CPP_RELEASE) {
      throw new Error(
        `node-llama-cpp bundles llama.cpp ${tag}, but the bindings are for ${LLAMA_CPP_RELEASE}`,
      );
    }
  }
  const done = (f: FoundPackage, notes: string[]): BackendChoice => {
    if (f.status.state !== "ok") throw new Error(packageProblem(d, f));
    return { libraries: { ...f.status.libraries, sourceBundle }, notes };
  };
  // On Apple silicon the Metal build is the only one; gpu: false then runs it with no layers offloaded.
  const cpuBuild = d.packages.find((f) => f.spec.backend === "cpu") ?? d.packages[d.packages.length - 1];
  if (cpuBuild === undefined) throw new Error(`no llama.cpp build for ${d.platform}`);
  if (request === false) return done(cpuBuild, []);
  if (request !== "auto") {
    const f = d.packages.find((p) => p.spec.backend === request);
    if (f === undefined) {
      const have = d.packages.map((p) => p.spec.backend).join(", ");
      throw new Error(`gpu: ${request} has no llama.cpp build for ${d.platform} (builds: ${have})`);
    }
    const choice = done(f, []);
    const { devices, error } = tryProbe(probe, choice.libraries);
    if (!devices.some(isGpu)) {
      const names = devices.map(
        (x) => `${x.name}${x.initialised === false ? " (failed to initialise)" : ""}`,
      );
      const seen = error ?? `devices seen: ${names.join(", ") || "none"}`;
      throw new Error(
        `gpu: ${request}: ${f.spec.name} found no ${request} device (${deviceHint(request)}); ${seen}`,
      );
    }
    return choice;
  }
  const notes: string[] = [];
  for (const f of d.packages) {
    if (f.spec.backend === "cpu") break;
    if (f.status.state === "missing" || f.status.state === "empty") continue;
    // A GPU build someone installed but that cannot be used is an error, not a quiet fall back to the CPU.
    const choice = done(f, notes);
    const { devices, error } = tryProbe(probe, choice.libraries);
    if (devices.some(isGpu)) return choice;
    notes.push(
      `${f.spec.name}: no ${f.spec.backend} device (${deviceHint(f.spec.backend)})${error ? `; ${error}` : ""}`,
    );
    // The Metal build is also the CPU build on Apple silicon.
    if (f === cpuBuild) return choice;
  }
  return done(cpuBuild, notes);
}

function tryProbe(
  probe: DeviceProbe,
  libs: Omit<BackendLibraries, "sourceBundle">,
): { devices: ProbedDevice[]; error?: string } {
  try {
    return { devices: probe(libs) };
  } catch (err) {
    return { devices: [], error: (err as Error).message };
  }
}

function deviceHint(backend: BackendKind): string {
  switch (backend) {
    case "cuda":
      return "needs an NVIDIA driver (libcuda.so.1) and the CUDA 13 runtime (libcudart.so.13, libcublas.so.13) on the library path";
    case "vulkan":
      return "needs a Vulkan loader (libvulkan.so.1) and a Vulkan driver";
    case "metal":
      return "needs macOS on Apple silicon";
    case "cpu":
      return "";
  }
}
