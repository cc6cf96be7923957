import { describe, expect, it } from "vitest";
import { isPyWhitespace, pyLstrip, pyRstrip, pyStrip } from "./pystr.js";

describe("pyStrip", () => {
  it("strips ASCII whitespace on both sides, including \\r, \\v and \\f", () => {
    expect(pyStrip(" \t\r\n\v\fabc def\r\n \t")).toBe("abc def");
    expect(pyRstrip("  abc \r\n")).toBe("  abc");
    expect(pyLstrip("\r\n abc  ")).toBe("abc  ");
  });

  it("strips the separators Python treats as whitespace but JavaScript's trim() does not", () => {
    // U+001C..U+001F (information separators) and U+0085 (NEL) are str.isspace() in Python.
    const s = "\u001c\u001d\u001e\u001f\u0085x\u0085\u001f";
    expect(pyStrip(s)).toBe("x");
    expect(s.trim()).not.toBe("x");
  });

  it("keeps U+FEFF and zero-width space, which Python does not strip (trim() strips U+FEFF)", () => {
    expect(pyStrip("\ufeffx\ufeff")).toBe("\ufeffx\ufeff");
    expect(pyStrip("\u200bx\u200b")).toBe("\u200bx\u200b");
    expect("\ufeffx".trim()).toBe("x");
  });

  it("strips Unicode spaces: NBSP, ideographic space, line/paragraph separators", () => {
    expect(pyStrip("\u00a0\u3000\u2028\u2029\u202f\u205f\u1680\u2000\u200ay\u00a0")).toBe("y");
    expect(isPyWhitespace("\u2007")).toBe(true);
    expect(isPyWhitespace("a")).toBe(false);
  });

  it("returns the empty string for all-whitespace input and leaves inner whitespace alone", () => {
    expect(pyStrip(" \r\n\t ")).toBe("");
    expect(pyStrip("a \r\n b")).toBe("a \r\n b");
    expect(pyStrip("")).toBe("");
  });
});
