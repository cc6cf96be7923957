// Reads Inspect eval logs, `.json` and `.eval` (a zip), into one plain shape. Lenient by design:
// logs written by older inspect versions lack fields the current schema requires (SOURCE.md: the
// 2025 logs fail the 2026 schema on 106 fields), so only what steerbench uses is checked, and every
// other field passes through.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { strFromU8, unzipSync } from "fflate";
import { z } from "zod";

/** Log format versions this reader knows (inspect writes 2; 1 is the pre-2024 layout). */
export const KNOWN_LOG_VERSIONS = [1, 2] as const;

export class InspectLogError extends Error {}

const MANIFESTS = ["listing.json", "eval-set.json"];

const contentPartSchema = z
  .object({ type: z.string(), text: z.string().optional(), reasoning: z.string().optional() })
  .passthrough();

const messageSchema = z
  .object({
    role: z.string(),
    content: z.union([z.string(), z.array(contentPartSchema)]),
  })
  .passthrough();

const scoreSchema = z
  .object({
    value: z.unknown(),
    answer: z.string().nullish(),
    explanation: z.string().nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

const usageSchema = z
  .object({ input_tokens: z.number().nullish(), output_tokens: z.number().nullish() })
  .passthrough();

export const sampleSchema = z
  .object({
    id: z.union([z.string(), z.number()]),
    epoch: z.number().int().default(1),
    input: z.union([z.string(), z.array(messageSchema)]),
    target: z.union([z.string(), z.array(z.string())]).optional(),
    messages: z.array(messageSchema).default([]),
    output: z
      .object({
        model: z.string().optional(),
        choices: z
          .array(z.object({ message: messageSchema, stop_reason: z.string().nullish() }).passthrough())
          .default([]),
        completion: z.string().optional(),
        usage: usageSchema.nullish(),
        time: z.number().nullish(),
        metadata: z.record(z.string(), z.unknown()).nullish(),
        error: z.string().nullish(),
      })
      .passthrough()
      .optional(),
    scores: z.record(z.string(), scoreSchema).nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
    total_time: z.number().nullish(),
    completed_at: z.string().nullish(),
    error: z.object({ message: z.string() }).passthrough().nullish(),
  })
  .passthrough();

export type InspectSample = z.output<typeof sampleSchema>;
export type InspectMessage = z.output<typeof messageSchema>;

export const evalSpecSchema = z
  .object({
    task: z.string(),
    model: z.string(),
    created: z.string().optional(),
    eval_id: z.string().optional(),
    run_id: z.string().optional(),
    task_args: z.record(z.string(), z.unknown()).nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
    dataset: z.object({ name: z.string().nullish() }).passthrough().optional(),
    scorers: z.array(z.object({ name: z.string() }).passthrough()).nullish(),
  })
  .passthrough();

const headerSchema = z
  .object({
    version: z.number().int().optional(),
    status: z.string().optional(),
    eval: evalSpecSchema,
  })
  .passthrough();

export interface InspectLog {
  /** The file it came from (absolute). */
  file: string;
  format: "json" | "eval";
  version: number;
  status: string | undefined;
  eval: z.output<typeof evalSpecSchema>;
  samples: InspectSample[];
}

function describeIssue(error: z.ZodError, where: string): string {
  const issue = error.issues[0]!;
  const key = issue.path.length === 0 ? "(top level)" : issue.path.map(String).join(".");
  return `${where}: ${key}: ${issue.message}`;
}

function checkVersion(file: string, version: number | undefined): number {
  // Logs before the version field existed are version 1 in inspect's own reader.
  const v = version ?? 1;
  if (!(KNOWN_LOG_VERSIONS as readonly number[]).includes(v)) {
    throw new InspectLogError(
      `${file}: Inspect log version ${v} is not supported (known: ${KNOWN_LOG_VERSIONS.join(", ")})`,
    );
  }
  return v;
}

function parseSamples(file: string, raw: readonly unknown[], where: (i: number) => string): InspectSample[] {
  return raw.map((s, i) => {
    const parsed = sampleSchema.safeParse(s);
    if (!parsed.success) throw new InspectLogError(describeIssue(parsed.error, `${file}: ${where(i)}`));
    return parsed.data;
  });
}

function parseJson(file: string, text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InspectLogError(`${file}: ${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function readJsonLog(file: string, bytes: Uint8Array): InspectLog {
  const value = parseJson(file, strFromU8(bytes), "the log");
  const header = headerSchema.safeParse(value);
  if (!header.success) throw new InspectLogError(describeIssue(header.error, `${file}: not an Inspect log`));
  const version = checkVersion(file, header.data.version);
  const rawSamples = (value as { samples?: unknown }).samples;
  const samples = Array.isArray(rawSamples) ? parseSamples(file, rawSamples, (i) => `samples.${i}`) : [];
  return { file, format: "json", version, status: header.data.status, eval: header.data.eval, samples };
}

function readEvalZip(file: string, bytes: Uint8Array): InspectLog {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    throw new InspectLogError(`${file}: malformed .eval zip: ${(err as Error).message}`);
  }
  // A finished log has header.json; a log still being written has only the journal's start.json.
  const headerName = "header.json" in entries ? "header.json" : "_journal/start.json";
  const headerBytes = entries[headerName];
  if (!headerBytes) {
    throw new InspectLogError(`${file}: not an Inspect .eval log (no header.json or _journal/start.json)`);
  }
  const value = parseJson(file, strFromU8(headerBytes), headerName);
  const header = headerSchema.safeParse(value);
  if (!header.success) throw new InspectLogError(describeIssue(header.error, `${file}: ${headerName}`));
  const version = checkVersion(file, header.data.version);
  const names = Object.keys(entries)
    .filter((n) => /^samples\/[^/]+\.json$/.test(n))
    .sort();
  const samples = names.map((n) => {
    const parsed = sampleSchema.safeParse(parseJson(file, strFromU8(entries[n]!), n));
    if (!parsed.success) throw new InspectLogError(describeIssue(parsed.error, `${file}: ${n}`));
    return parsed.data;
  });
  return { file, format: "eval", version, status: header.data.status, eval: header.data.eval, samples };
}

/** Reads one log file; the format follows the extension (`.eval` zip, else JSON). */
export function readInspectLog(path: string): InspectLog {
  const file = resolve(path);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InspectLogError(`${file}: cannot read: ${(err as Error).message}`);
  }
  return extname(file) === ".eval" ? readEvalZip(file, bytes) : readJsonLog(file, bytes);
}

/** The log files a path names: the file itself, or every `.json`/`.eval` file in a folder (sorted). */
export function findInspectLogs(path: string): string[] {
  const full = resolve(path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(full);
  } catch {
    throw new InspectLogError(`import: ${full} does not exist`);
  }
  if (!st.isDirectory()) return [full];
  const files = readdirSync(full)
    // listing.json and eval-set.json are folder manifests of Inspect's viewer, not logs.
    .filter((n) => [".json", ".eval"].includes(extname(n)) && !n.startsWith(".") && !MANIFESTS.includes(n))
    .sort()
    .map((n) => join(full, n))
    .filter((f) => statSync(f).isFile());
  if (files.length === 0) throw new InspectLogError(`import: no Inspect logs (.json or .eval) in ${full}`);
  return files;
}

/** Text of a message's content: the string, or its text parts joined. */
export function messageText(m: InspectMessage): string {
  if (typeof m.content === "string") return m.content;
  return m.content
    .filter((p) => p.type === "text")
    .map((p) => p.text ?? "")
    .join("");
}

/** Reasoning parts of a message, joined; undefined when there are none. */
export function messageReasoning(m: InspectMessage): string | undefined {
  if (typeof m.content === "string") return undefined;
  const parts = m.content.filter((p) => p.type === "reasoning").map((p) => p.reasoning ?? "");
  return parts.length === 0 ? undefined : parts.join("\n");
}
