// Our GGUF writer and reader against llama.cpp's own (libggml-base from the pinned prebuilt binaries, called
// through koffi): the same keys and tensors written by `gguf_write_to_file` and by `encodeGguf` must be the
// same bytes, and llama.cpp's reader must load our control-vector file with the values we wrote.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import koffi from "koffi";
import { afterAll, describe, expect, it } from "vitest";
import { GgmlTensor, locateLibraries } from "../llama/ffi.js";
import { encodeGguf, type GgufValue } from "./gguf.js";
import { readControlVector, writeControlVector } from "./vector-file.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-gguf-cpp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lib = koffi.load(locateLibraries().libggmlBase);
koffi.opaque("steerbench_test_gguf_context");
// Structs passed by value, registered under their names.
koffi.struct("steerbench_test_ggml_init_params", {
  mem_size: "size_t",
  mem_buffer: "void *",
  no_alloc: "bool",
});
koffi.struct("steerbench_test_gguf_init_params", {
  no_alloc: "bool",
  ctx: "void *",
});
type Ptr = unknown;
const c = {
  ggml_init: lib.func("void *ggml_init(steerbench_test_ggml_init_params params)") as (p: object) => Ptr,
  ggml_free: lib.func("void ggml_free(void *ctx)") as (ctx: Ptr) => void,
  ggml_new_tensor_1d: lib.func("ggml_tensor *ggml_new_tensor_1d(void *ctx, int type, int64_t ne0)") as (
    ctx: Ptr,
    type: number,
    ne0: number,
  ) => Ptr,
  ggml_set_name: lib.func("ggml_tensor *ggml_set_name(ggml_tensor *t, const char *name)") as (
    t: Ptr,
    n: string,
  ) => Ptr,
  ggml_get_tensor: lib.func("ggml_tensor *ggml_get_tensor(void *ctx, const char *name)") as (
    ctx: Ptr,
    n: string,
  ) => Ptr,
  gguf_init_empty: lib.func("steerbench_test_gguf_context *gguf_init_empty()") as () => Ptr,
  gguf_init_from_file: lib.func(
    "steerbench_test_gguf_context *gguf_init_from_file(const char *fname, steerbench_test_gguf_init_params params)",
  ) as (f: string, p: object) => Ptr,
  gguf_free: lib.func("void gguf_free(steerbench_test_gguf_context *ctx)") as (ctx: Ptr) => void,
  gguf_set_val_str: lib.func(
    "void gguf_set_val_str(steerbench_test_gguf_context *ctx, const char *key, const char *val)",
  ) as (ctx: Ptr, k: string, v: string) => void,
  gguf_set_val_i32: lib.func(
    "void gguf_set_val_i32(steerbench_test_gguf_context *ctx, const char *key, int32_t val)",
  ) as (ctx: Ptr, k: string, v: number) => void,
  gguf_set_val_u32: lib.func(
    "void gguf_set_val_u32(steerbench_test_gguf_context *ctx, const char *key, uint32_t val)",
  ) as (ctx: Ptr, k: string, v: number) => void,
  gguf_set_val_f32: lib.func(
    "void gguf_set_val_f32(steerbench_test_gguf_context *ctx, const char *key, float val)",
  ) as (ctx: Ptr, k: string, v: number) => void,
  gguf_set_val_i64: lib.func(
    "void gguf_set_val_i64(steerbench_test_gguf_context *ctx, const char *key, int64_t val)",
  ) as (ctx: Ptr, k: string, v: bigint) => void,
  gguf_add_tensor: lib.func("void gguf_add_tensor(steerbench_test_gguf_context *ctx, ggml_tensor *t)") as (
    ctx: Ptr,
    t: Ptr,
  ) => void,
  gguf_write_to_file: lib.func(
    "bool gguf_write_to_file(steerbench_test_gguf_context *ctx, const char *fname, bool only_meta)",
  ) as (ctx: Ptr, f: string, m: boolean) => boolean,
  gguf_get_n_tensors: lib.func("int64_t gguf_get_n_tensors(steerbench_test_gguf_context *ctx)") as (
    ctx: Ptr,
  ) => number | bigint,
  gguf_find_key: lib.func("int64_t gguf_find_key(steerbench_test_gguf_context *ctx, const char *key)") as (
    ctx: Ptr,
    k: string,
  ) => number | bigint,
  gguf_get_val_str: lib.func(
    "const char *gguf_get_val_str(steerbench_test_gguf_context *ctx, int64_t id)",
  ) as (ctx: Ptr, id: number | bigint) => string,
  gguf_get_val_i32: lib.func("int32_t gguf_get_val_i32(steerbench_test_gguf_context *ctx, int64_t id)") as (
    ctx: Ptr,
    id: number | bigint,
  ) => number,
  gguf_get_val_f32: lib.func("float gguf_get_val_f32(steerbench_test_gguf_context *ctx, int64_t id)") as (
    ctx: Ptr,
    id: number | bigint,
  ) => number,
};

/** A ggml F32 tensor holding `values`, inside `ctx`. */
function tensor(ctx: Ptr, name: string, values: Float32Array): Ptr {
  const t = c.ggml_new_tensor_1d(ctx, 0, values.length);
  c.ggml_set_name(t, name);
  const data = (koffi.decode(t, GgmlTensor) as { data: Ptr }).data;
  koffi.encode(data, "float", values, values.length);
  return t;
}

function tensorValues(t: Ptr): Float32Array {
  const decoded = koffi.decode(t, GgmlTensor) as { data: Ptr; ne: number[] };
  return Float32Array.from(koffi.decode(decoded.data, "float", Number(decoded.ne[0])) as number[]);
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("GGUF compatibility with llama.cpp's gguf", () => {
  const d1 = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i) * 3.25);
  const d3 = Float32Array.from({ length: 64 }, (_, i) => (i % 7) - 3.5e-3);

  it("our encoder writes the same bytes as gguf_write_to_file", () => {
    const ggml = c.ggml_init({ mem_size: 1 << 20, mem_buffer: null, no_alloc: false });
    const gguf = c.gguf_init_empty();
    try {
      c.gguf_set_val_str(gguf, "general.architecture", "controlvector");
      c.gguf_set_val_str(gguf, "controlvector.model_hint", "llama");
      c.gguf_set_val_i32(gguf, "controlvector.layer_count", 2);
      c.gguf_set_val_u32(gguf, "steerbench.pair_count", 71);
      c.gguf_set_val_f32(gguf, "steerbench.auc.1", 0.8125);
      c.gguf_set_val_i64(gguf, "steerbench.seed", -5n);
      c.gguf_add_tensor(gguf, tensor(ggml, "direction.1", d1));
      c.gguf_add_tensor(gguf, tensor(ggml, "direction.3", d3));
      const theirs = join(dir, "theirs.gguf");
      expect(c.gguf_write_to_file(gguf, theirs, false)).toBe(true);

      const kv = new Map<string, GgufValue>([
        ["general.architecture", { type: "string", value: "controlvector" }],
        ["controlvector.model_hint", { type: "string", value: "llama" }],
        ["controlvector.layer_count", { type: "int32", value: 2 }],
        ["steerbench.pair_count", { type: "uint32", value: 71 }],
        ["steerbench.auc.1", { type: "float32", value: 0.8125 }],
        ["steerbench.seed", { type: "int64", value: -5n }],
      ]);
      const ours = encodeGguf(kv, [
        { name: "direction.1", shape: [64], data: d1 },
        { name: "direction.3", shape: [64], data: d3 },
      ]);
      expect(Buffer.from(ours).equals(readFileSync(theirs))).toBe(true);
      // And our control-vector reader accepts llama.cpp's file.
      const vec = readControlVector(theirs);
      expect([...vec.directions.keys()]).toEqual([1, 3]);
      expect(bits(vec.directions.get(3)!).equals(bits(d3))).toBe(true);
      expect(vec.modelHint).toBe("llama");
    } finally {
      c.gguf_free(gguf);
      c.ggml_free(ggml);
    }
  });

  it("llama.cpp's reader loads our control-vector file with every value intact", () => {
    const path = join(dir, "ours.gguf");
    writeControlVector(path, {
      directions: new Map([
        [2, d1],
        [1, d3],
      ]),
      nEmbd: 64,
      modelHint: "llama",
      meta: {
        model: "tiny.gguf",
        method: "pca",
        pairs: "builtin",
        pairCount: 6,
        testPairs: 2,
        layers: "1-2",
        created: "2026-01-01T00:00:00.000Z",
        modelLayers: 4,
        modelEmbd: 64,
        lastTokens: 1,
        seed: 3,
        holdout: 0.25,
        quality: new Map([[1, { auc: 0.75, pairAccuracy: 1, norm: 2 }]]),
      },
    });
    const out = koffi.alloc("void *", 1);
    const gguf = c.gguf_init_from_file(path, { no_alloc: false, ctx: out });
    expect(gguf).not.toBeNull();
    const ggml = koffi.decode(out, "void *") as Ptr;
    try {
      expect(Number(c.gguf_get_n_tensors(gguf))).toBe(2);
      expect(c.gguf_get_val_str(gguf, c.gguf_find_key(gguf, "general.architecture"))).toBe("controlvector");
      expect(c.gguf_get_val_str(gguf, c.gguf_find_key(gguf, "controlvector.model_hint"))).toBe("llama");
      expect(c.gguf_get_val_i32(gguf, c.gguf_find_key(gguf, "controlvector.layer_count"))).toBe(2);
      expect(c.gguf_get_val_f32(gguf, c.gguf_find_key(gguf, "steerbench.auc.1"))).toBe(0.75);
      // Tensors are written in layer order, whatever the map's order.
      expect(bits(tensorValues(c.ggml_get_tensor(ggml, "direction.1"))).equals(bits(d3))).toBe(true);
      expect(bits(tensorValues(c.ggml_get_tensor(ggml, "direction.2"))).equals(bits(d1))).toBe(true);
    } finally {
      c.gguf_free(gguf);
      c.ggml_free(ggml);
      koffi.free(out);
    }
  });
});
