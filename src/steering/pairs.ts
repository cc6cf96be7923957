// Contrastive prompt pairs for vector extraction: from a JSONL file, or built in from the benchmark (each
// scenario with the pro_ic suffix vs the same scenario with the anti_ic suffix, system = category context),
// which "distils" the prompt steering into an activation direction.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { type SelectedItem, type SelectionSpec, selectScenarios } from "../data/selection.js";
import type { PromptInput } from "../llama/fit-prompt.js";
import { buildPrompt } from "../protocol/build-prompt.js";
import { presetCondition } from "../protocol/conditions.js";
import type { ChatMessage, Condition, Pack } from "../types.js";

export interface ContrastPair {
  id: string;
  /** Raw text (tokenized as is) or chat messages (through the model's chat template). */
  positive: PromptInput;
  negative: PromptInput;
}

export class PairsError extends Error {}

const message = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }).strict();
const textPrompt = z.string().min(1, "must not be empty");
const chatPrompt = z.array(message).min(1, "needs at least one message");
const pairLine = z
  .object({
    id: z.string().min(1).optional(),
    positive: z.unknown().optional(),
    negative: z.unknown().optional(),
  })
  .strict();

/** One side of a pair: a string, or an array of messages (checked by shape, so errors point inside it). */
function parseSide(
  value: unknown,
  key: string,
): { ok: true; value: PromptInput } | { ok: false; error: string } {
  if (value === undefined) return { ok: false, error: `${key}: required` };
  const schema = typeof value === "string" ? textPrompt : Array.isArray(value) ? chatPrompt : undefined;
  if (schema === undefined) {
    return { ok: false, error: `${key}: must be a string or an array of {"role", "content"} messages` };
  }
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, error: `${[key, ...issue.path.map(String)].join(".")}: ${issue.message}` };
}

/**
 * Parses JSONL pairs: one `{"positive": ..., "negative": ..., "id"?: ...}` per line, each side a string (raw
 * prompt text) or an array of chat messages. Blank lines are skipped. Errors name the file, line and key.
 */
export function parsePairsJsonl(text: string, label: string): ContrastPair[] {
  const pairs: ContrastPair[] = [];
  const ids = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const where = `${label} line ${i + 1}`;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new PairsError(`${where}: not valid JSON (${(err as Error).message})`);
    }
    const parsed = pairLine.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const key = issue.path.length > 0 ? issue.path.join(".") : "(line)";
      throw new PairsError(`${where}: ${key}: ${issue.message}`);
    }
    const positive = parseSide(parsed.data.positive, "positive");
    if (!positive.ok) throw new PairsError(`${where}: ${positive.error}`);
    const negative = parseSide(parsed.data.negative, "negative");
    if (!negative.ok) throw new PairsError(`${where}: ${negative.error}`);
    const id = parsed.data.id ?? `line-${i + 1}`;
    if (ids.has(id)) throw new PairsError(`${where}: duplicate id "${id}"`);
    ids.add(id);
    pairs.push({ id, positive: positive.value, negative: negative.value });
  });
  if (pairs.length === 0) throw new PairsError(`${label}: no pairs`);
  return pairs;
}

export function readPairsFile(path: string): ContrastPair[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new PairsError(
      `cannot read pairs file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parsePairsJsonl(text, path);
}

export interface BuiltinPairsOptions {
  /** Which scenarios (default "full": every scenario). */
  selection?: SelectionSpec;
  /** Only these category slugs (e.g. extract on some categories, evaluate on the others). */
  categories?: string[];
  /** Only the first N selected scenarios. */
  limit?: number;
}

/**
 * One pair per benchmark scenario: the paper's pro_ic prompt (positive) vs its anti_ic prompt (negative),
 * both with the category context as the system message, exactly as the benchmark sends them.
 */
export function builtinPairs(pack: Pack, opts: BuiltinPairsOptions = {}): ContrastPair[] {
  let selected = selectScenarios(pack, opts.selection ?? "full");
  if (opts.categories) {
    const known = new Set(pack.categories.map((c) => c.slug));
    const unknown = opts.categories.filter((c) => !known.has(c));
    if (unknown.length > 0) {
      throw new PairsError(`unknown categories ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
    }
    const wanted = new Set(opts.categories);
    selected = selected.filter((s) => wanted.has(s.category.slug));
  }
  if (opts.limit !== undefined) selected = selected.slice(0, opts.limit);
  const pro = presetCondition("pro_ic", pack.strings);
  const anti = presetCondition("anti_ic", pack.strings);
  const build = (condition: Condition, { category, scenario }: SelectedItem): ChatMessage[] =>
    buildPrompt(category, scenario, condition, { strings: pack.strings, defaultSystem: { kind: "category" } })
      .messages;
  return selected.map((item) => ({
    id: item.scenario.id,
    positive: build(pro, item),
    negative: build(anti, item),
  }));
}
