import { describe, expect, it } from "vitest";
import {
  DEFAULT_FEATURES,
  type FeatureSettings,
  fitVocabulary,
  fnv1a,
  positions,
  termCounts,
  tokenize,
  vectorize,
} from "./features.js";

const plain: FeatureSettings = { hashBits: 20, maxNgram: 2, promptWeight: 0, shapeWeight: 0, minDf: 1 };
const bucket = (feature: string, bits = 20) => fnv1a(feature) & ((1 << bits) - 1);

describe("tokenize", () => {
  it("lower-cases Unicode words and keeps contractions whole", () => {
    expect(tokenize("Don't STOP—now, 2 times! Ça marche’s")).toEqual([
      "don't",
      "stop",
      "now",
      "2",
      "times",
      "ça",
      "marche’s",
    ]);
    expect(tokenize("  ...  ")).toEqual([]);
  });
});

describe("fnv1a", () => {
  it("matches the reference FNV-1a 32-bit values", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
    expect(fnv1a("foobar")).toBe(0xbf9cf968);
  });
  it("continues a hash state", () => {
    expect(fnv1a("bar", fnv1a("foo"))).toBe(fnv1a("foobar"));
  });
});

describe("termCounts", () => {
  it("hashes response unigrams and bigrams as r1:/r2: features", () => {
    const counts = termCounts({ prompt: "ignored", response: "Copy me, copy me now" }, plain);
    expect(counts.get(bucket("r1:copy"))).toBe(2);
    expect(counts.get(bucket("r1:me"))).toBe(2);
    expect(counts.get(bucket("r2:copy me"))).toBe(2);
    expect(counts.get(bucket("r2:me copy"))).toBe(1);
    expect(counts.get(bucket("r2:me now"))).toBe(1);
    // 3 distinct unigrams + 3 distinct bigrams, no prompt or shape features
    expect(counts.size).toBe(6);
  });

  it("adds prompt unigrams (once each, scaled) and shape features when asked", () => {
    const s = { ...plain, promptWeight: 0.5, shapeWeight: 1 };
    const counts = termCounts({ prompt: "Stay on, stay", response: "" }, s);
    expect(counts.get(bucket("p:stay"))).toBe(0.5);
    expect(counts.get(bucket("p:on"))).toBe(0.5);
    expect(counts.get(bucket("m:words=0"))).toBe(1);
    expect(counts.get(bucket("m:distinct=none"))).toBe(1);
  });

  it("keeps buckets below 2^hashBits", () => {
    const counts = termCounts(
      { prompt: "p", response: "a b c d e f g h" },
      { ...DEFAULT_FEATURES, hashBits: 8 },
    );
    for (const b of counts.keys()) expect(b).toBeLessThan(256);
  });
});

describe("TF-IDF", () => {
  it("keeps buckets seen in at least minDf documents, with smooth IDF", () => {
    const docs = [
      new Map([
        [1, 1],
        [2, 3],
      ]),
      new Map([[2, 1]]),
      new Map([[3, 1]]),
    ];
    const vocab = fitVocabulary(docs, 2);
    expect(vocab.buckets).toEqual([2]);
    expect(vocab.idf[0]).toBeCloseTo(Math.log(4 / 3) + 1, 12);
    expect(fitVocabulary(docs, 1).buckets).toEqual([1, 2, 3]);
  });

  it("uses sublinear TF, drops unknown buckets and normalises to unit length", () => {
    const vocab = { buckets: [5, 9], idf: [2, 1] };
    const v = vectorize(
      new Map([
        [9, Math.E],
        [5, 1],
        [7, 4],
      ]),
      vocab,
      positions(vocab),
    );
    expect([...v.idx]).toEqual([0, 1]);
    // raw: bucket 5 → (1 + ln 1)·2 = 2; bucket 9 → (1 + ln e)·1 = 2 → both 1/√2 after normalising
    expect(v.val[0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(v.val[1]).toBeCloseTo(Math.SQRT1_2, 12);
    const empty = vectorize(new Map([[7, 1]]), vocab, positions(vocab));
    expect(empty.idx.length).toBe(0);
  });
});
