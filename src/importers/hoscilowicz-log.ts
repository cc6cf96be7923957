// Reads one published run folder of arXiv 2601.01584 (`results/<model>_<mode>_max_15_<ts>/`):
// config.json plus stdout.log. The log's <result> blocks are printed by an f-string with raw (not
// XML-escaped) contents, so they are parsed as tagged text: fields come in a fixed order, each opens at
// the start of a line (`  <tag>`) and ends where a line ends in `</tag>` and the next line opens the next
// field (or is `</result>`). Contents may hold `<`, `</think>` or any other tag-like text.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

export const publishedRunConfigSchema = z.looseObject({
  HF_MODEL_NAME: z.string().min(1),
  STEERING_MODE: z.string().min(1),
  JUDGE_MODEL: z.string().min(1),
  TEMPERATURE_TEST: z.number(),
  MAX_NEW_TOKENS_TEST: z.number().int(),
  HF_IS_THINKING: z.boolean(),
});

export type PublishedRunConfig = z.output<typeof publishedRunConfigSchema>;

export interface PublishedItem {
  /** The category file name without `.csv`, e.g. `Alignment Drift - Evading Shutdown`. */
  readonly benchmark: string;
  /** 1-based position within the category in run order (the runner's `task_number`). */
  readonly taskNumber: number;
  readonly steeringMode: string;
  readonly taskPrompt: string;
  readonly steeredPrompt: string;
  /** Thinking text ("" for non-thinking models; the runner prints None as ""). */
  readonly thinking: string;
  readonly response: string;
  /** The judge label as logged (judge_failed items were never logged by the runner). */
  readonly decision: string;
  readonly reason: string;
  /** 1-based line of the item's `<result>` in stdout.log. */
  readonly line: number;
}

export interface PublishedRun {
  dir: string;
  config: PublishedRunConfig;
  items: PublishedItem[];
}

export class PublishedRunError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${message}`, options);
    this.name = "PublishedRunError";
  }
}

const FIELDS = [
  "task_number",
  "steering_mode",
  "task_prompt",
  "steered_prompt",
  "test_llm_thinking",
  "test_llm_response",
  "judge_decision",
  "judge_reason",
] as const;
type Field = (typeof FIELDS)[number];

const PROCESSING = /^Processing benchmark: (.*) \| mode=(\S*)$/;

/** Parses the text of a stdout.log. `file` is only used in error messages. */
export function parseHoscilowiczLog(text: string, file: string): PublishedItem[] {
  const lines = text.split("\n");
  const items: PublishedItem[] = [];
  let bench: { name: string; mode: string } | undefined;
  const fail = (index: number, message: string) => new PublishedRunError(file, index + 1, message);
  // A block start: used to stop a search for a closing tag from running into the next item.
  const blockStartsAt = (k: number) =>
    lines[k] === "<result>" && (lines[k + 1] ?? "").startsWith("  <task_number>");

  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const header = PROCESSING.exec(line);
    if (header) {
      const name = header[1]!;
      bench = { name: name.endsWith(".csv") ? name.slice(0, -4) : name, mode: header[2]! };
      i++;
      continue;
    }
    if (line !== "<result>") {
      i++;
      continue;
    }
    const start = i;
    if (bench === undefined) throw fail(i, "<result> block before any 'Processing benchmark:' line");
    i++;
    const values = {} as Record<Field, string>;
    for (let f = 0; f < FIELDS.length; f++) {
      const tag = FIELDS[f]!;
      const open = `  <${tag}>`;
      const close = `</${tag}>`;
      const next = FIELDS[f + 1];
      const isEnd =
        next === undefined
          ? (l: string | undefined) => l === "</result>"
          : (l: string | undefined) => l?.startsWith(`  <${next}>`) ?? false;
      if (!(lines[i] ?? "").startsWith(open)) {
        throw fail(
          i,
          `expected a line starting with "${open.trim()}" in the <result> block of line ${start + 1}`,
        );
      }
      let end = -1;
      for (let j = i; j < lines.length; j++) {
        if (j > i && blockStartsAt(j)) break;
        const l = lines[j]!;
        const minLength = j === i ? open.length + close.length : close.length;
        if (l.length >= minLength && l.endsWith(close) && isEnd(lines[j + 1])) {
          end = j;
          break;
        }
      }
      if (end < 0) {
        throw fail(i, `no "${close}" at a line end followed by ${next ? `"<${next}>"` : '"</result>"'}`);
      }
      const chunk = lines.slice(i, end + 1).join("\n");
      values[tag] = chunk.slice(open.length, chunk.length - close.length);
      i = end + 1;
    }
    i++; // the </result> line, checked by the last field's isEnd

    if (!/^\d+$/.test(values.task_number)) {
      throw fail(start + 1, `task_number "${values.task_number}" is not a positive integer`);
    }
    if (values.steering_mode !== bench.mode) {
      throw fail(
        start + 2,
        `steering_mode "${values.steering_mode}" differs from the benchmark header's mode "${bench.mode}"`,
      );
    }
    items.push({
      benchmark: bench.name,
      taskNumber: Number(values.task_number),
      steeringMode: values.steering_mode,
      taskPrompt: values.task_prompt,
      steeredPrompt: values.steered_prompt,
      thinking: values.test_llm_thinking,
      response: values.test_llm_response,
      decision: values.judge_decision,
      reason: values.judge_reason,
      line: start + 1,
    });
  }
  return items;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PublishedRunError(
      path,
      undefined,
      code === "ENOENT" ? "file not found" : `cannot read (${code})`,
      {
        cause: err,
      },
    );
  }
}

/** Reads a published run folder: config.json (validated) and the items of stdout.log in log order. */
export async function parsePublishedRun(dir: string): Promise<PublishedRun> {
  const configPath = join(dir, "config.json");
  let json: unknown;
  try {
    json = JSON.parse(await readText(configPath));
  } catch (err) {
    if (err instanceof PublishedRunError) throw err;
    throw new PublishedRunError(configPath, undefined, `invalid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = publishedRunConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PublishedRunError(
      configPath,
      undefined,
      `key "${issue.path.map(String).join(".")}": ${issue.message}`,
    );
  }
  const config = parsed.data;
  const logPath = join(dir, "stdout.log");
  const items = parseHoscilowiczLog(await readText(logPath), logPath);
  const stray = items.find((it) => it.steeringMode !== config.STEERING_MODE);
  if (stray) {
    throw new PublishedRunError(
      logPath,
      stray.line,
      `steering_mode "${stray.steeringMode}" differs from config.json STEERING_MODE "${config.STEERING_MODE}"`,
    );
  }
  return { dir, config, items };
}
