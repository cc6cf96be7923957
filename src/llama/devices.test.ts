// ggml's device list on the real CPU build, in this process and in a probe child, and the fallback-folder
// decision of registerBackends.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasGpuDevice, listDevices, probeDevices, registerBackends } from "./devices.js";
import { loadLlamaLibrary } from "./ffi.js";

// Hermetic: a GPU build in the developer's own backend prefix must not change what these tests load.
process.env.STEERBENCH_LLAMA_PREFIX = join(tmpdir(), `sb-no-backends-${process.pid}`); // never created
describe("ggml devices", () => {
  it("lists the CPU device with its memory, in process and from a probe child", () => {
    const { files } = loadLlamaLibrary();
    const here = listDevices(files);
    expect(here.length).toBeGreaterThan(0);
    const cpu = here.find((d) => d.type === "cpu");
    expect(cpu?.name).toBe("CPU");
    expect(cpu?.totalBytes).toBeGreaterThan(0);
    expect(hasGpuDevice(here)).toBe(false);
    const probed = probeDevices(files);
    expect(probed.map((d) => [d.name, d.type])).toEqual(here.map((d) => [d.name, d.type]));
  });

  it("a probe of a library that cannot load fails with the reason", () => {
    const { files } = loadLlamaLibrary();
    expect(() => probeDevices({ ...files, libggml: "/nonexistent/libggml.so" })).toThrow(
      /^probing \/nonexistent\/libggml\.so failed \(exit 1\): Failed to load shared library/,
    );
  });

  it("loads the fallback folder only for a GPU build that showed no GPU device", () => {
    const { files } = loadLlamaLibrary();
    const loaded: string[] = [];
    const record = (dir: string) => loaded.push(dir);
    registerBackends({ ...files, fallbackDir: "/fb" }, record);
    expect(loaded).toEqual([files.binsDir]);
    loaded.length = 0;
    // The CPU libraries, labelled as a CUDA build: no GPU device, so the fallback is tried.
    registerBackends({ ...files, backend: "cuda", fallbackDir: "/fb" }, record);
    expect(loaded).toEqual([files.binsDir, "/fb"]);
  });
});
