import { describe, expect, it } from "vitest";
import { isSecretHeader, REDACTED, redact } from "./redact.js";

describe("redact", () => {
  it("replaces every occurrence of each secret", () => {
    expect(redact("key sk-abc123 and again sk-abc123!", ["sk-abc123"])).toBe(
      `key ${REDACTED} and again ${REDACTED}!`,
    );
  });
  it("ignores empty and very short secrets", () => {
    expect(redact("a b c", ["", "a"])).toBe("a b c");
  });
  it("recognises secret-bearing header names", () => {
    expect(isSecretHeader("X-Api-Key")).toBe(true);
    expect(isSecretHeader("Authorization")).toBe(true);
    expect(isSecretHeader("HTTP-Referer")).toBe(false);
  });
});
