// Reading Python string literals out of a .py source file, without running Python. `data pull` uses it to
// take the protocol strings from the upstream runner scripts. It covers what those scripts use: single,
// triple-quoted, raw and f-strings, escapes, and literals joined by adjacency or `+`. An f-string's
// replacement fields are kept verbatim (`{specific_prompt}` stays a placeholder) and `{{`/`}}` become braces,
// which is how protocol_strings.json stores the templates.

export interface PyStringLiteral {
  /** The string's value (escapes decoded). */
  value: string;
  /** 1-based line of the first literal. */
  line: number;
  /** Assignment target (`NAME = "..."`, `self.x = (...)`), when the literal is the right-hand side. */
  name: string | undefined;
}

interface Token {
  value: string | undefined; // undefined: bytes literal or an escape this reader does not decode (\N{...})
  start: number;
  end: number;
}

const PREFIXES = new Set(["r", "u", "f", "b", "br", "rb", "fr", "rf"]);

/**
 * Every string expression in `source`: each run of adjacent (or `+`-joined) literals, concatenated, and,
 * for runs of more than one, each literal on its own too.
 */
export function extractPyStrings(source: string): PyStringLiteral[] {
  // Python reads source with universal newlines, so \r\n inside a literal is \n in its value.
  const src = source.replace(/\r\n?/g, "\n");
  const out: PyStringLiteral[] = [];
  let group: Token[] = [];
  let depth = 0;
  let i = 0;

  const flush = () => {
    if (group.length === 0) return;
    const first = group[0]!;
    const line = lineOf(src, first.start);
    const name = assignmentTarget(src, first.start);
    if (group.every((t) => t.value !== undefined)) {
      out.push({ value: group.map((t) => t.value).join(""), line, name });
    }
    if (group.length > 1) {
      for (const t of group) {
        if (t.value !== undefined) out.push({ value: t.value, line: lineOf(src, t.start), name: undefined });
      }
    }
    group = [];
  };

  while (i < src.length) {
    const ch = src[i]!;
    if (ch === "#") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (ch === "\\" && src[i + 1] === "\n") {
      i += 2;
      continue;
    }
    if (ch === " " || ch === "\t" || ch === "\f") {
      i++;
      continue;
    }
    if (ch === "\n") {
      if (depth === 0) flush(); // a newline outside brackets ends the statement
      i++;
      continue;
    }
    if (ch === "+" && group.length > 0) {
      i++; // `"a" + "b"`: keep the group open; a non-literal operand will flush it below
      continue;
    }
    let prefix = "";
    let q = i;
    if (/[A-Za-z_]/.test(ch)) {
      let j = i;
      while (j < src.length && /\w/.test(src[j]!)) j++;
      const word = src.slice(i, j);
      if ((src[j] === '"' || src[j] === "'") && PREFIXES.has(word.toLowerCase())) {
        prefix = word.toLowerCase();
        q = j;
      } else {
        flush();
        i = j;
        continue;
      }
    }
    const quoteChar = src[q];
    if (quoteChar === '"' || quoteChar === "'") {
      const token = readString(src, i, q, prefix);
      group.push(token);
      i = token.end;
      continue;
    }
    flush();
    if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth = Math.max(0, depth - 1);
    i++;
  }
  flush();
  return out;
}

function readString(src: string, start: number, q: number, prefix: string): Token {
  const quote = src[q]!;
  const triple = src.startsWith(quote.repeat(3), q);
  const delim = triple ? quote.repeat(3) : quote;
  let j = q + delim.length;
  const bodyStart = j;
  for (;;) {
    if (j >= src.length)
      throw new SyntaxError(`unterminated string literal starting at line ${lineOf(src, start)}`);
    const c = src[j]!;
    if (c === "\\") {
      j += 2;
      continue;
    }
    if (!triple && c === "\n") {
      throw new SyntaxError(`unterminated string literal at line ${lineOf(src, start)}`);
    }
    if (src.startsWith(delim, j)) break;
    j++;
  }
  const body = src.slice(bodyStart, j);
  const end = j + delim.length;
  if (prefix.includes("b")) return { value: undefined, start, end };
  const value = decodeBody(body, prefix.includes("r"), prefix.includes("f"));
  return { value, start, end };
}

/** Decodes a literal's body; undefined when it uses an escape this reader does not support. */
function decodeBody(body: string, raw: boolean, fstring: boolean): string | undefined {
  let out = "";
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (fstring && c === "{") {
      if (body[i + 1] === "{") {
        out += "{";
        i += 2;
        continue;
      }
      const close = matchBrace(body, i);
      out += body.slice(i, close + 1); // replacement field kept as a literal placeholder
      i = close + 1;
      continue;
    }
    if (fstring && c === "}" && body[i + 1] === "}") {
      out += "}";
      i += 2;
      continue;
    }
    if (c !== "\\" || raw) {
      out += c;
      i++;
      continue;
    }
    const e = body[i + 1];
    i += 2;
    switch (e) {
      case "\n":
        break;
      case "\\":
      case "'":
      case '"':
        out += e;
        break;
      case "a":
        out += "\x07";
        break;
      case "b":
        out += "\b";
        break;
      case "f":
        out += "\f";
        break;
      case "n":
        out += "\n";
        break;
      case "r":
        out += "\r";
        break;
      case "t":
        out += "\t";
        break;
      case "v":
        out += "\v";
        break;
      case "x":
      case "u":
      case "U": {
        const len = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = body.slice(i, i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return undefined;
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        i += len;
        break;
      }
      case "N":
        return undefined;
      default:
        if (e !== undefined && /[0-7]/.test(e)) {
          let digits = e;
          while (digits.length < 3 && /[0-7]/.test(body[i] ?? "")) digits += body[i++];
          out += String.fromCodePoint(Number.parseInt(digits, 8));
        } else {
          out += `\\${e ?? ""}`; // unknown escapes keep the backslash, as in Python
        }
    }
  }
  return out;
}

function matchBrace(body: string, open: number): number {
  let depth = 0;
  for (let k = open; k < body.length; k++) {
    if (body[k] === "{") depth++;
    else if (body[k] === "}" && --depth === 0) return k;
  }
  throw new SyntaxError("unterminated replacement field in f-string");
}

function lineOf(src: string, pos: number): number {
  let line = 1;
  for (let k = 0; k < pos; k++) if (src.charCodeAt(k) === 10) line++;
  return line;
}

function assignmentTarget(src: string, pos: number): string | undefined {
  const before = src.slice(Math.max(0, pos - 300), pos);
  const m = /([A-Za-z_][\w.]*)\s*(?::[^=\n]*)?(?<![=!<>+\-*/%&|^:])=\s*\(?\s*$/.exec(before);
  return m?.[1];
}
