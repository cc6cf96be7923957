// ggml's device list (ggml_backend_dev_*: name, description, type, free/total memory), read in this process
// from the already-loaded libraries, or in a child process to probe a package before committing to it: once a
// libggml is loaded it cannot be swapped for another build in the same process.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import koffi from "koffi";
import type { BackendLibraries, ProbedDevice } from "./backend.js";

// enum ggml_backend_dev_type, in order.
const DEVICE_TYPES = ["cpu", "gpu", "igpu", "accel", "meta"] as const;

type Libs = Pick<BackendLibraries, "libggml" | "libggmlBase" | "binsDir" | "fallbackDir" | "backend">;

interface DeviceFns {
  count(): number | bigint;
  get(i: number): unknown;
  name(d: unknown): string | null;
  description(d: unknown): string | null;
  type(d: unknown): number;
  memory(d: unknown, free: number[], total: number[]): void;
}

function bindDeviceFns(libs: Libs): DeviceFns {
  const ggml = koffi.load(libs.libggml);
  const base = koffi.load(libs.libggmlBase);
  return {
    count: ggml.func("size_t ggml_backend_dev_count(void)"),
    get: ggml.func("void *ggml_backend_dev_get(size_t index)"),
    name: base.func("const char *ggml_backend_dev_name(void *device)"),
    description: base.func("const char *ggml_backend_dev_description(void *device)"),
    type: base.func("int ggml_backend_dev_type(void *device)"),
    memory: base.func("void ggml_backend_dev_memory(void *device, _Out_ size_t *free, _Out_ size_t *total)"),
  };
}

let fns: { key: string; fns: DeviceFns } | undefined;

/** The devices ggml has registered in this process (the libraries must already be loaded by ffi.ts). */
export function listDevices(libs: Libs): ProbedDevice[] {
  if (fns?.key !== libs.libggml) fns = { key: libs.libggml, fns: bindDeviceFns(libs) };
  const f = fns.fns;
  const out: ProbedDevice[] = [];
  const n = Number(f.count());
  for (let i = 0; i < n; i++) {
    const d = f.get(i);
    const free = [0];
    const total = [0];
    f.memory(d, free, total);
    out.push({
      name: f.name(d) ?? "",
      description: f.description(d) ?? "",
      type: DEVICE_TYPES[f.type(d)] ?? "unknown",
      freeBytes: Number(free[0]),
      totalBytes: Number(total[0]),
    });
  }
  return out;
}

export const hasGpuDevice = (devices: ProbedDevice[]): boolean =>
  devices.some((d) => (d.type === "gpu" || d.type === "igpu") && d.initialised !== false);

/**
 * Registers the package's backends with ggml (ffi.ts calls this once, after libllama_backend_init): the main
 * folder, then the fallback build when the main one gave no GPU (as node-llama-cpp does for CUDA).
 */
export function registerBackends(libs: Libs, loadAllFromPath: (dir: string) => void): void {
  disableMetalResidencySets(libs);
  loadAllFromPath(libs.binsDir);
  if (libs.fallbackDir !== undefined && libs.backend !== "cpu" && !hasGpuDevice(listDevices(libs))) {
    loadAllFromPath(libs.fallbackDir);
  }
}

/** As node-llama-cpp does before loading its Metal build (unless the user set the variable): Metal residency
 * sets are off. Node's process.env writes through to the C environment ggml reads. */
function disableMetalResidencySets(libs: Libs): void {
  if (libs.backend === "metal" && process.env.GGML_METAL_NO_RESIDENCY === undefined) {
    process.env.GGML_METAL_NO_RESIDENCY = "1";
  }
}

// The child's program: the same steps as registerBackends + listDevices, in plain JS (it runs under `node -e`).
const PROBE_SOURCE = `
try {
const [koffiPath, libs] = JSON.parse(process.argv[1]);
const koffi = (await import(koffiPath)).default;
const base = koffi.load(libs.libggmlBase);
const ggml = koffi.load(libs.libggml);
const loadAll = ggml.func("void ggml_backend_load_all_from_path(const char *dir)");
const count = ggml.func("size_t ggml_backend_dev_count(void)");
const get = ggml.func("void *ggml_backend_dev_get(size_t index)");
const name = base.func("const char *ggml_backend_dev_name(void *device)");
const description = base.func("const char *ggml_backend_dev_description(void *device)");
const type = base.func("int ggml_backend_dev_type(void *device)");
const memory = base.func("void ggml_backend_dev_memory(void *device, _Out_ size_t *free, _Out_ size_t *total)");
const init = base.func("void *ggml_backend_dev_init(void *device, const char *params)");
const free_ = base.func("void ggml_backend_free(void *backend)");
const TYPES = ${JSON.stringify(DEVICE_TYPES)};
const list = () => {
  const out = [];
  for (let i = 0; i < Number(count()); i++) {
    const d = get(i); const free = [0]; const total = [0];
    memory(d, free, total);
    const t = TYPES[type(d)] ?? "unknown";
    const dev = { name: name(d) ?? "", description: description(d) ?? "", type: t,
      freeBytes: Number(free[0]), totalBytes: Number(total[0]) };
    if (t === "gpu" || t === "igpu") {
      // Listed is not enough: start a backend (context, streams) on it and free it again.
      const b = init(d, null);
      dev.initialised = b !== null;
      if (b !== null) free_(b);
    }
    out.push(dev);
  }
  return out;
};
loadAll(libs.binsDir);
let devices = list();
const usable = (ds) => ds.some((d) => (d.type === "gpu" || d.type === "igpu") && d.initialised !== false);
if (libs.fallbackDir && libs.backend !== "cpu" && !usable(devices)) {
  loadAll(libs.fallbackDir);
  devices = list();
}
if (!usable(devices) && libs.backend !== "cpu" && libs.backendModule) {
  // load_all_from_path is silent about a backend that fails to load; loading it by name logs dlerror's reason.
  ggml.func("void *ggml_backend_load(const char *path)")(libs.backendModule);
}
process.stdout.write("STEERBENCH_DEVICES " + JSON.stringify(devices) + "\\n");
} catch (err) {
  process.stderr.write("STEERBENCH_PROBE_ERROR " + String(err?.message ?? err).replaceAll("\\n", " ") + "\\n");
  process.exit(1);
}
`;

/**
 * Loads a package's libraries in a child node process and lists the devices it sees. Throws when the child
 * fails (e.g. a driver crash), with the end of its stderr.
 */
export function probeDevices(libs: Libs, timeoutMs = 120_000): ProbedDevice[] {
  // One probe per build and process: choosing and then loading would otherwise probe twice.
  const key = `${libs.libggml}\u0000${libs.fallbackDir ?? ""}`;
  const cached = probed.get(key);
  if (cached) return cached;
  const devices = runProbe(libs, timeoutMs);
  probed.set(key, devices);
  return devices;
}

const probed = new Map<string, ProbedDevice[]>();

function runProbe(libs: Libs, timeoutMs: number): ProbedDevice[] {
  disableMetalResidencySets(libs);
  const koffiPath = pathToFileURL(createRequire(import.meta.url).resolve("koffi")).href;
  // The GPU backend module of the build (ggml names them libggml-<backend>.so, ggml-<backend>.dll on Windows).
  const moduleName = libs.libggml.endsWith(".dll")
    ? `ggml-${libs.backend}.dll`
    : `libggml-${libs.backend}.so`;
  const backendModule = join(libs.binsDir, moduleName);
  const r = spawnSync(
    process.execPath,
    ["--input-type=module", "-e", PROBE_SOURCE, JSON.stringify([koffiPath, { ...libs, backendModule }])],
    { encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
  );
  const line = r.stdout?.split("\n").find((l) => l.startsWith("STEERBENCH_DEVICES "));
  if (r.error || r.status !== 0 || line === undefined) {
    const err = (r.stderr ?? "").split("\n");
    const own = err
      .find((l) => l.startsWith("STEERBENCH_PROBE_ERROR "))
      ?.slice("STEERBENCH_PROBE_ERROR ".length);
    const tail =
      own ??
      err
        .filter((l) => l.trim())
        .slice(-3)
        .join(" | ");
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new Error(`probing ${libs.libggml} failed (${why})${tail ? `: ${tail}` : ""}`);
  }
  const devices = JSON.parse(line.slice("STEERBENCH_DEVICES ".length)) as ProbedDevice[];
  if (!hasGpuDevice(devices) && libs.backend !== "cpu") {
    // ggml's own words for why the GPU module did not load (e.g. "libcuda.so.1: cannot open shared object file").
    const why = (r.stderr ?? "").split("\n").find((l) => /failed to load/i.test(l));
    if (why) throw new Error(`${moduleName} did not load: ${why.trim()}`);
  }
  return devices;
}
