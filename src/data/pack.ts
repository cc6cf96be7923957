// Loading a benchmark pack: every `*.csv` in a directory (one category each) plus protocol_strings.json.
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Category, Pack, ProtocolStrings, Scenario } from "../types.js";
import { parseCategoryCsv } from "./csv.js";
import { PackError } from "./errors.js";
import { PROTOCOL_STRING_FIELDS, PROTOCOL_STRINGS_FILE, readProtocolStrings } from "./protocol-strings.js";
import { PINNED_CSV_FILES } from "./upstream.js";

export { PackError } from "./errors.js";

const CATEGORY_PREFIX = "Alignment Drift - ";

/** `Alignment Drift - Running Multiple AI Copies.csv` → `running-multiple-ai-copies`. */
export function categorySlug(fileName: string): string {
  let name = fileName.endsWith(".csv") ? fileName.slice(0, -4) : fileName;
  if (name.startsWith(CATEGORY_PREFIX)) name = name.slice(CATEGORY_PREFIX.length);
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Compares names by UTF-8 bytes (= code points), the order of Python's sorted() on str/paths. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** The CSV file names of a pack directory, in run order; `skipped` collects *.csv entries that are not files. */
export async function listCategoryFiles(dir: string, skipped: string[] = []): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === "ENOENT" ? "directory not found" : `cannot read directory (${code ?? String(err)})`;
    throw new PackError({ file: dir }, what, { cause: err });
  }
  const files: string[] = [];
  for (const name of entries) {
    if (!name.endsWith(".csv")) continue;
    // stat follows symlinks, like Python's glob; directories, devices and FIFOs named *.csv are not
    // categories (and reading a FIFO would hang), but skipping one is said, never silent.
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) files.push(name);
    else
      skipped.push(
        `${name}: ${info === undefined ? "unreadable (dangling link?)" : info.isDirectory() ? "a directory" : "not a regular file (a device, FIFO or socket?)"}`,
      );
  }
  return files.sort(compareBytes);
}

/**
 * sha256 over the pack's content: each CSV's (name, bytes) in file-name order, then the protocol strings
 * in a canonical form. The strings are hashed by value rather than as file bytes so that a pack pulled
 * with `data pull` and a hand-copied one with the same data (but different notes in the JSON) hash equal.
 */
export function packHash(
  csvFiles: readonly { name: string; bytes: Uint8Array }[],
  strings: ProtocolStrings,
): string {
  const h = createHash("sha256");
  const add = (name: string, bytes: Uint8Array) => {
    h.update(`${name}\0${bytes.length}\0`);
    h.update(bytes);
  };
  for (const f of [...csvFiles].sort((a, b) => compareBytes(a.name, b.name))) add(f.name, f.bytes);
  const canonical = JSON.stringify(PROTOCOL_STRING_FIELDS.map((field) => [field, strings[field]]));
  add(PROTOCOL_STRINGS_FILE, Buffer.from(canonical, "utf8"));
  return h.digest("hex");
}

/** Reads a pack directory. Errors are PackErrors naming the file and row or JSON key. */
export async function loadPack(dir: string): Promise<Pack> {
  const skipped: string[] = [];
  const names = await listCategoryFiles(dir, skipped);
  if (names.length === 0) {
    throw new PackError({ file: dir }, "no *.csv category files in this directory");
  }
  const strings = await readProtocolStrings(join(dir, PROTOCOL_STRINGS_FILE));
  const csvFiles: { name: string; bytes: Uint8Array }[] = [];
  const categories: Category[] = [];
  const slugs = new Map<string, string>();
  for (const file of names) {
    const path = join(dir, file);
    const bytes = await readFile(path);
    csvFiles.push({ name: file, bytes });
    const parsed = parseCategoryCsv(bytes, path);
    const slug = categorySlug(file);
    if (slug === "") throw new PackError({ file: path }, "cannot derive a category slug from this file name");
    const clash = slugs.get(slug);
    if (clash !== undefined) {
      throw new PackError({ file: path }, `category slug "${slug}" is also derived from "${clash}"`);
    }
    slugs.set(slug, file);
    const scenarios: Scenario[] = parsed.tasks.map((task, i) => ({
      id: `${slug}-${i + 1}`,
      category: slug,
      index: i + 1,
      prompt: task.text,
    }));
    categories.push({ slug, name: file.slice(0, -4), file, context: parsed.context, scenarios });
  }
  const warnings = skipped.map((s) => `pack ${dir}: skipped ${s}`);
  // A pack that looks like InstrumentalEval but lacks some of its categories gives numbers that are
  // not comparable with the paper's; say which are missing.
  const known = PINNED_CSV_FILES.map((f) => f.name);
  const present = known.filter((n) => names.includes(n));
  if (present.length > 0 && present.length < known.length) {
    const missing = known.filter((n) => !names.includes(n)).map((n) => categorySlug(n));
    warnings.push(
      `pack ${dir}: has ${present.length} of the ${known.length} InstrumentalEval categories; missing: ${missing.join(", ")}`,
    );
  }
  return { dir, categories, strings, hash: packHash(csvFiles, strings), warnings };
}
