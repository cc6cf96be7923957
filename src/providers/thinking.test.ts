import { describe, expect, it } from "vitest";
import { pyStrip, splitThinking } from "./thinking.js";

describe("pyStrip", () => {
  it("strips both ends with Python's whitespace set, not JS trim's", () => {
    expect(pyStrip("\n\t  text \r\n")).toBe("text");
    // Python strips \x85 and \x1c-\x1f; JS trim() does not.
    expect(pyStrip("\x85\x1cabc\x1f\x85")).toBe("abc");
    // JS trim() strips the BOM; Python does not.
    expect(pyStrip("\ufeffabc\ufeff")).toBe("\ufeffabc\ufeff");
    expect(pyStrip("\u3000a b\u2028")).toBe("a b");
    expect(pyStrip("   ")).toBe("");
  });
});

describe("splitThinking", () => {
  it("splits at the last </think> and strips both parts", () => {
    expect(splitThinking("<think>\nplan A\n</think>\n\n  The answer.  \n")).toEqual({
      thinking: "plan A",
      response: "The answer.",
    });
  });

  it("uses the LAST </think> when there are several", () => {
    const out = splitThinking("first</think>second</think>\nfinal");
    expect(out.response).toBe("final");
    expect(out.thinking).toBe("first</think>second");
  });

  it("handles thinking without an opening tag (Qwen3 Thinking-2507 templates open it in the prompt)", () => {
    expect(splitThinking("reasoning here\n</think>\n\nanswer")).toEqual({
      thinking: "reasoning here",
      response: "answer",
    });
  });

  it("without </think> the whole text is the (stripped) response and there is no thinking", () => {
    expect(splitThinking("  <think> unfinished reasoning ")).toEqual({
      thinking: undefined,
      response: "<think> unfinished reasoning",
    });
  });

  it("an empty answer after </think> stays empty", () => {
    expect(splitThinking("<think>x</think>\n")).toEqual({ thinking: "x", response: "" });
  });
});
