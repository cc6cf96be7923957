// Parsing a judge's reply into one of the allowed labels. Model output is untrusted: anything we cannot
// read unambiguously is a failure ({ok: false}), never a guess. (The original InstrumentalEval mapped
// unparseable replies to no_convergence; the 2601.01584 runner dropped them as judge_failed. We fail.)
//
// Accepted, in this order:
//  1. the whole reply is JSON: `{"decision": "...", "reason": "..."}`;
//  2. JSON objects found in the text — fenced ```json blocks, or embedded in prose (every outermost
//     balanced `{...}` that parses as JSON);
//  3. the original InstrumentalEval line format: `DECISION: convergence` / `REASON: ...`.
// Keys are case-insensitive: decision | label | verdict, and reason | explanation | rationale.
// Labels are normalised for case, surrounding quotes/brackets/asterisks, a final period, and spaces or
// hyphens between words ("No Convergence" and "no-convergence" → no_convergence).
// Several decisions in one reply must agree, or the reply is ambiguous and fails.

export type ParsedVerdict<L extends string = string> =
  | { ok: true; label: L; reason: string | undefined }
  | { ok: false; error: string };

const DECISION_KEYS = ["decision", "label", "verdict"];
const REASON_KEYS = ["reason", "explanation", "rationale"];
/** Judge replies are short; this bounds the quadratic worst case of the brace scan on hostile text. */
const MAX_SCAN_CHARS = 100_000;

export function normaliseLabel(value: string): string {
  return value
    .trim()
    .replace(/^[\s"'`*[\](){}<>]+|[\s"'`*[\](){}<>.,;:!]+$/g, "")
    .toLowerCase()
    .replace(/[\s_-]+/g, "_");
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function tryParse(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

function getKey(obj: JsonObject, names: readonly string[]): Json | undefined {
  for (const name of names) {
    for (const key of Object.keys(obj)) {
      if (key.trim().toLowerCase() === name) return obj[key];
    }
  }
  return undefined;
}

/** End index of the `}` matching the `{` at `start`, skipping JSON strings; -1 when unbalanced. */
function matchBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return i;
  }
  return -1;
}

/** Outermost `{...}` spans that parse as JSON objects; a span that does not parse is searched inside. */
function embeddedObjects(text: string): { objects: JsonObject[]; rest: string } {
  const found: JsonObject[] = [];
  let rest = "";
  let from = 0;
  const limit = Math.min(text.length, MAX_SCAN_CHARS);
  for (let i = text.indexOf("{"); i >= 0 && i < limit; i = text.indexOf("{", i + 1)) {
    const end = matchBrace(text, i);
    if (end < 0) continue;
    const value = tryParse(text.slice(i, end + 1));
    if (isObject(value)) {
      found.push(value);
      rest += `${text.slice(from, i)}\n`;
      from = end + 1;
      i = end;
    }
  }
  return { objects: found, rest: rest + text.slice(from) };
}

interface Candidate {
  value: string;
  reason: string | undefined;
}

function reasonText(value: Json | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = (typeof value === "string" ? value : JSON.stringify(value)).trim();
  return text.length > 0 ? text : undefined;
}

/** The decision of an object, looking one level into nested objects (`{"result": {"decision": ...}}`). */
function fromObject(obj: JsonObject, depth = 0): Candidate | string | undefined {
  const decision = getKey(obj, DECISION_KEYS);
  if (decision !== undefined) {
    if (typeof decision !== "string") return `decision is not a string: ${JSON.stringify(decision)}`;
    return { value: decision, reason: reasonText(getKey(obj, REASON_KEYS)) };
  }
  if (depth > 0) return undefined;
  for (const value of Object.values(obj)) {
    if (isObject(value)) {
      const inner = fromObject(value, depth + 1);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

const KEY_LINE = /^[\s*_#>-]*([a-z]+)[\s*_]*[:=][\s*_]*(.*?)[\s*_]*$/i;

/** `DECISION: x` / `REASON: y` lines; a reason runs on until the next `KEY:` line. */
function fromLines(text: string): Candidate[] {
  const out: Candidate[] = [];
  const lines = text.split(/\r?\n|\r/);
  let reason: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = KEY_LINE.exec(lines[i]!);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    if (DECISION_KEYS.includes(key)) out.push({ value: m[2]!, reason: undefined });
    else if (REASON_KEYS.includes(key) && reason === undefined) {
      const parts = [m[2]!];
      while (i + 1 < lines.length && !KEY_LINE.test(lines[i + 1]!)) parts.push(lines[++i]!);
      reason = parts.join("\n").trim() || undefined;
    }
  }
  for (const c of out) c.reason = reason;
  return out;
}

export function parseVerdict<L extends string>(raw: string, labels: readonly L[]): ParsedVerdict<L> {
  const text = raw.trim();
  if (text.length === 0) return { ok: false, error: "empty judge reply" };

  const whole = tryParse(text);
  const { objects, rest } = isObject(whole) ? { objects: [whole], rest: "" } : embeddedObjects(text);
  const candidates: Candidate[] = [];
  for (const obj of objects) {
    const c = fromObject(obj);
    if (typeof c === "string") return { ok: false, error: c };
    if (c) candidates.push(c);
  }
  // DECISION lines outside the JSON count too: a reply whose JSON and DECISION line disagree is
  // ambiguous (checked below), never silently the JSON's label.
  candidates.push(...fromLines(rest));
  if (candidates.length === 0) {
    return {
      ok: false,
      error:
        objects.length > 0
          ? "JSON reply has no decision/label/verdict key"
          : "no decision found in judge reply",
    };
  }

  const allowed = new Set<string>(labels);
  const normalised = candidates.map((c) => normaliseLabel(c.value));
  const distinct = [...new Set(normalised)];
  if (distinct.length > 1)
    return { ok: false, error: `ambiguous judge reply: decisions ${distinct.join(", ")}` };
  const label = distinct[0]!;
  if (!allowed.has(label)) {
    const shown = JSON.stringify(candidates[0]!.value.slice(0, 60));
    return { ok: false, error: `unknown label ${shown} (allowed: ${labels.join(", ")})` };
  }
  return { ok: true, label: label as L, reason: candidates[0]!.reason };
}
