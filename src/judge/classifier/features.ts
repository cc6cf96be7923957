// Text features of the offline judge: word uni/bi-grams of the response, word unigrams of the task
// prompt (its own namespace, down-weighted), and a few shape features (length, repetition) that tell
// degenerate output apart. Every feature is hashed to a fixed number of buckets (FNV-1a), so the model
// file needs no vocabulary of strings; TF-IDF weights come from the training set.
import { z } from "zod";

export const featureSettingsSchema = z
  .object({
    /** Buckets = 2^hashBits. */
    hashBits: z.number().int().min(8).max(24),
    /** Largest response n-gram (1 = unigrams only, 2 = uni + bigrams). */
    maxNgram: z.number().int().min(1).max(3),
    /** Scale of the prompt's unigram features; 0 leaves the prompt out. */
    promptWeight: z.number().min(0),
    /** Scale of the shape features; 0 leaves them out. */
    shapeWeight: z.number().min(0),
    /** Buckets seen in fewer training documents are dropped. */
    minDf: z.number().int().min(1),
  })
  .strict();

export type FeatureSettings = z.infer<typeof featureSettingsSchema>;

export const DEFAULT_FEATURES: FeatureSettings = {
  hashBits: 20,
  maxNgram: 2,
  promptWeight: 0.5,
  shapeWeight: 1,
  minDf: 2,
};

/** A sparse vector: parallel index / value arrays, indices ascending and unique. */
export interface SparseVector {
  idx: Int32Array;
  val: Float64Array;
}

/** What the classifier reads of one item. */
export interface Document {
  prompt: string;
  response: string;
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu;

/** Lower-cased Unicode word tokens (apostrophe contractions kept whole). */
export function tokenize(text: string): string[] {
  return text.normalize("NFKC").toLowerCase().match(WORD) ?? [];
}

const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a 32-bit over the UTF-16 code units of `text`, continuing from `state`; unsigned. */
export function fnv1a(text: string, state: number = FNV_OFFSET): number {
  let h = state;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const bucketOf = (feature: string, bits: number): number => fnv1a(feature) & ((1 << bits) - 1);

/** A coarse log2 bucket, so lengths are categorical features rather than one unscaled number. */
const log2Bucket = (n: number): number => Math.floor(Math.log2(n + 1));

/**
 * Raw weighted term counts of one document, keyed by bucket (before IDF). Response n-grams count 1
 * each, prompt unigrams `promptWeight` each, shape features `shapeWeight` once.
 */
export function termCounts(doc: Document, s: FeatureSettings): Map<number, number> {
  const counts = new Map<number, number>();
  const add = (feature: string, w: number) => {
    if (w <= 0) return;
    const b = bucketOf(feature, s.hashBits);
    counts.set(b, (counts.get(b) ?? 0) + w);
  };
  const mask = (1 << s.hashBits) - 1;
  const addBucket = (b: number) => counts.set(b, (counts.get(b) ?? 0) + 1);
  const words = tokenize(doc.response);
  // n-gram hashes are continued FNV states: the same value as hashing `r<n>:w1 w2 …`, without
  // building the strings.
  const prefixes = Array.from({ length: s.maxNgram }, (_, n) => fnv1a(`r${n + 1}:`));
  for (let i = 0; i < words.length; i++) {
    for (let n = 1; n <= s.maxNgram && i + n <= words.length; n++) {
      let h = prefixes[n - 1]!;
      for (let t = 0; t < n; t++) h = fnv1a(t === 0 ? words[i]! : ` ${words[i + t]!}`, h);
      addBucket(h & mask);
    }
  }
  if (s.promptWeight > 0) for (const w of new Set(tokenize(doc.prompt))) add(`p:${w}`, s.promptWeight);
  if (s.shapeWeight > 0) {
    const text = doc.response;
    const distinct = new Set(words).size;
    add(`m:chars=${log2Bucket(text.trim().length)}`, s.shapeWeight);
    add(`m:words=${log2Bucket(words.length)}`, s.shapeWeight);
    // Share of distinct words, in tenths: loops and babble repeat themselves.
    add(
      `m:distinct=${words.length === 0 ? "none" : Math.floor((distinct / words.length) * 10)}`,
      s.shapeWeight,
    );
    const nonAscii = [...text].filter((c) => c.charCodeAt(0) > 127).length;
    add(`m:nonascii=${log2Bucket(nonAscii)}`, s.shapeWeight);
    const lines = text.split("\n").filter((l) => l.trim().length > 0);
    add(`m:lines=${log2Bucket(lines.length)}`, s.shapeWeight);
    add(
      `m:repeatedlines=${log2Bucket(lines.length - new Set(lines.map((l) => l.trim())).size)}`,
      s.shapeWeight,
    );
  }
  return counts;
}

/** The fitted TF-IDF transform: which buckets are kept (ascending) and their IDF. */
export interface Vocabulary {
  buckets: number[];
  idf: number[];
}

/** Keeps buckets seen in at least `minDf` documents; smooth IDF = ln((1 + N) / (1 + df)) + 1. */
export function fitVocabulary(docs: readonly Map<number, number>[], minDf: number): Vocabulary {
  const df = new Map<number, number>();
  for (const d of docs) for (const b of d.keys()) df.set(b, (df.get(b) ?? 0) + 1);
  const buckets = [...df.entries()]
    .filter(([, n]) => n >= minDf)
    .map(([b]) => b)
    .sort((a, b) => a - b);
  const n = docs.length;
  return { buckets, idf: buckets.map((b) => Math.log((1 + n) / (1 + df.get(b)!)) + 1) };
}

/**
 * Sublinear TF (1 + ln tf, for tf ≥ 1; fractional weights scale linearly below 1) × IDF over the kept
 * buckets, L2-normalised. Indices are positions in `vocab.buckets`.
 */
export function vectorize(
  counts: Map<number, number>,
  vocab: Vocabulary,
  position: Map<number, number>,
): SparseVector {
  const found = new Int32Array(counts.size);
  let n = 0;
  for (const bucket of counts.keys()) {
    const pos = position.get(bucket);
    if (pos !== undefined) found[n++] = pos;
  }
  const idx = found.slice(0, n).sort();
  const val = new Float64Array(n);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const pos = idx[i]!;
    const tf = counts.get(vocab.buckets[pos]!)!;
    const v = (tf >= 1 ? 1 + Math.log(tf) : tf) * vocab.idf[pos]!;
    val[i] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < n; i++) val[i]! /= norm;
  return { idx, val };
}

export function positions(vocab: Vocabulary): Map<number, number> {
  return new Map(vocab.buckets.map((b, i) => [b, i]));
}
