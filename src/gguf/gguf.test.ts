import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeGguf, encodeGguf, GgufError, type GgufValue, readGgufFile, writeGgufFile } from "./gguf.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-gguf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const bytesOf = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * One KV (general.architecture = "controlvector") and one tensor direction.1 = [1.5, -2], laid out by hand
 * from gguf.h: 24-byte header, 53-byte KV (ends at 77), 43-byte tensor info (ends at 120), zero padding to
 * 128, then 8 data bytes padded to 160.
 */
const HAND = hex(`
  47475546 03000000 0100000000000000 0100000000000000
  1400000000000000 67656e6572616c2e617263686974656374757265
  08000000
  0d00000000000000 636f6e74726f6c766563746f72
  0b00000000000000 646972656374696f6e2e31
  01000000 0200000000000000 00000000 0000000000000000
  0000000000000000
  0000c03f 000000c0
  000000000000000000000000000000000000000000000000
`);

describe("GGUF against hand-computed bytes", () => {
  it("the hand layout has the size the comment computes", () => {
    expect(HAND.length).toBe(160);
  });

  it("reads a file written byte by byte", () => {
    const f = decodeGguf(HAND, "hand.gguf");
    expect(f.version).toBe(3);
    expect(f.alignment).toBe(32);
    expect([...f.kv]).toEqual([["general.architecture", { type: "string", value: "controlvector" }]]);
    expect(f.dataOffset).toBe(128);
    expect(f.tensors).toHaveLength(1);
    const t = f.tensors[0]!;
    expect(t).toMatchObject({ name: "direction.1", shape: [2], type: 0, offset: 0n });
    expect([...t.data!]).toEqual([1.5, -2]);
  });

  it("writes exactly those bytes", () => {
    const out = encodeGguf(new Map([["general.architecture", { type: "string", value: "controlvector" }]]), [
      { name: "direction.1", shape: [2], data: Float32Array.from([1.5, -2]) },
    ]);
    expect(Buffer.from(out).equals(Buffer.from(HAND))).toBe(true);
  });
});

describe("GGUF round trip", () => {
  const kv = new Map<string, GgufValue>([
    ["general.architecture", { type: "string", value: "controlvector" }],
    ["u8", { type: "uint8", value: 255 }],
    ["i8", { type: "int8", value: -128 }],
    ["u16", { type: "uint16", value: 65535 }],
    ["i16", { type: "int16", value: -32768 }],
    ["u32", { type: "uint32", value: 4294967295 }],
    ["i32", { type: "int32", value: -2147483648 }],
    ["f32", { type: "float32", value: Math.fround(0.1) }],
    ["f64", { type: "float64", value: Math.PI }],
    ["u64", { type: "uint64", value: 0xffffffffffffffffn }],
    ["i64", { type: "int64", value: -0x8000000000000000n }],
    ["yes", { type: "bool", value: true }],
    ["no", { type: "bool", value: false }],
    ["unicode ключ ✓", { type: "string", value: "naïve — “quotes” 🙂\n\0end" }],
    ["empty", { type: "string", value: "" }],
    ["arr.f32", { type: "array", itemType: "float32", value: [1, -0.5, Math.fround(1e-30)] }],
    ["arr.str", { type: "array", itemType: "string", value: ["a", "", "ü"] }],
    ["arr.i64", { type: "array", itemType: "int64", value: [1n, -2n] }],
    ["arr.empty", { type: "array", itemType: "uint8", value: [] }],
    ["arr.bool", { type: "array", itemType: "bool", value: [true, false] }],
  ]);
  // Awkward floats: -0, subnormals, extremes, infinities and NaNs with payloads must survive bit for bit.
  const special = new Float32Array(
    new Uint32Array([0x80000000, 0x00000001, 0x7f7fffff, 0xff800000, 0x7fc00001, 0xffa12345, 0x3f800000])
      .buffer,
  );
  const tensors = [
    { name: "direction.1", shape: [7], data: special },
    {
      name: "direction.2",
      shape: [33],
      data: Float32Array.from({ length: 33 }, (_, i) => Math.sin(i) * 1e3),
    },
    { name: "matrix", shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    // A subarray view with an odd byte offset into its buffer.
    { name: "view", shape: [2, 1], data: new Float32Array(new Float32Array([9, 8, 7, 6]).buffer, 4, 2) },
  ];

  it("is bit-exact for every value type and tensor", () => {
    const path = join(dir, "round.gguf");
    writeGgufFile(path, kv, tensors);
    const f = readGgufFile(path);
    expect([...f.kv.keys()]).toEqual([...kv.keys()]);
    for (const [k, v] of kv) expect(f.kv.get(k), k).toEqual(v);
    expect(f.tensors.map((t) => [t.name, t.shape])).toEqual([
      ["direction.1", [7]],
      ["direction.2", [33]],
      ["matrix", [3, 2]],
      // ggml_n_dims: the trailing 1 is not written.
      ["view", [2]],
    ]);
    tensors.forEach((t, i) => {
      expect(bytesOf(f.tensors[i]!.data!).equals(bytesOf(t.data)), t.name).toBe(true);
    });
    // Offsets are aligned and back to back: 7 floats → 32, 33 floats → 160, 6 → 32.
    expect(f.tensors.map((t) => t.offset)).toEqual([0n, 32n, 192n, 224n]);
    expect(f.dataOffset % 32).toBe(0);
    const size = readFileSync(path).length;
    expect(size).toBe(f.dataOffset + 256);
  });

  it("reads only the header when asked", () => {
    const path = join(dir, "round.gguf");
    const header = readGgufFile(path, { tensors: false });
    expect(header.tensors).toEqual([]);
    expect(header.kv.get("u8")).toEqual({ type: "uint8", value: 255 });
    const infos = readGgufFile(path, { data: false });
    expect(infos.tensors.every((t) => t.data === undefined)).toBe(true);
  });

  it("honours general.alignment", () => {
    const k = new Map<string, GgufValue>([["general.alignment", { type: "uint32", value: 64 }]]);
    const out = encodeGguf(k, [{ name: "t", shape: [1], data: Float32Array.from([1]) }], 64);
    const f = decodeGguf(out);
    expect(f.alignment).toBe(64);
    expect(f.dataOffset % 64).toBe(0);
    expect(out.length).toBe(f.dataOffset + 64);
    expect(() => encodeGguf(new Map(), [], 64)).toThrow(/general.alignment/);
    expect(() => encodeGguf(new Map(), [], 24)).toThrow(/power of 2/);
  });
});

describe("GGUF errors", () => {
  it("rejects a bad magic, naming the file", () => {
    const bad = HAND.slice();
    bad.set([0x4e, 0x4f, 0x50, 0x45], 0);
    expect(() => decodeGguf(bad, "x.gguf")).toThrow(/x\.gguf: not a GGUF file: magic "NOPE"/);
    expect(() => decodeGguf(new Uint8Array(2), "tiny.gguf")).toThrow(
      /tiny\.gguf: not a GGUF file: only 2 bytes/,
    );
  });

  it("rejects every truncation with a clear error instead of garbage", () => {
    for (let n = 4; n < HAND.length; n++) {
      expect(() => decodeGguf(HAND.subarray(0, n), "cut.gguf"), `cut at ${n}`).toThrow(GgufError);
    }
    expect(() => decodeGguf(HAND.subarray(0, 100), "cut.gguf")).toThrow(
      /cut\.gguf: truncated file: needed \d+ bytes at offset \d+ \(tensor info 0 \(direction\.1\)\), the file has 100 bytes/,
    );
    expect(() => decodeGguf(HAND.subarray(0, 134), "cut.gguf")).toThrow(/data of tensor direction\.1/);
    expect(() => decodeGguf(HAND.subarray(0, 140), "cut.gguf")).toThrow(
      /padded data section ends at byte 160/,
    );
  });

  it("rejects an absurd string length without allocating it", () => {
    const bad = HAND.slice();
    // The key length becomes 2^62.
    new DataView(bad.buffer).setBigUint64(24, 1n << 62n, true);
    expect(() => decodeGguf(bad, "huge.gguf")).toThrow(
      /huge\.gguf: truncated or corrupt file: string length/,
    );
  });

  it("rejects unknown versions and value types", () => {
    const v = HAND.slice();
    new DataView(v.buffer).setUint32(4, 7, true);
    expect(() => decodeGguf(v, "v.gguf")).toThrow(/unsupported GGUF version 7/);
    new DataView(v.buffer).setUint32(4, 0x03000000, true);
    expect(() => decodeGguf(v, "v.gguf")).toThrow(/big-endian/);
    const t = HAND.slice();
    new DataView(t.buffer).setInt32(52, 42, true);
    expect(() => decodeGguf(t, "t.gguf")).toThrow(/invalid value type 42/);
  });

  it("rejects a tensor offset that does not follow the layout", () => {
    const o = HAND.slice();
    new DataView(o.buffer).setBigUint64(112, 32n, true);
    expect(() => decodeGguf(o, "o.gguf")).toThrow(/offset 32, expected 0|truncated/);
  });

  it("the writer refuses bad input", () => {
    const t = (name: string, shape: number[], n: number) => ({ name, shape, data: new Float32Array(n) });
    expect(() => encodeGguf(new Map(), [t("a", [3], 2)])).toThrow(/holds 3 values, data has 2/);
    expect(() => encodeGguf(new Map(), [t("a", [1], 1), t("a", [1], 1)])).toThrow(/duplicate tensor name/);
    expect(() => encodeGguf(new Map(), [t("x".repeat(64), [1], 1)])).toThrow(/1\.\.63 bytes/);
    expect(() => encodeGguf(new Map([["k", { type: "uint8", value: 256 }]]), [])).toThrow(
      /key k: 256 is not a valid uint8/,
    );
    expect(() => encodeGguf(new Map([["k", { type: "int32", value: 1.5 }]]), [])).toThrow(
      /not a valid int32/,
    );
    expect(() => encodeGguf(new Map([["", { type: "bool", value: true }]]), [])).toThrow(/must not be empty/);
  });

  it("a missing file is named", () => {
    expect(() => readGgufFile(join(dir, "nope.gguf"))).toThrow(/cannot open .*nope\.gguf: ENOENT/);
    writeFileSync(join(dir, "empty.gguf"), "");
    expect(() => readGgufFile(join(dir, "empty.gguf"))).toThrow(/empty\.gguf: not a GGUF file: only 0 bytes/);
  });
});
