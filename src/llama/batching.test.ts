// Continuous batching on real GGUFs: concurrent generate() calls share decode steps (prompt chunks and
// generation steps mixed), each keeps its own limits, stops and signal, finished sequences free their KV
// cells at once, and greedy output in a batch equals the output alone. Where float differences make a token
// diverge, the test checks it was a tie-break (the two tokens' logits within TIE of each other when run
// alone) and prints how often it happened.
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tinyModel } from "../../test/paths.js";
import { ContextOverflowError, type GenerateResult, LlamaEngine } from "./engine.js";
import { ensureSyntheticLlamaGguf } from "./synthetic-model.js";

const WORDS =
  "the a dream sheep of quiet river stone light morning cat dog ran over under into small old green".split(
    " ",
  );

/** Deterministic varied prompts of 3 … 12 words. */
function prompts(n: number, seed: number): string[] {
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a >>> 8;
  };
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: 3 + ((i * 5) % 10) }, () => WORDS[next() % WORDS.length]).join(" "),
  );
}

/** Logit gap under which a differing greedy choice counts as a tie-break of float noise. */
const TIE = 1e-3;

/**
 * Generates every prompt alone (one engine, one sequence) and all at once in a batch (second half submitted
 * once the first half is generating, so prompt chunks mix with generation steps). Returns the divergences
 * with the logit gap between the two tokens where they part, measured alone.
 */
async function compareAloneAndBatched(
  alone: LlamaEngine,
  batched: LlamaEngine,
  ps: string[],
  maxTokens: number,
): Promise<{ diverged: { prompt: number; at: number; gap: number }[]; stepsWithMany: boolean }> {
  const solo: GenerateResult[] = [];
  for (const prompt of ps) solo.push(await alone.generate({ prompt, maxTokens, temperature: 0 }));
  const before = batched.batchStats;
  const half = Math.ceil(ps.length / 2);
  let release!: () => void;
  const started = new Promise<void>((r) => {
    release = r;
  });
  const first = ps.slice(0, half).map((prompt, i) =>
    batched.generate({
      prompt,
      maxTokens,
      temperature: 0,
      onText: i === 0 ? () => release() : undefined,
    }),
  );
  await Promise.race([started, Promise.all(first)]);
  const second = Promise.all(
    ps.slice(half).map((prompt) => batched.generate({ prompt, maxTokens, temperature: 0 })),
  );
  const together = [...(await Promise.all(first)), ...(await second)];
  const diverged: { prompt: number; at: number; gap: number }[] = [];
  for (const [i, r] of together.entries()) {
    const a = solo[i]!.tokens;
    const b = r.tokens;
    const at = a.findIndex((t, k) => t !== b[k]);
    if (at === -1 && a.length === b.length) continue;
    const k = at === -1 ? Math.min(a.length, b.length) : at;
    const logits = await alone.nextTokenLogits([...alone.tokenize(ps[i]!), ...a.slice(0, k)]);
    // An end-of-generation on one side is a token too; compare the two choices' logits.
    const ta = a[k];
    const tb = b[k];
    const gap = ta !== undefined && tb !== undefined ? Math.abs(logits[ta]! - logits[tb]!) : Number.NaN;
    diverged.push({ prompt: i, at: k, gap });
  }
  return {
    diverged,
    stepsWithMany: batched.batchStats.maxSequencesInStep > 1 && before.steps < batched.batchStats.steps,
  };
}

describe("continuous batching on the tiny GGUF", () => {
  let alone: LlamaEngine;
  let batched: LlamaEngine;

  beforeAll(async () => {
    alone = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 256 });
    batched = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 256, parallel: 8 });
  });
  afterAll(async () => {
    await alone?.dispose();
    await batched?.dispose();
  });

  it("reports the per-sequence window and the parallelism", () => {
    expect(batched.info.parallel).toBe(8);
    expect(batched.info.contextSize).toBe(256);
    expect(alone.info.contextSize).toBe(256);
    expect(alone.info.parallel).toBe(1);
  });

  it("refuses a batch smaller than the number of sequences, and a bad parallel, by name", async () => {
    await expect(LlamaEngine.load(tinyModel, { threads: 1, parallel: 4, batchSize: 2 })).rejects.toThrow(
      /batchSize 2 is smaller than parallel 4/,
    );
    await expect(LlamaEngine.load(tinyModel, { threads: 1, parallel: 0 })).rejects.toThrow(/parallel/);
  });

  it("gives each of 64 prompts the greedy tokens it gets alone (divergences only at tie-breaks)", async () => {
    const ps = prompts(64, 11);
    const { diverged, stepsWithMany } = await compareAloneAndBatched(alone, batched, ps, 32);
    expect(stepsWithMany).toBe(true);
    console.log(
      `tiny GGUF, parallel 8: ${diverged.length}/${ps.length} prompts diverged from their solo greedy output`,
      diverged,
    );
    for (const d of diverged) expect(d.gap).toBeLessThan(TIE);
  });

  it("keeps each sequence's own max tokens, stop strings and seed", async () => {
    const reqs = [
      { prompt: "I dream of", maxTokens: 3, temperature: 0 },
      { prompt: "The cat ran", maxTokens: 40, temperature: 0, stop: [" the"] },
      { prompt: "Once upon", maxTokens: 20, temperature: 0.9, seed: 42 },
      { prompt: "Once upon", maxTokens: 20, temperature: 0.9, seed: 7 },
    ];
    const solo = [];
    for (const r of reqs) solo.push(await alone.generate(r));
    const together = await Promise.all(reqs.map((r) => batched.generate(r)));
    expect(together[0]!.completionTokens).toBe(3);
    expect(together[0]!.finishReason).toBe("max_tokens");
    expect(together[1]!.text).not.toContain(" the");
    for (const [i, r] of together.entries()) {
      expect(r.text).toBe(solo[i]!.text);
      expect(r.finishReason).toBe(solo[i]!.finishReason);
      expect(r.seed).toBe(solo[i]!.seed);
    }
  });

  it("aborts one sequence without disturbing the others, and frees its slot", async () => {
    const ac = new AbortController();
    const ps = prompts(4, 3);
    const solo = [];
    for (const prompt of ps) solo.push(await alone.generate({ prompt, maxTokens: 30, temperature: 0 }));
    let pieces = 0;
    const runs = ps.map((prompt, i) =>
      batched.generate({
        prompt,
        maxTokens: 30,
        temperature: 0,
        signal: i === 1 ? ac.signal : undefined,
        onText:
          i === 1
            ? () => {
                if (++pieces === 2) ac.abort();
              }
            : undefined,
      }),
    );
    const settled = await Promise.allSettled(runs);
    expect(settled[1]!.status).toBe("rejected");
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ name: "AbortError" });
    for (const i of [0, 2, 3]) {
      expect(settled[i]!.status).toBe("fulfilled");
      expect((settled[i] as PromiseFulfilledResult<GenerateResult>).value.tokens).toEqual(solo[i]!.tokens);
    }
    expect(batched.load).toEqual({ active: 0, queued: 0, parallel: 8 });
  });

  it("drops a queued request whose signal aborts at once, while every slot is busy", async () => {
    const one = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 256, parallel: 1 });
    try {
      const ac = new AbortController();
      let firstPieces = 0;
      let queuedSettled = false;
      const running = one.generate({
        prompt: "I dream of",
        maxTokens: 60,
        temperature: 0,
        onText: () => {
          if (++firstPieces === 3) ac.abort();
        },
      });
      // Behind another waiting request, so it is not at the head of the queue when it aborts.
      const waiting = one.generate({ prompt: "Once upon", maxTokens: 5, temperature: 0 });
      const queued = one.generate({ prompt: "The cat", maxTokens: 5, temperature: 0, signal: ac.signal });
      queued
        .catch(() => {})
        .finally(() => {
          queuedSettled = true;
        });
      await expect(queued).rejects.toMatchObject({ name: "AbortError" });
      // It left the queue while the first was still generating.
      const first = await running;
      expect(queuedSettled).toBe(true);
      expect(first.completionTokens).toBeGreaterThan(3);
      await expect(waiting).resolves.toMatchObject({ completionTokens: 5 });
    } finally {
      await one.dispose();
    }
  });

  it("rejects work queued behind dispose and after it, and dispose twice is safe", async () => {
    const e = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 256, parallel: 1 });
    const running = e.generate({ prompt: "I dream of", maxTokens: 10, temperature: 0 });
    const d1 = e.dispose();
    const behind = e.generate({ prompt: "The cat", maxTokens: 5, temperature: 0 });
    const d2 = e.dispose();
    await expect(running).resolves.toMatchObject({ completionTokens: 10 });
    await expect(behind).rejects.toThrow(/disposed/);
    await Promise.all([d1, d2]);
    await expect(e.generate({ prompt: "x", maxTokens: 1 })).rejects.toThrow(/disposed/);
  });

  it("frees a finished sequence's KV cells at once: many more requests than the cache holds at a time", async () => {
    // 2 slots × 256 cells (128 padded, as llama.cpp pads). 12 requests of ~110–140 cells each only fit if
    // every finished one gives its cells back.
    const small = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128, parallel: 2 });
    try {
      const ps = prompts(12, 5);
      const rs = await Promise.all(
        ps.map((prompt) => small.generate({ prompt, maxTokens: 100, temperature: 0 })),
      );
      expect(small.info.contextSize).toBe(256);
      const cells = rs.reduce((n, r) => n + r.promptTokens + r.completionTokens, 0);
      expect(cells).toBeGreaterThan(2 * 2 * 256);
      expect(small.batchStats.maxSequencesInStep).toBe(2);
      const solo = await alone.generate({ prompt: ps[11]!, maxTokens: 100, temperature: 0 });
      expect(rs[11]!.text).toBe(solo.text);
    } finally {
      await small.dispose();
    }
  });

  it("caps max_tokens to the room the prompt leaves instead of cutting the prompt", async () => {
    const prompt = "the quiet river ran over the old stone and into the morning light ".repeat(6);
    const n = alone.tokenize(prompt).length;
    expect(n).toBeGreaterThan(100);
    expect(n).toBeLessThan(alone.info.contextSize);
    const r = await batched.generate({ prompt, maxTokens: 1024, temperature: 0 });
    expect(r.promptTokens).toBe(n);
    const room = batched.info.contextSize - n;
    expect(r.maxTokensCapped).toEqual({ requested: 1024, granted: room });
    expect(r.completionTokens).toBeLessThanOrEqual(room);
    if (r.completionTokens === room) expect(r.finishReason).toBe("context_full");
    await expect(
      batched.generate({ prompt, maxTokens: 1024, temperature: 0, contextOverflow: "error" }),
    ).rejects.toBeInstanceOf(ContextOverflowError);
    const fits = await batched.generate({ prompt, maxTokens: 4, temperature: 0 });
    expect(fits.maxTokensCapped).toBeUndefined();
  });

  it("refuses a prompt that alone fills the window, or cuts it from the front when asked, saying so", async () => {
    const long = "the quiet river ran over the old stone and into the morning light ".repeat(12);
    await expect(batched.generate({ prompt: long, maxTokens: 16, temperature: 0 })).rejects.toThrow(
      /the prompt has \d+ tokens; the context holds \d+/,
    );
    const r = await batched.generate({ prompt: long, maxTokens: 1024, temperature: 0, truncatePrompt: true });
    const window = batched.info.contextSize;
    expect(r.promptTruncated!.from).toBe(alone.tokenize(long).length);
    expect(r.promptTruncated!.to).toBe(r.promptTokens);
    expect(r.promptTokens).toBeLessThanOrEqual(window - Math.floor(window / 4));
    expect(r.promptTokens).toBeGreaterThan(window / 2);
    // The end of the prompt is kept.
    expect(long.endsWith(r.prompt)).toBe(true);
    expect(r.maxTokensCapped).toEqual({ requested: 1024, granted: window - r.promptTokens });
  });
});

describe("continuous batching on the SmolLM2-135M-shaped synthetic GGUF", () => {
  let alone: LlamaEngine;
  let batched: LlamaEngine;

  beforeAll(async () => {
    const { path } = ensureSyntheticLlamaGguf(tmpdir(), { preset: "smollm2-135m", seed: 1, type: "f16" });
    alone = await LlamaEngine.load(path, { threads: 1, contextSize: 128 });
    batched = await LlamaEngine.load(path, { threads: 1, contextSize: 128, parallel: 8 });
  });
  afterAll(async () => {
    await alone?.dispose();
    await batched?.dispose();
  });

  it("gives each of 8 prompts the greedy tokens it gets alone (divergences only at tie-breaks)", async () => {
    const ps = prompts(8, 23);
    const { diverged, stepsWithMany } = await compareAloneAndBatched(alone, batched, ps, 10);
    expect(stepsWithMany).toBe(true);
    console.log(
      `SmolLM2-shaped GGUF, parallel 8: ${diverged.length}/${ps.length} prompts diverged from their solo greedy output`,
      diverged,
    );
    for (const d of diverged) expect(d.gap).toBeLessThan(TIE);
  });
});
