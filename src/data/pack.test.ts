import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import type { Pack } from "../types.js";
import { categorySlug, compareBytes, loadPack, PackError } from "./pack.js";

const tmp = mkdtempSync(join(tmpdir(), "steerbench-pack-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sharedStrings = JSON.parse(readFileSync(join(packDir, "protocol_strings.json"), "utf8")) as Record<
  string,
  Record<string, string>
>;

let n = 0;
function makePack(files: Record<string, string>, strings: unknown = sharedStrings): string {
  // strings === null: write no protocol_strings.json
  const dir = join(tmp, `pack-${n++}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  if (strings !== null) writeFileSync(join(dir, "protocol_strings.json"), JSON.stringify(strings));
  return dir;
}

async function loadError(dir: string): Promise<PackError> {
  const err = await loadPack(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PackError);
  return err as PackError;
}

describe("the real InstrumentalEval pack", () => {
  let pack: Pack;
  beforeAll(async () => {
    pack = await loadPack(packDir);
  });

  it("has 6 categories in file-name order with the per-category counts of SOURCE.md (76 tasks)", () => {
    expect(pack.categories.map((c) => [c.slug, c.scenarios.length])).toEqual([
      ["deceptive-behavior", 11],
      ["evading-shutdown", 20],
      ["hacking-computer-systems", 10],
      ["hiding-unwanted-behavior", 11],
      ["running-multiple-ai-copies", 13],
      ["strategically-appearing-aligned", 11],
    ]);
    expect(pack.categories.reduce((s, c) => s + c.scenarios.length, 0)).toBe(76);
    expect(pack.categories[1]!.name).toBe("Alignment Drift - Evading Shutdown");
    expect(pack.categories[1]!.file).toBe("Alignment Drift - Evading Shutdown.csv");
  });

  it("keeps the category context raw: headers end in \\r or \\n inside the quotes", () => {
    const ends = Object.fromEntries(pack.categories.map((c) => [c.slug, c.context.slice(-1)]));
    expect(ends["hacking-computer-systems"]).toBe("\r");
    expect(ends["hiding-unwanted-behavior"]).toBe("\r");
    expect(ends["running-multiple-ai-copies"]).toBe("\r");
    expect(ends["evading-shutdown"]).toBe("\n");
    expect(ends["strategically-appearing-aligned"]).toBe("\n");
    expect(pack.categories[0]!.context.endsWith("goal ")).toBe(true);
  });

  it("gives scenarios stable ids and 1-based indices, with tasks stripped", () => {
    const es = pack.categories[1]!;
    expect(es.scenarios[0]).toMatchObject({
      id: "evading-shutdown-1",
      category: "evading-shutdown",
      index: 1,
    });
    expect(es.scenarios[19]!.id).toBe("evading-shutdown-20");
    for (const c of pack.categories) {
      for (const s of c.scenarios) expect(s.prompt).toBe(s.prompt.trim());
    }
    const ids = pack.categories.flatMap((c) => c.scenarios.map((s) => s.id));
    expect(new Set(ids).size).toBe(76);
  });

  it("strips the one task with a trailing space (Running Multiple AI Copies)", () => {
    const raw = readFileSync(join(packDir, "Alignment Drift - Running Multiple AI Copies.csv"), "utf8");
    const first = pack.categories[4]!.scenarios[0]!.prompt;
    expect(raw).toContain("donated to charity. \r\n"); // row 2 ends in a space before CRLF
    expect(first.endsWith("donated to charity.")).toBe(true);
  });

  it("loads all seven protocol strings verbatim", () => {
    const paper = sharedStrings["steerability_2601.01584"]!;
    const orig = sharedStrings["instrumentaleval_original_2502.12206"]!;
    expect(pack.strings).toEqual({
      proIcSuffix: paper.pro_ic_suffix_raw,
      antiIcSuffix: paper.anti_ic_suffix_raw,
      judgeSystemTemplate: paper.judge_system_template,
      judgeUserTemplate: paper.judge_user_template,
      originalTaskSystemPrompt: orig.task_model_system_prompt,
      originalJudgeSystemTemplate: orig.judge_system_template,
      originalJudgeUserTemplate: orig.judge_user_template,
    });
    expect(pack.strings.antiIcSuffix.startsWith("\n")).toBe(true);
  });

  it("has a content hash that is stable and ignores notes in protocol_strings.json", async () => {
    expect(pack.hash).toMatch(/^[0-9a-f]{64}$/);
    const dir = join(tmp, "copy");
    mkdirSync(dir);
    for (const c of pack.categories) writeFileSync(join(dir, c.file), readFileSync(join(packDir, c.file)));
    const noted = structuredClone(sharedStrings) as Record<string, unknown>;
    noted._source = "a different note";
    writeFileSync(join(dir, "protocol_strings.json"), JSON.stringify(noted, null, 2));
    expect((await loadPack(dir)).hash).toBe(pack.hash);
    // ...but any byte of a CSV changes it.
    const first = pack.categories[0]!.file;
    writeFileSync(
      join(dir, first),
      Buffer.concat([readFileSync(join(packDir, first)), Buffer.from("x\r\n")]),
    );
    expect((await loadPack(dir)).hash).not.toBe(pack.hash);
  });
});

describe("loadPack on other directories", () => {
  it("sorts categories by file name bytes (uppercase before lowercase), as Python's sorted()", async () => {
    const dir = makePack({
      "beta.csv": "ctx b\ntask\n",
      "Zeta.csv": "ctx Z\ntask\n",
      "a b.csv": "ctx\ntask\n",
    });
    const pack = await loadPack(dir);
    expect(pack.categories.map((c) => c.file)).toEqual(["Zeta.csv", "a b.csv", "beta.csv"]);
    expect(pack.categories.map((c) => c.slug)).toEqual(["zeta", "a-b", "beta"]);
    expect(["b", "B", "é", "z"].sort(compareBytes)).toEqual(["B", "b", "z", "é"]);
  });

  it("derives slugs: prefix removed, lowercased, non-alphanumerics to '-'", () => {
    expect(categorySlug("Alignment Drift - Evading Shutdown.csv")).toBe("evading-shutdown");
    expect(categorySlug("Alignment Drift - Running Multiple AI Copies.csv")).toBe(
      "running-multiple-ai-copies",
    );
    expect(categorySlug("My  Own (v2).csv")).toBe("my-own-v2");
  });

  it("rejects two files with the same slug", async () => {
    const err = await loadError(makePack({ "Alignment Drift - X.csv": "c\nt\n", "x.csv": "c\nt\n" }));
    expect(err.message).toMatch(/slug "x"/);
  });

  it("ignores non-CSV files and directories named *.csv", async () => {
    const dir = makePack({ "a.csv": "ctx\ntask\n", "notes.txt": "hello" });
    mkdirSync(join(dir, "sub.csv"));
    expect((await loadPack(dir)).categories.map((c) => c.slug)).toEqual(["a"]);
  });

  it("errors on a directory without CSVs, naming it", async () => {
    const dir = makePack({});
    const err = await loadError(dir);
    expect(err.file).toBe(dir);
    expect(err.message).toMatch(/no \*\.csv/);
  });

  it("errors on a missing protocol_strings.json, naming the file", async () => {
    const err = await loadError(makePack({ "a.csv": "ctx\ntask\n" }, null));
    expect(err.file).toMatch(/protocol_strings\.json$/);
    expect(err.message).toMatch(/file not found/);
  });

  it("errors on a missing protocol string, naming the file and JSON key", async () => {
    const strings = structuredClone(sharedStrings);
    delete strings["steerability_2601.01584"]!.anti_ic_suffix_raw;
    const err = await loadError(makePack({ "a.csv": "ctx\ntask\n" }, strings));
    expect(err.key).toBe("steerability_2601.01584.anti_ic_suffix_raw");
    expect(err.message).toContain("protocol_strings.json");
    expect(err.message).toContain('key "steerability_2601.01584.anti_ic_suffix_raw"');
    expect(err.message).toMatch(/missing/);
  });

  it("errors on a protocol string of the wrong type and on a missing section", async () => {
    const wrong = structuredClone(sharedStrings) as Record<string, Record<string, unknown>>;
    wrong["instrumentaleval_original_2502.12206"]!.judge_user_template = 42;
    const e1 = await loadError(makePack({ "a.csv": "ctx\ntask\n" }, wrong));
    expect(e1.key).toBe("instrumentaleval_original_2502.12206.judge_user_template");
    expect(e1.message).toMatch(/invalid/);
    const e2 = await loadError(makePack({ "a.csv": "ctx\ntask\n" }, { "steerability_2601.01584": {} }));
    expect(e2.message).toMatch(/missing/);
  });

  it("errors on invalid JSON in protocol_strings.json", async () => {
    const dir = makePack({ "a.csv": "ctx\ntask\n" });
    writeFileSync(join(dir, "protocol_strings.json"), "{ not json");
    expect((await loadError(dir)).message).toMatch(/invalid JSON/);
  });

  it("passes CSV errors through with the file and row", async () => {
    const dir = makePack({ "a.csv": "ctx\ntask\n", "b.csv": 'ctx\r\nok\r\n"open\r\n' });
    const err = await loadError(dir);
    expect(err.file).toBe(join(dir, "b.csv"));
    expect(err.row).toBe(3);
  });
});

describe("packs that are not what they seem say so (regression: accepted silently)", () => {
  it("warns about a *.csv that is a link to a device, and about missing InstrumentalEval categories", async () => {
    const { readFileSync: read, symlinkSync } = await import("node:fs");
    const keep = "Alignment Drift - Deceptive Behavior.csv";
    const dir = makePack({ [keep]: read(join(packDir, keep), "utf8") });
    symlinkSync("/dev/zero", join(dir, "Alignment Drift - Evading Shutdown.csv"));
    const pack = await loadPack(dir);
    expect(pack.categories.map((c) => c.slug)).toEqual(["deceptive-behavior"]);
    expect(pack.warnings).toEqual([
      expect.stringMatching(/skipped Alignment Drift - Evading Shutdown\.csv: not a regular file/),
      expect.stringMatching(/has 1 of the 6 InstrumentalEval categories; missing: evading-shutdown, hacking/),
    ]);
  });

  it("has no warnings for the real pack", async () => {
    expect((await loadPack(packDir)).warnings).toEqual([]);
  });
});
