// The tensor encodings `vectors bake` edits, bit-exact with ggml's reference code (ggml/src/ggml-quants.c,
// ggml-impl.h of the bundled llama.cpp): F32, F16 (IEEE binary16, round to nearest even), BF16 (top 16 bits
// of an f32, round to nearest even, NaN kept quiet) and Q8_0 (blocks of 32 values: an fp16 scale d = amax/127
// then 32 int8 q = roundf(x/d); 34 bytes a block). Other ggml types are copied, never decoded.
import { f32ToF16Bits } from "../gguf/half.js";

export const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;
export const QK8_0 = 32;
const Q8_0_BLOCK_BYTES = 2 + QK8_0;

/** ggml type names, for messages about types bake cannot edit. */
const TYPE_NAMES: Record<number, string> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  6: "Q5_0",
  7: "Q5_1",
  8: "Q8_0",
  9: "Q8_1",
  10: "Q2_K",
  11: "Q3_K",
  12: "Q4_K",
  13: "Q5_K",
  14: "Q6_K",
  15: "Q8_K",
  16: "IQ2_XXS",
  17: "IQ2_XS",
  18: "IQ3_XXS",
  19: "IQ1_S",
  20: "IQ4_NL",
  21: "IQ3_S",
  22: "IQ2_S",
  23: "IQ4_XS",
  24: "I8",
  25: "I16",
  26: "I32",
  27: "I64",
  28: "F64",
  29: "IQ1_M",
  30: "BF16",
  34: "TQ1_0",
  35: "TQ2_0",
  39: "MXFP4",
};

export function ggmlTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

/** Whether bake can decode and re-encode this type. */
export function isEditableType(type: number): boolean {
  return (
    type === GGML_TYPE.F32 || type === GGML_TYPE.F16 || type === GGML_TYPE.BF16 || type === GGML_TYPE.Q8_0
  );
}

/** Bytes of `n` values of an editable type. */
export function encodedSize(type: number, n: number): number {
  switch (type) {
    case GGML_TYPE.F32:
      return n * 4;
    case GGML_TYPE.F16:
    case GGML_TYPE.BF16:
      return n * 2;
    case GGML_TYPE.Q8_0:
      if (n % QK8_0 !== 0) throw new RangeError(`Q8_0 needs a multiple of ${QK8_0} values, got ${n}`);
      return (n / QK8_0) * Q8_0_BLOCK_BYTES;
    default:
      throw new RangeError(`${ggmlTypeName(type)} tensors cannot be edited`);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits to a float (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bf16 bits of a float, as ggml_compute_fp32_to_bf16: round to nearest even; NaN becomes a quiet NaN. */
export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}

export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The f32 values of `n` values of an editable type. */
export function decodeTensor(type: number, bytes: Uint8Array, n: number): Float32Array {
  const need = encodedSize(type, n);
  if (bytes.length < need)
    throw new RangeError(`${ggmlTypeName(type)}: ${need} bytes needed, got ${bytes.length}`);
  const d = view(bytes);
  const out = new Float32Array(n);
  switch (type) {
    case GGML_TYPE.F32:
      for (let i = 0; i < n; i++) out[i] = d.getFloat32(4 * i, true);
      break;
    case GGML_TYPE.F16:
      for (let i = 0; i < n; i++) out[i] = f16BitsToF32(d.getUint16(2 * i, true));
      break;
    case GGML_TYPE.BF16:
      for (let i = 0; i < n; i++) out[i] = bf16BitsToF32(d.getUint16(2 * i, true));
      break;
    case GGML_TYPE.Q8_0:
      for (let b = 0; b < n / QK8_0; b++) {
        const base = b * Q8_0_BLOCK_BYTES;
        const scale = f16BitsToF32(d.getUint16(base, true));
        for (let j = 0; j < QK8_0; j++) out[b * QK8_0 + j] = Math.fround(d.getInt8(base + 2 + j) * scale);
      }
      break;
  }
  return out;
}

/** roundf: half away from zero. */
const roundf = (x: number): number => (x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5));

/** Encodes f32 values as `type` (quantize_row_q8_0_ref for Q8_0). */
export function encodeTensor(type: number, values: Float32Array): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(encodedSize(type, n));
  const d = view(out);
  switch (type) {
    case GGML_TYPE.F32:
      for (let i = 0; i < n; i++) d.setFloat32(4 * i, values[i]!, true);
      break;
    case GGML_TYPE.F16:
      for (let i = 0; i < n; i++) d.setUint16(2 * i, f32ToF16Bits(values[i]!), true);
      break;
    case GGML_TYPE.BF16:
      for (let i = 0; i < n; i++) d.setUint16(2 * i, f32ToBf16Bits(values[i]!), true);
      break;
    case GGML_TYPE.Q8_0:
      for (let b = 0; b < n / QK8_0; b++) {
        let amax = 0;
        for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(values[b * QK8_0 + j]!));
        // All in float32, as the C reference computes it.
        const scale = Math.fround(amax / 127);
        const inv = scale !== 0 ? Math.fround(1 / scale) : 0;
        const base = b * Q8_0_BLOCK_BYTES;
        d.setUint16(base, f32ToF16Bits(scale), true);
        for (let j = 0; j < QK8_0; j++)
          d.setInt8(base + 2 + j, roundf(Math.fround(values[b * QK8_0 + j]! * inv)));
      }
      break;
  }
  return out;
}
