// What `steerbench doctor` reports about the embedded engine: the prebuilt packages found, the backend chosen
// (and why), the devices ggml sees, and whether the struct layouts hold on this ABI. Never throws for a
// problem it can describe: the problem is part of the report.
import { layoutMismatches, VERIFIED_ABIS } from "./abi.js";
import {
  type BackendKind,
  chooseBackend,
  discoverPackages,
  type GpuRequest,
  installCommand,
  type ProbedDevice,
} from "./backend.js";
import { listDevices, probeDevices } from "./devices.js";
import { BOUND_STRUCTS, loadLlamaLibrary } from "./ffi.js";

export interface PackageReport {
  name: string;
  backend: BackendKind;
  /** The version steerbench loads on this platform. */
  wanted: string;
  state: "ok" | "missing" | "empty" | "mismatch" | "broken";
  version?: string;
  root?: string;
  problem?: string;
  install: string;
}

export interface BackendReport {
  platform: string;
  /** The C ABI of this platform, as the layouts see it. */
  abi: string;
  layouts: { verifiedFor: readonly string[]; problems: string[] };
  packages: PackageReport[];
  searched: string[];
  prefix: string;
  requested: GpuRequest;
  chosen?: { package: string; version: string; backend: BackendKind; llamaCpp: string; binsDir: string };
  notes: string[];
  devices: ProbedDevice[];
  /** Why no backend could be chosen or loaded. */
  error?: string;
}

/** The C ABI of a platform (names as in abi.ts). */
export function abiName(platform: string, arch: string): string {
  if (arch === "x64") return platform === "win32" ? "Win64" : "x86-64 System V";
  if (arch === "arm64") return platform === "win32" ? "Win64 (arm64)" : "AAPCS64";
  return `${platform}-${arch} (not verified)`;
}

/** Discovers, chooses and loads the backend for `gpu`, then lists its devices. */
export function diagnoseBackend(gpu: GpuRequest): BackendReport {
  const d = discoverPackages();
  const report: BackendReport = {
    platform: d.platform,
    abi: abiName(process.platform, process.arch),
    layouts: { verifiedFor: VERIFIED_ABIS, problems: layoutMismatches(BOUND_STRUCTS) },
    packages: d.packages.map(({ spec, status }) => ({
      name: spec.name,
      backend: spec.backend,
      wanted: spec.version,
      state: status.state,
      ...(status.state === "ok" ? { version: status.libraries.version } : {}),
      ...(status.state === "mismatch" ? { version: status.version } : {}),
      ...(status.state !== "missing" ? { root: status.root } : {}),
      ...(status.state === "mismatch" || status.state === "broken" ? { problem: status.message } : {}),
      install: installCommand(spec, d.prefix),
    })),
    searched: d.searched,
    prefix: d.prefix,
    requested: gpu,
    notes: [],
    devices: [],
  };
  try {
    const choice = chooseBackend(d, gpu, probeDevices);
    report.notes = choice.notes;
    const { files } = loadLlamaLibrary(gpu);
    report.chosen = {
      package: files.package,
      version: files.version,
      backend: files.backend,
      llamaCpp: files.llamaCpp,
      binsDir: files.binsDir,
    };
    report.devices = listDevices(files);
  } catch (err) {
    report.error = (err as Error).message;
  }
  return report;
}
