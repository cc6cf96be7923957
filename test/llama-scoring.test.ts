// Continuation scoring (sum of token log-probabilities) on the tiny GGUF, as a label-scoring judge uses it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaEngine } from "../src/llama/index.js";
import { tinyModel } from "./paths.js";

const PROMPT = "I dream of";

describe("scoreContinuations on the tiny GGUF", () => {
  let engine: LlamaEngine;
  let greedy: string;

  beforeAll(async () => {
    // One thread: see llama-steering.test.ts (oversubscribed ggml thread pools crawl on a shared 2-core box).
    engine = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128 });
    greedy = (await engine.generate({ prompt: PROMPT, maxTokens: 12, temperature: 0 })).text;
  });

  afterAll(async () => {
    await engine?.dispose();
  });

  it("prefers the model's own greedy continuation over random text of the same length", async () => {
    // Random letters from a fixed LCG: the same every run, not chosen to lose.
    let x = 12345;
    const random = Array.from({ length: greedy.length }, () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return "abcdefghijklmnopqrstuvwxyz "[x % 27];
    }).join("");
    const [g, r] = await engine.scoreContinuations(PROMPT, [greedy, random]);
    expect(g).toBeLessThan(0);
    expect(r).toBeLessThan(g!);
    // A greedy path has high per-token probability: at least e^-3 per token on average here.
    const greedyTokens = engine.tokenize(PROMPT + greedy).length - engine.tokenize(PROMPT).length;
    expect(g! / greedyTokens).toBeGreaterThan(-3);
  });

  it("obeys the chain rule: score(p, a + b) = score(p, a) + score(p + a, b) at token boundaries", async () => {
    const text = PROMPT + greedy;
    const fullTokens = engine.tokenize(text);
    const [whole] = await engine.scoreContinuations(PROMPT, [greedy]);
    let checked = 0;
    for (let c = PROMPT.length + 1; c < text.length; c++) {
      // Split the text at character c where that is also a token boundary of the whole text's tokens.
      const pa = text.slice(0, c);
      const paTokens = engine.tokenize(pa);
      if (paTokens.join() !== fullTokens.slice(0, paTokens.length).join()) continue;
      const [first] = await engine.scoreContinuations(PROMPT, [pa.slice(PROMPT.length)]);
      const [second] = await engine.scoreContinuations(pa, [text.slice(pa.length)]);
      expect(first! + second!).toBeCloseTo(whole!, 3);
      checked++;
    }
    expect(checked).toBeGreaterThan(2);
  });

  it("gives the same scores in one call (cache reuse) as in separate calls, and 0 for an empty continuation", async () => {
    const conts = [" the", greedy, " the sea", "", " quiet"];
    const together = await engine.scoreContinuations(PROMPT, conts);
    const separate: number[] = [];
    for (const c of conts) separate.push((await engine.scoreContinuations(PROMPT, [c]))[0]!);
    for (let i = 0; i < conts.length; i++) expect(together[i]).toBeCloseTo(separate[i]!, 4);
    expect(together[3]).toBe(0);
    // Longer continuations of the same start cannot be more likely than their prefix.
    expect(together[2]).toBeLessThan(together[0]!);
  });

  it("scores chat messages through the chat template (plain joining for this base model)", async () => {
    const messages = [
      { role: "system" as const, content: "You dream." },
      { role: "user" as const, content: PROMPT },
    ];
    const [viaMessages] = await engine.scoreContinuations(messages, [greedy]);
    const [viaText] = await engine.scoreContinuations(`You dream.\n\n${PROMPT}`, [greedy]);
    expect(viaMessages).toBeCloseTo(viaText!, 5);
  });

  it("changes under steering, which is what a steered label judge measures", async () => {
    const [before] = await engine.scoreContinuations(PROMPT, [greedy]);
    const v = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7));
    await engine.setControlVector({ data: new Map([[2, v]]), strength: 3 });
    try {
      const [steered] = await engine.scoreContinuations(PROMPT, [greedy]);
      expect(Math.abs(steered! - before!)).toBeGreaterThan(0.1);
    } finally {
      await engine.clearControlVector();
    }
    const [after] = await engine.scoreContinuations(PROMPT, [greedy]);
    expect(after).toBeCloseTo(before!, 6);
  });
});
