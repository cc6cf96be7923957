// The verified layout table must equal what koffi computes here (where ffi-layout.test.ts proves koffi equals
// C), and any drift from it must stop the load.
import koffi from "koffi";
import { describe, expect, it } from "vitest";
import { assertVerifiedLayouts, EXPECTED_LAYOUTS, layoutMismatches } from "./abi.js";
import { BOUND_STRUCTS } from "./ffi.js";

describe("struct layouts checked at load time", () => {
  it("the verified table covers exactly the bound structs and matches this platform", () => {
    expect(Object.keys(EXPECTED_LAYOUTS).sort()).toEqual(Object.keys(BOUND_STRUCTS).sort());
    expect(layoutMismatches(BOUND_STRUCTS)).toEqual([]);
    expect(() => assertVerifiedLayouts(BOUND_STRUCTS)).not.toThrow();
  });

  it("a struct laid out differently is refused, naming the field", () => {
    // llama_batch as an ABI with 4-byte pointers would see it (only `token` shrunk here).
    const drifted = koffi.struct({
      n_tokens: "int32_t",
      token: "int32_t",
      embd: "float *",
      pos: "int32_t *",
      n_seq_id: "int32_t *",
      seq_id: "int32_t **",
      logits: "int8_t *",
    });
    const bad = layoutMismatches({ ...BOUND_STRUCTS, llama_batch: drifted });
    expect(bad).toEqual([
      "sizeof(llama_batch) is 48, expected 56",
      "offsetof(llama_batch, token) is 4, expected 8",
      "offsetof(llama_batch, embd) is 8, expected 16",
      "offsetof(llama_batch, pos) is 16, expected 24",
      "offsetof(llama_batch, n_seq_id) is 24, expected 32",
      "offsetof(llama_batch, seq_id) is 32, expected 40",
      "offsetof(llama_batch, logits) is 40, expected 48",
    ]);
    const packed = koffi.pack({ n_tokens: "int32_t", token: "int32_t *" });
    const missing = layoutMismatches({ llama_chat_message: packed });
    expect(missing).toContain("offsetof(llama_chat_message, token) is 4, expected undefined");
    expect(missing).toContain("offsetof(llama_chat_message, role) is undefined, expected 0");
    expect(() => assertVerifiedLayouts({ llama_chat_message: packed })).toThrow(
      /^refusing to load llama\.cpp on .*: its struct layouts differ from the verified ones \(x86-64 System V, AAPCS64, Win64\): sizeof\(llama_chat_message\) is 12, expected 16/,
    );
  });

  it("a struct with no verified layout is refused", () => {
    expect(layoutMismatches({ mystery: koffi.struct({ a: "int" }) })).toEqual([
      "mystery: no verified layout",
    ]);
  });
});
