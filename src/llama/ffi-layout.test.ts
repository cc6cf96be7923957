// Fails loudly when our koffi struct layouts or symbols drift from the llama.cpp build we load: compiles a C
// program against the real headers (from node-llama-cpp's source bundle) and the real .so files, and compares
// every size, offset and default value with what koffi sees. Needs `git` and `cc`; never skips.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import koffi from "koffi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BOUND_STRUCTS,
  boundSymbols,
  type LibraryFiles,
  LLAMA_CPP_RELEASE,
  loadLlamaLibrary,
  locateLibraries,
  NODE_LLAMA_CPP_VERSION,
} from "./ffi.js";

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.error) {
    throw new Error(`ffi-layout test needs \`${cmd}\` on PATH to check the bindings: ${r.error.message}`);
  }
  if (r.status !== 0) {
    throw new Error(`\`${cmd} ${args.join(" ")}\` failed (${r.status}):\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

// Scalar fields of the two params structs whose defaults we compare with C (pointers are compared as null-ness).
const PARAM_STRUCTS = {
  llama_context_params: "llama_context_default_params",
  llama_model_params: "llama_model_default_params",
} as const;

function fieldsOf(structName: keyof typeof BOUND_STRUCTS): { name: string; primitive: string }[] {
  const info = koffi.introspect(BOUND_STRUCTS[structName]);
  return Object.values(info.members ?? {}).map((m) => ({
    name: m.name,
    primitive: koffi.introspect(m.type).primitive,
  }));
}

function printfFor(expr: string, primitive: string): string {
  switch (primitive) {
    case "Bool":
      return `printf("%d\\n", (int)(${expr}));`;
    case "Int8":
    case "Int16":
    case "Int32":
      return `printf("%d\\n", (int)(${expr}));`;
    case "UInt8":
    case "UInt16":
    case "UInt32":
      return `printf("%u\\n", (unsigned)(${expr}));`;
    case "Int64":
    case "UInt64":
      return `printf("%lld\\n", (long long)(${expr}));`;
    case "Float32":
    case "Float64":
      return `printf("%.9g\\n", (double)(${expr}));`;
    default:
      // Pointers, callbacks: only whether they are NULL.
      return `printf("%d\\n", (${expr}) == 0 ? 0 : 1);`;
  }
}

function cProgram(files: LibraryFiles): string {
  const lines: string[] = [
    "#include <stdio.h>",
    "#include <stddef.h>",
    '#include "llama.h"',
    '#include "ggml-backend.h"',
    "int main(void) {",
  ];
  for (const structName of Object.keys(BOUND_STRUCTS) as (keyof typeof BOUND_STRUCTS)[]) {
    lines.push(`  printf("${structName} sizeof %zu\\n", sizeof(struct ${structName}));`);
    lines.push(`  printf("${structName} alignof %zu\\n", _Alignof(struct ${structName}));`);
    for (const f of fieldsOf(structName)) {
      lines.push(
        `  printf("${structName} offsetof.${f.name} %zu\\n", offsetof(struct ${structName}, ${f.name}));`,
      );
      lines.push(
        `  printf("${structName} sizeof.${f.name} %zu\\n", sizeof(((struct ${structName} *)0)->${f.name}));`,
      );
    }
  }
  for (const [structName, fn] of Object.entries(PARAM_STRUCTS)) {
    lines.push(`  { struct ${structName} p = ${fn}();`);
    for (const f of fieldsOf(structName as keyof typeof BOUND_STRUCTS)) {
      lines.push(`    printf("${structName} default.${f.name} "); ${printfFor(`p.${f.name}`, f.primitive)}`);
    }
    lines.push("  }");
  }
  // Taking each bound function's address makes the link fail if any symbol is missing from the .so files.
  for (const { symbols } of boundSymbols(files)) {
    for (const s of symbols) lines.push(`  printf("symbol ${s} %d\\n", (void *)&${s} != NULL);`);
  }
  lines.push("  return 0;", "}");
  return lines.join("\n");
}

describe("llama.cpp FFI layout", () => {
  let dir = "";
  let files: LibraryFiles;
  const c = new Map<string, string>();

  beforeAll(() => {
    // The CPU build (gpu: false), whatever GPU builds are installed: the headers are the same for all of them.
    files = locateLibraries(false);
    if (!existsSync(files.sourceBundle)) {
      throw new Error(
        `node-llama-cpp's llama.cpp source bundle is missing (${files.sourceBundle}); the layout check needs its headers`,
      );
    }
    dir = mkdtempSync(join(tmpdir(), "steerbench-ffi-layout-"));
    const src = join(dir, "llama.cpp");
    // Only the public headers are needed; a no-checkout clone plus a path checkout keeps this to ~2 s.
    run("git", ["clone", "--quiet", "--no-checkout", files.sourceBundle, src]);
    run(
      "git",
      ["-c", "advice.detachedHead=false", "checkout", "--quiet", "HEAD", "--", "include", "ggml/include"],
      src,
    );
    writeFileSync(join(dir, "layout.c"), cProgram(files));
    const exe = join(dir, "layout");
    run("cc", [
      "-std=c11",
      "-Wall",
      "-Werror=implicit-function-declaration",
      "-Wno-deprecated-declarations",
      "-I",
      join(src, "include"),
      "-I",
      join(src, "ggml", "include"),
      join(dir, "layout.c"),
      "-o",
      exe,
      `-L${files.binsDir}`,
      `-l:libllama.${LLAMA_CPP_RELEASE}.so`,
      `-l:libggml.${LLAMA_CPP_RELEASE}.so`,
      "-l:libggml-base.so",
      `-Wl,-rpath,${files.binsDir}`,
    ]);
    for (const line of run(exe, []).trim().split("\n")) {
      const at = line.lastIndexOf(" ");
      c.set(line.slice(0, at), line.slice(at + 1));
    }
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is pinned to the installed versions", () => {
    expect(LLAMA_CPP_RELEASE).toBe("v0.5.0");
    expect(NODE_LLAMA_CPP_VERSION).toBe("3.22.1");
    expect(files.libllama.endsWith(`libllama.${LLAMA_CPP_RELEASE}.so`)).toBe(true);
  });

  for (const structName of Object.keys(BOUND_STRUCTS) as (keyof typeof BOUND_STRUCTS)[]) {
    it(`${structName}: size, alignment and every field offset match C`, () => {
      const t = BOUND_STRUCTS[structName];
      const mismatches: string[] = [];
      const check = (key: string, ours: number) => {
        const theirs = c.get(`${structName} ${key}`);
        if (theirs === undefined) mismatches.push(`${key}: C printed nothing`);
        else if (Number(theirs) !== ours) mismatches.push(`${key}: koffi ${ours} vs C ${theirs}`);
      };
      check("sizeof", koffi.sizeof(t));
      check("alignof", koffi.alignof(t));
      for (const f of fieldsOf(structName)) {
        check(`offsetof.${f.name}`, koffi.offsetof(t, f.name));
        const member = koffi.introspect(t).members?.[f.name];
        check(`sizeof.${f.name}`, member ? koffi.sizeof(member.type) : -1);
      }
      expect(mismatches, `${structName} layout drifted from llama.h`).toEqual([]);
    });
  }

  it("every bound symbol is exported by the .so files and binds in koffi", () => {
    const missing: string[] = [];
    for (const { symbols } of boundSymbols(files)) {
      for (const s of symbols) if (c.get(`symbol ${s}`) !== "1") missing.push(s);
    }
    expect(missing).toEqual([]);
    expect(() => loadLlamaLibrary(false)).not.toThrow();
  });

  it("decodes llama_context_default_params / llama_model_default_params exactly as C sees them", () => {
    const { fn } = loadLlamaLibrary(false);
    const decoded: Record<string, Record<string, unknown>> = {
      llama_context_params: { ...fn.llama_context_default_params() },
      llama_model_params: { ...fn.llama_model_default_params() },
    };
    for (const structName of Object.keys(PARAM_STRUCTS) as (keyof typeof PARAM_STRUCTS)[]) {
      for (const f of fieldsOf(structName)) {
        const value = decoded[structName]?.[f.name];
        const theirs = c.get(`${structName} default.${f.name}`);
        let ours: number;
        if (typeof value === "boolean") ours = value ? 1 : 0;
        else if (typeof value === "number" || typeof value === "bigint") ours = Number(value);
        else ours = value === null || value === undefined ? 0 : 1;
        if (f.primitive === "Float32") {
          expect(ours, `${structName}.${f.name}`).toBeCloseTo(Number(theirs), 6);
        } else {
          expect(ours, `${structName}.${f.name}`).toBe(Number(theirs));
        }
      }
    }
    // Known defaults of this release (src/llama-context.cpp, src/llama-model.cpp).
    const cp = fn.llama_context_default_params();
    expect(cp).toMatchObject({
      n_ctx: 512,
      n_batch: 2048,
      n_ubatch: 512,
      n_seq_max: 1,
      n_threads: 4,
      n_threads_batch: 4,
      flash_attn_type: -1,
      type_k: 1,
      type_v: 1,
      cb_eval: null,
      offload_kqv: true,
      kv_unified: false,
    });
    const mp = fn.llama_model_default_params();
    expect(mp).toMatchObject({ n_gpu_layers: -1, vocab_only: false, use_extra_bufts: true, devices: null });
    expect(fn.llama_sampler_chain_default_params()).toEqual({ no_perf: true });
  });
});
