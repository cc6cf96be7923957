import { describe, expect, it } from "vitest";
import { StopMatcher } from "./stop.js";

function stream(pieces: string[], stops: string[]): { text: string; at: number } {
  const m = new StopMatcher(stops);
  let text = "";
  for (const p of pieces) {
    const prev = text.length;
    text += p;
    const at = m.find(text, prev);
    if (at !== -1) return { text: text.slice(0, at), at };
  }
  return { text, at: -1 };
}

describe("StopMatcher", () => {
  it("finds a stop string that straddles pieces", () => {
    expect(stream(["Hello wo", "rl", "d! more"], ["world"])).toEqual({ text: "Hello ", at: 6 });
  });

  it("reports the earliest of several stop strings", () => {
    expect(stream(["a b\n\nc END"], ["END", "\n\n"])).toEqual({ text: "a b", at: 3 });
  });

  it("ignores empty stop strings and texts without a match", () => {
    const m = new StopMatcher(["", ""]);
    expect(m.active).toBe(false);
    expect(stream(["abc", "def"], ["xyz"])).toEqual({ text: "abcdef", at: -1 });
  });

  it("does not re-report a match fully inside the earlier text", () => {
    const m = new StopMatcher(["ab"]);
    expect(m.find("abxx", 3)).toBe(-1);
    expect(m.find("xxab", 3)).toBe(2);
  });
});
