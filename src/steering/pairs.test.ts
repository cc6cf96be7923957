import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packDir } from "../../test/paths.js";
import { loadPack } from "../data/pack.js";
import type { Pack } from "../types.js";
import { pyStrip } from "../util/pystr.js";
import { builtinPairs, PairsError, parsePairsJsonl, readPairsFile } from "./pairs.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-pairs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("JSONL pairs", () => {
  it("reads text and chat pairs, skipping blank lines, with ids", () => {
    const text = [
      '{"positive": "I will keep going", "negative": "I will stop"}',
      "",
      '{"id": "chat", "positive": [{"role": "user", "content": "a"}], "negative": [{"role": "system", "content": "s"}, {"role": "user", "content": "b"}]}',
      "",
    ].join("\n");
    const pairs = parsePairsJsonl(text, "p.jsonl");
    expect(pairs).toEqual([
      { id: "line-1", positive: "I will keep going", negative: "I will stop" },
      {
        id: "chat",
        positive: [{ role: "user", content: "a" }],
        negative: [
          { role: "system", content: "s" },
          { role: "user", content: "b" },
        ],
      },
    ]);
  });

  it("names the file, line and key of bad input", () => {
    expect(() => parsePairsJsonl('{"positive": "a", "negative": "b"}\n{oops', "p.jsonl")).toThrow(
      /p\.jsonl line 2: not valid JSON/,
    );
    expect(() => parsePairsJsonl('{"positive": "a"}', "p.jsonl")).toThrow(
      /p\.jsonl line 1: negative: required/,
    );
    expect(() => parsePairsJsonl('{"positive": 3, "negative": "b"}', "p.jsonl")).toThrow(
      /line 1: positive: must be a string or an array/,
    );
    expect(() => parsePairsJsonl('{"positive": "a", "negative": ""}', "p.jsonl")).toThrow(
      /line 1: negative: must not be empty/,
    );
    expect(() =>
      parsePairsJsonl('{"positive": [{"role": "robot", "content": "x"}], "negative": "b"}', "p.jsonl"),
    ).toThrow(/line 1: positive\.0\.role/);
    expect(() => parsePairsJsonl('{"positive": "a", "negative": "b", "extra": 1}', "p.jsonl")).toThrow(
      /line 1: \(line\): .*extra/,
    );
    expect(() =>
      parsePairsJsonl(
        '{"id": "x", "positive": "a", "negative": "b"}\n{"id": "x", "positive": "a", "negative": "b"}',
        "p.jsonl",
      ),
    ).toThrow(/line 2: duplicate id "x"/);
    expect(() => parsePairsJsonl("\n\n", "empty.jsonl")).toThrow(/empty\.jsonl: no pairs/);
  });

  it("reads files and names missing ones", () => {
    const p = join(dir, "pairs.jsonl");
    writeFileSync(p, '{"positive": "a", "negative": "b"}\n');
    expect(readPairsFile(p)).toHaveLength(1);
    expect(() => readPairsFile(join(dir, "missing.jsonl"))).toThrow(PairsError);
    expect(() => readPairsFile(join(dir, "missing.jsonl"))).toThrow(/missing\.jsonl: ENOENT/);
  });
});

describe("built-in pairs", () => {
  let pack: Pack;
  beforeAll(async () => {
    pack = await loadPack(packDir);
  });

  it("pairs every scenario's pro_ic prompt with its anti_ic prompt, system = category context", () => {
    const pairs = builtinPairs(pack);
    const total = pack.categories.reduce((n, c) => n + c.scenarios.length, 0);
    expect(pairs).toHaveLength(total);
    const first = pairs[0]!;
    const category = pack.categories[0]!;
    const scenario = category.scenarios[0]!;
    expect(first.id).toBe(scenario.id);
    const pos = first.positive as { role: string; content: string }[];
    const neg = first.negative as { role: string; content: string }[];
    expect(pos[0]).toEqual({ role: "system", content: pyStrip(category.context) });
    expect(neg[0]).toEqual(pos[0]);
    expect(pos[1]!.content.startsWith(pyStrip(scenario.prompt).slice(0, 40))).toBe(true);
    expect(pos[1]!.content.endsWith(`${pyStrip(pack.strings.proIcSuffix)}\n`)).toBe(true);
    expect(neg[1]!.content.endsWith(`${pyStrip(pack.strings.antiIcSuffix)}\n`)).toBe(true);
  });

  it("follows a selection and a limit", () => {
    const one = builtinPairs(pack, { selection: { maxPerCategory: 1, seed: 123 } });
    expect(one).toHaveLength(pack.categories.length);
    expect(new Set(one.map((p) => p.id.replace(/-\d+$/, ""))).size).toBe(pack.categories.length);
    expect(builtinPairs(pack, { limit: 3 })).toHaveLength(3);
    const slug = pack.categories[1]!.slug;
    const some = builtinPairs(pack, { categories: [slug] });
    expect(some).toHaveLength(pack.categories[1]!.scenarios.length);
    expect(some.every((p) => p.id.startsWith(`${slug}-`))).toBe(true);
    expect(() => builtinPairs(pack, { categories: ["nope"] })).toThrow(/unknown categories nope; known: /);
    expect(builtinPairs(pack, { selection: "paper" })).toHaveLength(71);
  });
});
