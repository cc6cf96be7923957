import { describe, expect, it } from "vitest";
import { firstInvalidUtf8 } from "./utf8.js";

describe("firstInvalidUtf8", () => {
  it("returns -1 for valid UTF-8, including 4-byte sequences", () => {
    expect(firstInvalidUtf8(Buffer.from("aé–😀z"))).toBe(-1);
    expect(firstInvalidUtf8(new Uint8Array())).toBe(-1);
  });

  it("finds lone continuation bytes, overlongs, surrogates, truncation and out-of-range leads", () => {
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(Uint8Array.from([0xc0, 0xaf]))).toBe(0); // overlong '/'
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xe0, 0x80, 0x80]))).toBe(1); // overlong 3-byte
    expect(firstInvalidUtf8(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe(0); // UTF-16 surrogate
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0x62, 0xe2, 0x80]))).toBe(2); // truncated
    expect(firstInvalidUtf8(Uint8Array.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // > U+10FFFF
    expect(firstInvalidUtf8(Uint8Array.from([0xff]))).toBe(0);
  });

  it("agrees with TextDecoder({fatal}) on whether bytes are valid", () => {
    const samples = [
      [0xe2, 0x82, 0xac],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98, 0x80],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xc2, 0xa0, 0x41],
    ];
    for (const s of samples) {
      const bytes = Uint8Array.from(s);
      let valid = true;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        valid = false;
      }
      expect(firstInvalidUtf8(bytes) === -1, JSON.stringify(s)).toBe(valid);
    }
  });
});
