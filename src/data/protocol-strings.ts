// protocol_strings.json: the exact prompt strings of the paper protocol and of the original
// InstrumentalEval, whitespace kept. Loaded and validated here; texts are never hard-coded in source.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import type { ProtocolStrings } from "../types.js";
import { PackError } from "./errors.js";

export const PROTOCOL_STRINGS_FILE = "protocol_strings.json";

export const PAPER_SECTION = "steerability_2601.01584";
export const ORIGINAL_SECTION = "instrumentaleval_original_2502.12206";

/** Where each ProtocolStrings field lives in protocol_strings.json ([section, key]). */
export const PROTOCOL_STRING_KEYS: Readonly<Record<keyof ProtocolStrings, readonly [string, string]>> = {
  proIcSuffix: [PAPER_SECTION, "pro_ic_suffix_raw"],
  antiIcSuffix: [PAPER_SECTION, "anti_ic_suffix_raw"],
  judgeSystemTemplate: [PAPER_SECTION, "judge_system_template"],
  judgeUserTemplate: [PAPER_SECTION, "judge_user_template"],
  originalTaskSystemPrompt: [ORIGINAL_SECTION, "task_model_system_prompt"],
  originalJudgeSystemTemplate: [ORIGINAL_SECTION, "judge_system_template"],
  originalJudgeUserTemplate: [ORIGINAL_SECTION, "judge_user_template"],
};

export const PROTOCOL_STRING_FIELDS = Object.keys(PROTOCOL_STRING_KEYS) as (keyof ProtocolStrings)[];

// Sections may hold extra notes (e.g. `suffix_application`); only the listed strings are required.
const sectionSchema = (keys: string[]) =>
  z.looseObject(Object.fromEntries(keys.map((k) => [k, z.string()])) as Record<string, z.ZodString>);

const fileSchema = z.looseObject({
  [PAPER_SECTION]: sectionSchema(
    PROTOCOL_STRING_FIELDS.filter((f) => PROTOCOL_STRING_KEYS[f][0] === PAPER_SECTION).map(
      (f) => PROTOCOL_STRING_KEYS[f][1],
    ),
  ),
  [ORIGINAL_SECTION]: sectionSchema(
    PROTOCOL_STRING_FIELDS.filter((f) => PROTOCOL_STRING_KEYS[f][0] === ORIGINAL_SECTION).map(
      (f) => PROTOCOL_STRING_KEYS[f][1],
    ),
  ),
});

/** Validates the parsed JSON of protocol_strings.json. `file` is only used in error messages. */
export function parseProtocolStrings(json: unknown, file: string): ProtocolStrings {
  const result = fileSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.map(String).join(".");
    const problem = valueAt(json, issue.path) === undefined ? "missing" : `invalid (${issue.message})`;
    throw new PackError({ file, key: key || "(root)" }, `protocol string ${problem}`);
  }
  const data = result.data as Record<string, Record<string, string>>;
  const out = {} as ProtocolStrings;
  for (const field of PROTOCOL_STRING_FIELDS) {
    const [section, key] = PROTOCOL_STRING_KEYS[field];
    out[field] = data[section]![key]!;
  }
  return out;
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let cur = json;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** Serialises strings back into the protocol_strings.json shape (sections and key names). */
export function protocolStringsToJson(strings: ProtocolStrings, source: string): Record<string, unknown> {
  const out: Record<string, Record<string, string> | string> = { _source: source };
  for (const field of PROTOCOL_STRING_FIELDS) {
    const [section, key] = PROTOCOL_STRING_KEYS[field];
    const sec = (out[section] ?? {}) as Record<string, string>;
    sec[key] = strings[field];
    out[section] = sec;
  }
  return out;
}

/** Reads and validates `path` (a protocol_strings.json). */
export async function readProtocolStrings(path: string): Promise<ProtocolStrings> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === "ENOENT" ? "file not found" : `cannot read file (${code ?? String(err)})`;
    throw new PackError({ file: path }, what, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PackError({ file: path }, `invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseProtocolStrings(json, path);
}
