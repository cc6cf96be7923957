import { describe, expect, it } from "vitest";
import { extractPyStrings } from "./py-literals.js";

const values = (src: string) => extractPyStrings(src).map((l) => l.value);

describe("extractPyStrings", () => {
  it("decodes single, double and triple-quoted strings with escapes", () => {
    const src = [
      `A = 'it\\'s'`,
      `B = "tab\\there\\nnew \\"q\\" \\\\ \\x41\\u00e9\\U0001F600\\101"`,
      `C = """multi`,
      `line "quoted" \\`,
      `joined"""`,
    ].join("\n");
    expect(extractPyStrings(src)).toEqual([
      { value: "it's", line: 1, name: "A" },
      { value: 'tab\there\nnew "q" \\ Aé😀A', line: 2, name: "B" },
      { value: 'multi\nline "quoted" joined', line: 3, name: "C" },
    ]);
  });

  it("keeps unknown escapes and does not decode raw strings", () => {
    expect(values(`X = "a\\qb"\nY = r"\\d+\\n"`)).toEqual(["a\\qb", "\\d+\\n"]);
  });

  it("keeps f-string replacement fields as placeholders and un-doubles braces", () => {
    const src = 'def f(prompt):\n    t = f"""Q:\n{prompt}\n{{"decision":"x"}} {d["k"]:>{w}}"""\n';
    const [lit] = extractPyStrings(src);
    expect(lit).toEqual({ value: 'Q:\n{prompt}\n{"decision":"x"} {d["k"]:>{w}}', line: 2, name: "t" });
  });

  it("joins adjacent literals inside brackets and across +, and also lists the parts", () => {
    const src = 'self.p = (\n    "one "  # a comment with a "quote"\n    \'two \'\n    + f"{x}three"\n)\n';
    const out = extractPyStrings(src);
    expect(out[0]).toEqual({ value: "one two {x}three", line: 2, name: "self.p" });
    expect(out.slice(1).map((l) => l.value)).toEqual(["one ", "two ", "{x}three"]);
  });

  it("does not join literals across statements, and skips bytes and comments", () => {
    const src = '# don\'t "parse" me\nA = "a"\n"b"\nB = b"bytes"\nC = "#not a comment"\nif x == "y": pass\n';
    const out = extractPyStrings(src);
    expect(out.map((l) => [l.value, l.name])).toEqual([
      ["a", "A"],
      ["b", undefined],
      ["#not a comment", "C"],
      ["y", undefined],
    ]);
  });

  it("reads CRLF sources as Python does (newlines in literals become \\n)", () => {
    expect(values('A = """x\r\ny"""\r\nB = "z"\r\n')).toEqual(["x\ny", "z"]);
  });

  it("skips \\N{...} escapes it cannot decode instead of guessing", () => {
    expect(values('A = "\\N{BULLET}"\nB = "ok"')).toEqual(["ok"]);
  });

  it("throws on an unterminated literal, naming the line", () => {
    expect(() => extractPyStrings('x = 1\nA = "open\n')).toThrow(/line 2/);
    expect(() => extractPyStrings('A = """never closed')).toThrow(/unterminated/);
  });
});
