// A small GGUF v3 writer and reader (the container llama.cpp uses for models and control vectors), written
// from ggml/include/gguf.h and ggml/src/gguf.cpp of the bundled llama.cpp: little-endian; header = magic
// "GGUF", u32 version, i64 tensor count, i64 KV count; then the KV pairs, the tensor infos (name, u32 n_dims,
// i64 ne[n_dims], i32 ggml type, u64 offset into the data section), zero padding to the alignment, and the
// tensor data, each tensor padded to the alignment (also the last one: llama.cpp reads the padded size).
// Strings are a u64 byte length + UTF-8 bytes without a terminator; bools are one byte.
//
// The writer emits exactly what llama.cpp's `gguf_write_to_file` emits for the same keys and tensors, in the
// same order (checked byte for byte in gguf-llamacpp.test.ts). The reader reads from a file descriptor in
// chunks, so the header of a multi-GB model can be read without reading its weights.
import { closeSync, fstatSync, openSync, readSync, renameSync, writeFileSync } from "node:fs";

export const GGUF_MAGIC = "GGUF";
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_NAME: tensor names must be shorter. */
export const GGUF_MAX_TENSOR_NAME = 64;
export const GGML_TYPE_F32 = 0;

/** gguf_type codes. */
const TYPE_CODES = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufScalarType = Exclude<keyof typeof TYPE_CODES, "array">;
type NumberType = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";
type BigType = "uint64" | "int64";

export type GgufScalar = number | bigint | boolean | string;

export type GgufValue =
  | { type: NumberType; value: number }
  | { type: BigType; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: GgufScalarType; value: GgufScalar[] };

/** A tensor to write: f32 data of the given shape (ggml order: ne[0] first, the contiguous dimension). */
export interface GgufTensorInput {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface GgufTensorInfo {
  name: string;
  /** ne[0 … n_dims−1]. */
  shape: number[];
  /** ggml_type code (0 = F32). */
  type: number;
  /** Offset of the data from the start of the data section. */
  offset: bigint;
  /** The f32 values (a copy); only for F32 tensors and when the data was read. */
  data?: Float32Array;
}

export interface GgufFile {
  version: number;
  alignment: number;
  /** Key-value pairs in file order. */
  kv: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute file offset of the data section. */
  dataOffset: number;
}

export class GgufError extends Error {}

const CODE_TO_TYPE = new Map<number, keyof typeof TYPE_CODES>(
  Object.entries(TYPE_CODES).map(([k, v]) => [v, k as keyof typeof TYPE_CODES]),
);

const SCALAR_SIZE: Record<Exclude<GgufScalarType, "string">, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

const pad = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

// ---------------------------------------------------------------------------------------------------------
// Writing.

class ByteWriter {
  private chunks: Uint8Array[] = [];
  length = 0;

  bytes(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  private fixed(size: number, set: (v: DataView) => void): void {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    this.bytes(b);
  }

  u8(v: number) {
    this.fixed(1, (d) => d.setUint8(0, v));
  }
  i8(v: number) {
    this.fixed(1, (d) => d.setInt8(0, v));
  }
  u16(v: number) {
    this.fixed(2, (d) => d.setUint16(0, v, true));
  }
  i16(v: number) {
    this.fixed(2, (d) => d.setInt16(0, v, true));
  }
  u32(v: number) {
    this.fixed(4, (d) => d.setUint32(0, v, true));
  }
  i32(v: number) {
    this.fixed(4, (d) => d.setInt32(0, v, true));
  }
  f32(v: number) {
    this.fixed(4, (d) => d.setFloat32(0, v, true));
  }
  f64(v: number) {
    this.fixed(8, (d) => d.setFloat64(0, v, true));
  }
  u64(v: bigint) {
    this.fixed(8, (d) => d.setBigUint64(0, v, true));
  }
  i64(v: bigint) {
    this.fixed(8, (d) => d.setBigInt64(0, v, true));
  }
  str(s: string) {
    const b = Buffer.from(s, "utf8");
    this.u64(BigInt(b.length));
    this.bytes(b);
  }
  padTo(alignment: number) {
    const n = pad(this.length, alignment) - this.length;
    if (n > 0) this.bytes(new Uint8Array(n));
  }
  concat(): Uint8Array {
    return Buffer.concat(this.chunks, this.length);
  }
}

const INT_RANGES: Record<Exclude<NumberType, "float32" | "float64">, [number, number]> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};
const BIG_RANGES: Record<BigType, [bigint, bigint]> = {
  uint64: [0n, 0xffffffffffffffffn],
  int64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

function writeScalar(w: ByteWriter, type: GgufScalarType, v: GgufScalar, what: string): void {
  const bad = (): never => {
    throw new GgufError(
      `${what}: ${JSON.stringify(typeof v === "bigint" ? String(v) : v)} is not a valid ${type}`,
    );
  };
  switch (type) {
    case "string":
      if (typeof v !== "string") bad();
      w.str(v as string);
      return;
    case "bool":
      if (typeof v !== "boolean") bad();
      w.i8(v ? 1 : 0);
      return;
    case "uint64":
    case "int64": {
      if (typeof v !== "bigint") bad();
      const [lo, hi] = BIG_RANGES[type];
      if ((v as bigint) < lo || (v as bigint) > hi) bad();
      if (type === "uint64") w.u64(v as bigint);
      else w.i64(v as bigint);
      return;
    }
    case "float32":
    case "float64":
      if (typeof v !== "number") bad();
      if (type === "float32") w.f32(v as number);
      else w.f64(v as number);
      return;
    default: {
      if (typeof v !== "number" || !Number.isInteger(v)) bad();
      const [lo, hi] = INT_RANGES[type];
      if ((v as number) < lo || (v as number) > hi) bad();
      const n = v as number;
      if (type === "uint8") w.u8(n);
      else if (type === "int8") w.i8(n);
      else if (type === "uint16") w.u16(n);
      else if (type === "int16") w.i16(n);
      else if (type === "uint32") w.u32(n);
      else w.i32(n);
    }
  }
}

/** A tensor's entry in the header: its data is `byteLength` bytes of ggml type `type`. */
export interface GgufTensorHeader {
  name: string;
  shape: number[];
  type: number;
  byteLength: number;
}

/**
 * The header of a GGUF v3 file (magic, counts, KV pairs, tensor infos, padding to the alignment) and each
 * tensor's data offset. Tensor data follows back to back, each padded to the alignment.
 */
export function encodeGgufHeader(
  kv: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorHeader[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): { header: Uint8Array; offsets: number[] } {
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new GgufError(`alignment ${alignment} is not a power of 2`);
  }
  const alignKv = kv.get("general.alignment");
  if (alignKv !== undefined && (alignKv.type !== "uint32" || alignKv.value !== alignment)) {
    throw new GgufError(`general.alignment must be the uint32 ${alignment} used for the layout`);
  }
  if (alignKv === undefined && alignment !== GGUF_DEFAULT_ALIGNMENT) {
    throw new GgufError(`a non-default alignment (${alignment}) needs a general.alignment key`);
  }
  const w = new ByteWriter();
  for (const c of GGUF_MAGIC) w.u8(c.charCodeAt(0));
  w.u32(GGUF_VERSION);
  w.i64(BigInt(tensors.length));
  w.i64(BigInt(kv.size));
  for (const [key, value] of kv) {
    if (key === "") throw new GgufError("a GGUF key must not be empty");
    w.str(key);
    if (value.type === "array") {
      if (!(value.itemType in SCALAR_SIZE) && value.itemType !== "string") {
        throw new GgufError(`key ${key}: arrays of ${value.itemType} are not allowed`);
      }
      w.i32(TYPE_CODES.array);
      w.i32(TYPE_CODES[value.itemType]);
      w.u64(BigInt(value.value.length));
      for (const [i, item] of value.value.entries()) writeScalar(w, value.itemType, item, `key ${key}[${i}]`);
    } else {
      w.i32(TYPE_CODES[value.type]);
      writeScalar(w, value.type, value.value, `key ${key}`);
    }
  }
  const names = new Set<string>();
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    if (t.name === "" || Buffer.byteLength(t.name, "utf8") >= GGUF_MAX_TENSOR_NAME) {
      throw new GgufError(
        `tensor name ${JSON.stringify(t.name)} must be 1..${GGUF_MAX_TENSOR_NAME - 1} bytes`,
      );
    }
    if (names.has(t.name)) throw new GgufError(`duplicate tensor name ${JSON.stringify(t.name)}`);
    names.add(t.name);
    if (t.shape.length < 1 || t.shape.length > 4 || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new GgufError(
        `tensor ${t.name}: shape ${JSON.stringify(t.shape)} must be 1 to 4 non-negative integers`,
      );
    }
    // llama.cpp writes ggml_n_dims(t): trailing dimensions of size 1 are dropped (at least one is kept).
    let nDims = t.shape.length;
    while (nDims > 1 && t.shape[nDims - 1] === 1) nDims--;
    w.str(t.name);
    w.u32(nDims);
    for (let d = 0; d < nDims; d++) w.i64(BigInt(t.shape[d]!));
    w.i32(t.type);
    w.u64(BigInt(offset));
    offsets.push(offset);
    offset += pad(t.byteLength, alignment);
  }
  w.padTo(alignment);
  return { header: w.concat(), offsets };
}

/** Serialises a GGUF v3 file. Keys are written in the map's order, tensors in the array's order. */
export function encodeGguf(
  kv: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorInput[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): Uint8Array {
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (
      Array.isArray(t.shape) &&
      t.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      n !== t.data.length
    ) {
      throw new GgufError(
        `tensor ${t.name}: shape ${JSON.stringify(t.shape)} holds ${n} values, data has ${t.data.length}`,
      );
    }
  }
  const { header } = encodeGgufHeader(
    kv,
    tensors.map((t) => ({
      name: t.name,
      shape: t.shape,
      type: GGML_TYPE_F32,
      byteLength: t.data.byteLength,
    })),
    alignment,
  );
  const w = new ByteWriter();
  w.bytes(header);
  for (const t of tensors) {
    w.bytes(f32Bytes(t.data));
    w.padTo(alignment);
  }
  return w.concat();
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The little-endian bytes of f32 values, bit for bit: on little-endian hosts the raw bytes are copied (a
 * DataView round trip could canonicalise NaN payloads); elsewhere each value is byte-swapped.
 */
function f32Bytes(data: Float32Array): Uint8Array {
  const b = new Uint8Array(data.byteLength);
  b.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (!LITTLE_ENDIAN) for (let i = 0; i < b.length; i += 4) b.subarray(i, i + 4).reverse();
  return b;
}

/** f32 values from little-endian bytes, bit for bit (the inverse of f32Bytes). */
function f32FromBytes(raw: Uint8Array): Float32Array {
  const b = raw.slice();
  if (!LITTLE_ENDIAN) for (let i = 0; i < b.length; i += 4) b.subarray(i, i + 4).reverse();
  return new Float32Array(b.buffer, 0, b.length / 4);
}

/** Writes a GGUF file atomically (a temporary file renamed over the target). */
export function writeGgufFile(
  path: string,
  kv: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorInput[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): void {
  const bytes = encodeGguf(kv, tensors, alignment);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

// ---------------------------------------------------------------------------------------------------------
// Reading.

interface Source {
  readonly size: number;
  /** Exactly n bytes at pos, or undefined if the source ends first. */
  read(pos: number, n: number): Uint8Array | undefined;
}

function bufferSource(buf: Uint8Array): Source {
  return {
    size: buf.length,
    read: (pos, n) => (pos + n > buf.length ? undefined : buf.subarray(pos, pos + n)),
  };
}

/** Reads a file descriptor through a sliding chunk, so a model's header is read without its weights. */
function fdSource(fd: number): Source {
  const size = fstatSync(fd).size;
  let chunk = new Uint8Array(0);
  let chunkPos = 0;
  return {
    size,
    read(pos, n) {
      if (pos + n > size) return undefined;
      if (pos >= chunkPos && pos + n <= chunkPos + chunk.length)
        return chunk.subarray(pos - chunkPos, pos - chunkPos + n);
      const len = Math.min(size - pos, Math.max(n, 1 << 20));
      const b = new Uint8Array(len);
      let got = 0;
      while (got < len) {
        const r = readSync(fd, b, got, len - got, pos + got);
        if (r === 0) break;
        got += r;
      }
      if (got < n) return undefined;
      chunk = b.subarray(0, got);
      chunkPos = pos;
      return chunk.subarray(0, n);
    },
  };
}

class Reader {
  pos = 0;
  /** What is being read, for error messages. */
  what = "header";

  constructor(
    private readonly src: Source,
    private readonly label: string,
  ) {}

  fail(message: string): never {
    throw new GgufError(`${this.label}: ${message}`);
  }

  take(n: number): DataView {
    const b = this.src.read(this.pos, n);
    if (b === undefined) {
      this.fail(
        `truncated file: needed ${n} bytes at offset ${this.pos} (${this.what}), the file has ${this.src.size} bytes`,
      );
    }
    this.pos += n;
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  bytes(n: number): Uint8Array {
    const v = this.take(n);
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }

  u32 = () => this.take(4).getUint32(0, true);
  i32 = () => this.take(4).getInt32(0, true);
  u64 = () => this.take(8).getBigUint64(0, true);
  i64 = () => this.take(8).getBigInt64(0, true);

  /** A u64 count that must fit in what is left of the file at `minBytes` bytes per element. */
  count(minBytes: number, what: string): number {
    const n = this.u64();
    const left = BigInt(this.src.size - this.pos);
    if (n > left / BigInt(Math.max(1, minBytes))) {
      this.fail(
        `truncated or corrupt file: ${what} claims ${n} elements at offset ${this.pos - 8}, more than the file holds`,
      );
    }
    return Number(n);
  }

  str(): string {
    const n = this.count(1, `string length (${this.what})`);
    return Buffer.from(this.bytes(n)).toString("utf8");
  }

  scalar(type: GgufScalarType): GgufScalar {
    switch (type) {
      case "uint8":
        return this.take(1).getUint8(0);
      case "int8":
        return this.take(1).getInt8(0);
      case "uint16":
        return this.take(2).getUint16(0, true);
      case "int16":
        return this.take(2).getInt16(0, true);
      case "uint32":
        return this.u32();
      case "int32":
        return this.i32();
      case "float32":
        return this.take(4).getFloat32(0, true);
      case "float64":
        return this.take(8).getFloat64(0, true);
      case "bool":
        return this.take(1).getInt8(0) !== 0;
      case "uint64":
        return this.u64();
      case "int64":
        return this.i64();
      case "string":
        return this.str();
    }
  }

  typeCode(): keyof typeof TYPE_CODES {
    const code = this.i32();
    const type = CODE_TO_TYPE.get(code);
    if (type === undefined) this.fail(`invalid value type ${code} at offset ${this.pos - 4} (${this.what})`);
    return type;
  }
}

export interface ReadGgufOptions {
  /** Read the tensor infos (default true). */
  tensors?: boolean;
  /** Read the data of F32 tensors (default true; needs `tensors`). */
  data?: boolean;
}

function parseGguf(src: Source, label: string, opts: ReadGgufOptions): GgufFile {
  // Explicitly typed so that TypeScript sees r.fail() as never returning.
  const r: Reader = new Reader(src, label);
  if (src.size < 4) r.fail(`not a GGUF file: only ${src.size} bytes`);
  const magic = Buffer.from(r.bytes(4)).toString("latin1");
  if (magic !== GGUF_MAGIC) {
    r.fail(`not a GGUF file: magic ${JSON.stringify(magic)}, expected "GGUF"`);
  }
  const version = r.u32();
  if (version !== 2 && version !== 3) {
    r.fail(
      version !== 0 && (version & 0xffff) === 0
        ? `GGUF version ${version}: a big-endian file? only little-endian is supported`
        : `unsupported GGUF version ${version} (this reader supports 2 and 3)`,
    );
  }
  const nTensors = r.i64();
  const nKv = r.i64();
  const left = BigInt(src.size);
  if (nTensors < 0n || nTensors > left) r.fail(`invalid tensor count ${nTensors}`);
  if (nKv < 0n || nKv > left) r.fail(`invalid key-value count ${nKv}`);

  const kv = new Map<string, GgufValue>();
  for (let i = 0; i < Number(nKv); i++) {
    r.what = `key ${i}`;
    const key = r.str();
    if (key === "") r.fail(`key ${i} is empty`);
    if (kv.has(key)) r.fail(`duplicate key ${JSON.stringify(key)}`);
    r.what = `value of ${key}`;
    const type = r.typeCode();
    if (type === "array") {
      const itemType = r.typeCode();
      if (itemType === "array") r.fail(`key ${key}: nested arrays are not supported`);
      const n = r.count(itemType === "string" ? 8 : SCALAR_SIZE[itemType], `array ${key}`);
      const value: GgufScalar[] = new Array(n);
      for (let k = 0; k < n; k++) value[k] = r.scalar(itemType);
      kv.set(key, { type: "array", itemType, value });
    } else {
      kv.set(key, { type, value: r.scalar(type) } as GgufValue);
    }
  }
  const alignKv = kv.get("general.alignment");
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (alignKv !== undefined) {
    if (alignKv.type !== "uint32") r.fail(`general.alignment must be uint32, is ${alignKv.type}`);
    alignment = alignKv.value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0)
      r.fail(`alignment ${alignment} is not a power of 2`);
  }
  const file: GgufFile = { version, alignment, kv, tensors: [], dataOffset: 0 };
  if (opts.tensors === false) return file;

  const names = new Set<string>();
  for (let i = 0; i < Number(nTensors); i++) {
    r.what = `tensor info ${i}`;
    const name = r.str();
    if (names.has(name)) r.fail(`duplicate tensor name ${JSON.stringify(name)}`);
    names.add(name);
    r.what = `tensor info ${i} (${name})`;
    const nDims = r.u32();
    if (nDims > 4) r.fail(`tensor ${name} has ${nDims} dimensions (at most 4)`);
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const ne = r.i64();
      if (ne < 0n || ne > BigInt(Number.MAX_SAFE_INTEGER)) r.fail(`tensor ${name} dimension ${d} is ${ne}`);
      shape.push(Number(ne));
    }
    const type = r.i32();
    const offset = r.u64();
    file.tensors.push({ name, shape, type, offset });
  }
  file.dataOffset = nTensors > 0n ? pad(r.pos, alignment) : r.pos;
  if (opts.data === false) return file;

  // As llama.cpp: F32 tensors are laid out back to back, each padded to the alignment.
  let expected = 0n;
  for (const t of file.tensors) {
    if (t.type !== GGML_TYPE_F32) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset !== expected && file.tensors.every((x) => x.type === GGML_TYPE_F32)) {
      r.fail(`tensor ${t.name} has data offset ${t.offset}, expected ${expected}`);
    }
    r.pos = file.dataOffset + Number(t.offset);
    r.what = `data of tensor ${t.name}`;
    t.data = f32FromBytes(r.bytes(n * 4));
    expected = t.offset + BigInt(pad(n * 4, alignment));
  }
  // llama.cpp reads the data section with its final padding; a file without it fails there, so here too.
  const end = file.dataOffset + Number(expected);
  if (file.tensors.every((t) => t.type === GGML_TYPE_F32) && end > src.size) {
    r.fail(`truncated file: the padded data section ends at byte ${end}, the file has ${src.size} bytes`);
  }
  return file;
}

/** Parses GGUF bytes. `label` names the source in errors. */
export function decodeGguf(bytes: Uint8Array, label = "(buffer)", opts: ReadGgufOptions = {}): GgufFile {
  return parseGguf(bufferSource(bytes), label, opts);
}

/** Reads a GGUF file; errors name the file. With `{ data: false }` only the header is read. */
export function readGgufFile(path: string, opts: ReadGgufOptions = {}): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new GgufError(
      `cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    return parseGguf(fdSource(fd), path, opts);
  } finally {
    closeSync(fd);
  }
}

/** A string KV, or undefined when absent; throws when present with another type. */
export function kvString(file: GgufFile, key: string, label: string): string | undefined {
  const v = file.kv.get(key);
  if (v === undefined) return undefined;
  if (v.type !== "string") throw new GgufError(`${label}: key ${key} must be a string, is ${v.type}`);
  return v.value;
}

/** A numeric KV (any integer or float type), or undefined when absent. */
export function kvNumber(file: GgufFile, key: string, label: string): number | undefined {
  const v = file.kv.get(key);
  if (v === undefined) return undefined;
  if (typeof v.value === "number") return v.value;
  if (typeof v.value === "bigint") return Number(v.value);
  throw new GgufError(`${label}: key ${key} must be a number, is ${v.type}`);
}
