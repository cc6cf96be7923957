// Model GGUF files as whole files: the header (via gguf.ts) plus each tensor's raw bytes, of any ggml type,
// read one tensor at a time from the file, and a writer that streams a new file with edited metadata and
// some tensors replaced. Unedited tensors are copied byte for byte, so a model of any quantisation keeps
// every tensor `vectors bake` does not touch exactly as it was.
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { encodeGgufHeader, GgufError, type GgufFile, type GgufValue, readGgufFile } from "../gguf/gguf.js";
import { decodeTensor, encodedSize, encodeTensor, ggmlTypeName, isEditableType } from "./quant.js";

export interface ModelTensor {
  name: string;
  shape: number[];
  type: number;
  /** Bytes from this tensor's data offset to the next tensor's (or the file's end): data plus padding. */
  span: number;
  /** Absolute file offset of the data. */
  fileOffset: number;
}

export interface ModelFile {
  path: string;
  header: GgufFile;
  tensors: ModelTensor[];
  byName: Map<string, ModelTensor>;
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Reads a model's header and tensor layout (no weights). */
export function openModelFile(path: string): ModelFile {
  const header = readGgufFile(path, { data: false });
  const fd = openSync(path, "r");
  let size: number;
  try {
    size = fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
  const order = [...header.tensors].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  const spans = new Map<string, number>();
  for (const [i, t] of order.entries()) {
    const start = header.dataOffset + Number(t.offset);
    const end = i + 1 < order.length ? header.dataOffset + Number(order[i + 1]!.offset) : size;
    if (end < start || start > size) throw new GgufError(`${path}: tensor ${t.name} lies outside the file`);
    spans.set(t.name, end - start);
  }
  const tensors = header.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    type: t.type,
    span: spans.get(t.name)!,
    fileOffset: header.dataOffset + Number(t.offset),
  }));
  for (const t of tensors) {
    if (isEditableType(t.type) && encodedSize(t.type, elementCount(t.shape)) > t.span) {
      throw new GgufError(`${path}: truncated file: tensor ${t.name} needs more bytes than the file holds`);
    }
  }
  return { path, header, tensors, byName: new Map(tensors.map((t) => [t.name, t])) };
}

/** The raw bytes of a tensor (its data, without padding for editable types; the whole span otherwise). */
export function readTensorBytes(model: ModelFile, t: ModelTensor): Uint8Array {
  const n = isEditableType(t.type) ? encodedSize(t.type, elementCount(t.shape)) : t.span;
  const buf = new Uint8Array(n);
  const fd = openSync(model.path, "r");
  try {
    let got = 0;
    while (got < n) {
      const r = readSync(fd, buf, got, n - got, t.fileOffset + got);
      if (r === 0) throw new GgufError(`${model.path}: truncated file reading tensor ${t.name}`);
      got += r;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** A tensor's values as f32; the error names the tensor when its type cannot be decoded. */
export function readTensorF32(model: ModelFile, t: ModelTensor): Float32Array {
  if (!isEditableType(t.type)) {
    throw new GgufError(
      `${model.path}: tensor ${t.name} is ${ggmlTypeName(t.type)}; only F32, F16, BF16 and Q8_0 tensors can be edited (requantise the model to Q8_0 or F16 first)`,
    );
  }
  return decodeTensor(t.type, readTensorBytes(model, t), elementCount(t.shape));
}

/** A tensor added to a model file as raw bytes of its type (e.g. a copy of another tensor). */
export interface RawTensor {
  name: string;
  shape: number[];
  type: number;
  byteLength: number;
  /** The bytes, read when the tensor is written. */
  bytes: () => Uint8Array;
}

/** New f32 values for a tensor, or a function computing them when the tensor is written (one at a time). */
export type Replacement = Float32Array | (() => Float32Array);

/**
 * Writes `model` to `out` (atomically) with the metadata `kv` and the tensors in `replace` (name → f32 values,
 * re-encoded to the tensor's own type, or to `retype`'s type for that name); all other tensors are copied byte
 * for byte. Lazy replacements keep one tensor in memory at a time, whatever the model's size.
 */
export function writeModelFile(
  model: ModelFile,
  out: string,
  kv: ReadonlyMap<string, GgufValue>,
  replace: ReadonlyMap<string, Replacement>,
  retype: ReadonlyMap<string, number> = new Map(),
  add: readonly RawTensor[] = [],
): void {
  for (const t of add) {
    if (model.byName.has(t.name)) throw new GgufError(`${model.path}: tensor ${t.name} exists already`);
  }
  for (const name of [...replace.keys(), ...retype.keys()]) {
    if (!model.byName.has(name)) throw new GgufError(`${model.path}: no tensor ${name} to replace`);
  }
  for (const name of retype.keys()) {
    if (!replace.has(name)) throw new GgufError(`tensor ${name}: a new type needs new values`);
  }
  const layout = model.tensors.map((t) => {
    const type = retype.get(t.name) ?? t.type;
    const span = replace.has(t.name) ? encodedSize(type, elementCount(t.shape)) : t.span;
    return { ...t, type, span };
  });
  const { header } = encodeGgufHeader(
    kv,
    [
      ...layout.map((t) => ({ name: t.name, shape: t.shape, type: t.type, byteLength: t.span })),
      ...add.map((t) => ({ name: t.name, shape: t.shape, type: t.type, byteLength: t.byteLength })),
    ],
    model.header.alignment,
  );
  const tmp = `${out}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  let pos = 0;
  const write = (b: Uint8Array) => {
    let done = 0;
    while (done < b.length) done += writeSync(fd, b, done, b.length - done, pos + done);
    pos += b.length;
  };
  const align = model.header.alignment;
  try {
    write(header);
    for (const [i, t] of layout.entries()) {
      const given = replace.get(t.name);
      let bytes: Uint8Array;
      if (given) {
        const values = typeof given === "function" ? given() : given;
        if (values.length !== elementCount(t.shape)) {
          throw new GgufError(
            `tensor ${t.name}: ${values.length} values for shape ${JSON.stringify(t.shape)}`,
          );
        }
        bytes = encodeTensor(t.type, values);
      } else {
        bytes = readTensorBytes(model, model.tensors[i]!);
      }
      write(bytes);
      // Pad to the span's aligned size: the layout matches the header's offsets.
      const target = Math.ceil(t.span / align) * align;
      if (bytes.length < target) write(new Uint8Array(target - bytes.length));
    }
    for (const t of add) {
      const bytes = t.bytes();
      if (bytes.length !== t.byteLength) {
        throw new GgufError(`tensor ${t.name}: ${bytes.length} bytes, the header says ${t.byteLength}`);
      }
      write(bytes);
      const target = Math.ceil(bytes.length / align) * align;
      if (bytes.length < target) write(new Uint8Array(target - bytes.length));
    }
    closeSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, out);
}
