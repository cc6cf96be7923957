// LlamaEngine on the real tiny GGUF (llama arch, 4 layers, n_embd 64, 512 vocab): loading, tokenization,
// generation (greedy/seeded/stop strings/limits), context reuse, serialisation and disposal.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tinyModel } from "../../test/paths.js";
import { type EngineGenerateRequest, LlamaEngine } from "./engine.js";

const PROMPT = "I dream of";

describe("LlamaEngine on the tiny GGUF", () => {
  let engine: LlamaEngine;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "steerbench-llama-"));
    // One thread: on a shared 2-core machine (vitest runs two files at once) ggml's spinning thread pool
    // slows down 10-100x when oversubscribed, while one thread stays near 0.6 ms/token on this model.
    engine = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128 });
  });

  afterAll(async () => {
    await engine?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("reports the model's shape", () => {
    expect(engine.info).toMatchObject({
      nLayer: 4,
      nEmbd: 64,
      nVocab: 512,
      nCtxTrain: 128,
      threads: 1,
      chatTemplate: "none",
      hooks: true,
    });
    // llama.cpp may round the context up; it never gives less than asked.
    expect(engine.info.contextSize).toBeGreaterThanOrEqual(128);
    expect(engine.info.batchSize).toBe(128);
  });

  it("rejects a missing file, a directory and a non-GGUF file with clear errors", async () => {
    await expect(LlamaEngine.load(join(tmp, "nope.gguf"), { threads: 1 })).rejects.toThrow(
      /^model file not found: .*nope\.gguf$/,
    );
    await expect(LlamaEngine.load(tmp, { threads: 1 })).rejects.toThrow(/model path is not a file/);
    const junk = join(tmp, "junk.gguf");
    writeFileSync(junk, "this is not a gguf file at all, just text padding it out to some length".repeat(4));
    // The message carries llama.cpp's own reason from its log.
    await expect(LlamaEngine.load(junk, { threads: 1 })).rejects.toThrow(
      /cannot load model .*junk\.gguf: .*gguf/i,
    );
    await expect(LlamaEngine.load(tinyModel, { threads: 0 })).rejects.toThrow(
      /invalid LlamaEngine options: threads/,
    );
  });

  it("tokenizes with BOS and detokenizes back", () => {
    const tokens = engine.tokenize("Once upon a time");
    expect(tokens[0]).toBe(1); // BOS of this vocab
    expect(tokens.length).toBeGreaterThan(3);
    expect(engine.detokenize(tokens, { removeSpecial: true }).trimStart()).toBe("Once upon a time");
    expect(engine.tokenize("Once upon a time", { addSpecial: false })).toEqual(tokens.slice(1));
    expect(() => engine.detokenize([512])).toThrow(/outside the vocabulary/);
  });

  it("greedy generation is stable across calls and its text is the detokenized tokens", async () => {
    const a = await engine.generate({ prompt: PROMPT, maxTokens: 40, temperature: 0 });
    const b = await engine.generate({ prompt: PROMPT, maxTokens: 40, temperature: 0 });
    expect(b.tokens).toEqual(a.tokens);
    expect(b.text).toBe(a.text);
    expect(a.seed).toBeUndefined();
    expect(a.finishReason).toBe("max_tokens");
    expect(a.completionTokens).toBe(40);
    expect(a.tokens).toHaveLength(40);
    expect(a.promptTokens).toBe(engine.tokenize(PROMPT).length);
    expect(a.prompt).toBe(PROMPT);
    expect(a.text.length).toBeGreaterThan(20);
    // Pieces streamed one by one give the same text as detokenizing the whole sequence at once.
    const promptTokens = engine.tokenize(PROMPT);
    expect(engine.detokenize([...promptTokens, ...a.tokens], { removeSpecial: true })).toBe(
      engine.detokenize(promptTokens, { removeSpecial: true }) + a.text,
    );
    expect(a.timings.totalMs).toBeGreaterThanOrEqual(a.timings.promptMs + a.timings.generationMs - 1e-6);
    expect(a.timings.generationTokensPerSecond).toBeGreaterThan(0);
  });

  it("seeded sampling is deterministic per seed and reports the seed", async () => {
    const req = { prompt: PROMPT, maxTokens: 40, temperature: 1, topP: 0.95 };
    const a = await engine.generate({ ...req, seed: 42 });
    const b = await engine.generate({ ...req, seed: 42 });
    expect(b.tokens).toEqual(a.tokens);
    expect(a.seed).toBe(42);
    const others = await Promise.all([7, 8, 9].map((seed) => engine.generate({ ...req, seed })));
    expect(others.some((o) => o.text !== a.text)).toBe(true);
    const unseeded = await engine.generate(req);
    expect(unseeded.seed).toEqual(expect.any(Number));
    const replay = await engine.generate({ ...req, seed: unseeded.seed });
    expect(replay.tokens).toEqual(unseeded.tokens);
  });

  it("stops before a stop string, even one spanning tokens", async () => {
    const full = await engine.generate({ prompt: PROMPT, maxTokens: 40, temperature: 0 });
    // A stop string from the middle of the greedy text, starting mid-token.
    const stop = full.text.slice(12, 17);
    const at = full.text.indexOf(stop);
    const cut = await engine.generate({
      prompt: PROMPT,
      maxTokens: 40,
      temperature: 0,
      stop: ["never-there", stop],
    });
    expect(cut.finishReason).toBe("stop_string");
    expect(cut.text).toBe(full.text.slice(0, at));
    expect(cut.completionTokens).toBeLessThan(full.completionTokens);
    expect(cut.tokens).toEqual(full.tokens.slice(0, cut.completionTokens));
  });

  it("honours maxTokens (including 0), end-of-generation and a full context", async () => {
    const five = await engine.generate({ prompt: PROMPT, maxTokens: 5, temperature: 0 });
    expect([five.completionTokens, five.finishReason]).toEqual([5, "max_tokens"]);
    const none = await engine.generate({ prompt: PROMPT, maxTokens: 0, temperature: 0 });
    expect([none.text, none.completionTokens, none.finishReason]).toEqual(["", 0, "max_tokens"]);

    // This prompt's greedy continuation ends with the EOS token (id 2), which is not part of the text.
    const eog = await engine.generate({ prompt: PROMPT, maxTokens: 230, temperature: 0 });
    expect(eog.finishReason).toBe("eog");
    expect(eog.tokens).not.toContain(2);

    const nCtx = engine.info.contextSize;
    let long = PROMPT;
    while (engine.tokenize(long).length < nCtx - 20) long += " the";
    expect(engine.tokenize(long).length).toBeLessThan(nCtx);
    const full = await engine.generate({ prompt: long, maxTokens: 1000, temperature: 0 });
    if (full.finishReason !== "eog") {
      expect(full.finishReason).toBe("context_full");
      // The last token is sampled from the final logits but has no room to be decoded.
      expect(full.promptTokens + full.completionTokens).toBe(nCtx + 1);
    }
    await expect(engine.generate({ prompt: "The ".repeat(nCtx + 10), maxTokens: 1 })).rejects.toThrow(
      /the prompt has \d+ tokens; the context holds/,
    );
  });

  it("joins messages as plain text when there is no chat template", async () => {
    const messages = [
      { role: "system" as const, content: "You dream." },
      { role: "user" as const, content: PROMPT },
    ];
    expect(engine.applyChatTemplate(messages)).toBe(`You dream.\n\n${PROMPT}`);
    const viaMessages = await engine.generate({ messages, maxTokens: 10, temperature: 0 });
    const viaPrompt = await engine.generate({
      prompt: `You dream.\n\n${PROMPT}`,
      maxTokens: 10,
      temperature: 0,
    });
    expect(viaMessages.prompt).toBe(`You dream.\n\n${PROMPT}`);
    expect(viaMessages.tokens).toEqual(viaPrompt.tokens);
  });

  it("rejects malformed requests naming the field", async () => {
    await expect(engine.generate({ prompt: PROMPT, temperature: -1 })).rejects.toThrow(/temperature/);
    const both = {
      prompt: PROMPT,
      messages: [{ role: "user", content: "x" }],
    } as unknown as EngineGenerateRequest;
    await expect(engine.generate(both)).rejects.toThrow(/exactly one of prompt, messages/);
    const unknownField = { prompt: PROMPT, max_tokens: 3 } as unknown as EngineGenerateRequest;
    await expect(engine.generate(unknownField)).rejects.toThrow(/max_tokens/);
    const badRole = { messages: [{ role: "tool", content: "x" }] } as unknown as EngineGenerateRequest;
    await expect(engine.generate(badRole)).rejects.toThrow(/messages\.0\.role/);
  });

  it("clears the context between calls and serialises overlapping calls", async () => {
    const prompts = [PROMPT, "The", "Numbers"];
    const sequential = [];
    for (const prompt of prompts)
      sequential.push(await engine.generate({ prompt, maxTokens: 25, temperature: 0 }));
    // Fired together: the mutex queues them; each must see only its own prompt in the KV cache.
    const overlapping = await Promise.all(
      [...prompts, ...prompts].map((prompt) => engine.generate({ prompt, maxTokens: 25, temperature: 0 })),
    );
    expect(overlapping.map((g) => g.text)).toEqual([...sequential, ...sequential].map((g) => g.text));
  });

  it("aborts a generation through its signal", async () => {
    const ac = new AbortController();
    const run = engine.generate({
      prompt: PROMPT,
      maxTokens: 200,
      temperature: 1,
      seed: 1,
      signal: ac.signal,
    });
    setImmediate(() => ac.abort());
    await expect(run).rejects.toThrow(/abort/i);
    // The engine is still usable afterwards.
    const after = await engine.generate({ prompt: PROMPT, maxTokens: 3, temperature: 0 });
    expect(after.completionTokens).toBe(3);
  });
});

describe("LlamaEngine options and lifecycle", () => {
  it("applies a chosen built-in chat template and explains unsupported ones", async () => {
    const chatml = await LlamaEngine.load(tinyModel, {
      threads: 1,
      contextSize: 128,
      chatTemplate: "chatml",
    });
    try {
      expect(chatml.info.chatTemplate).toBe("option");
      expect(chatml.applyChatTemplate([{ role: "user", content: "hi" }])).toBe(
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
      );
    } finally {
      await chatml.dispose();
    }
    const bogus = await LlamaEngine.load(tinyModel, {
      threads: 1,
      contextSize: 128,
      chatTemplate: "{{ nonsense }}",
    });
    try {
      expect(() => bogus.applyChatTemplate([{ role: "user", content: "hi" }])).toThrow(
        /not one llama\.cpp can apply .*chatml.*"none"/,
      );
      // Raw prompts still work.
      await expect(bogus.generate({ prompt: PROMPT, maxTokens: 2, temperature: 0 })).resolves.toMatchObject({
        completionTokens: 2,
      });
    } finally {
      await bogus.dispose();
    }
  });

  it("gives the same greedy tokens with 2 threads as with 1", async () => {
    const req = { prompt: PROMPT, maxTokens: 12, temperature: 0 };
    const one = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128 });
    const two = await LlamaEngine.load(tinyModel, { threads: 2, contextSize: 128 });
    try {
      expect(two.info.threads).toBe(2);
      expect((await two.generate(req)).tokens).toEqual((await one.generate(req)).tokens);
    } finally {
      await one.dispose();
      await two.dispose();
    }
  });

  it("splits inputs longer than a batch without changing states, scores or text", async () => {
    const long = `${PROMPT} electric sheep, quiet vectors and the hum of numbers in the night`;
    const ref = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128 });
    const small = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128, batchSize: 7 });
    try {
      expect(small.info.batchSize).toBe(7);
      const n = ref.tokenize(long).length;
      expect(n).toBeGreaterThan(3 * 7);
      const req = { prompt: long, layers: [0, 2, 3], positions: "all" as const };
      const [a, b] = [await ref.captureHiddenStates(req), await small.captureHiddenStates(req)];
      for (const il of req.layers) {
        expect(b.get(il)).toHaveLength(n);
        let worst = 0;
        b.get(il)!.forEach((row, p) => {
          row.forEach((x, i) => {
            worst = Math.max(worst, Math.abs(x - a.get(il)![p]![i]!));
          });
        });
        expect(worst).toBeLessThan(1e-4);
      }
      const conts = [" and the sea", " of light and shadow over the quiet field"];
      const [sa, sb] = [
        await ref.scoreContinuations(long, conts),
        await small.scoreContinuations(long, conts),
      ];
      for (const [i, s] of sb.entries()) expect(s).toBeCloseTo(sa[i]!, 3);
      const g = { prompt: long, maxTokens: 15, temperature: 0 };
      expect((await small.generate(g)).text).toBe((await ref.generate(g)).text);
    } finally {
      await ref.dispose();
      await small.dispose();
    }
  });

  it("waits for a running call before disposing, then refuses further calls", async () => {
    const engine = await LlamaEngine.load(tinyModel, { threads: 1, contextSize: 128 });
    const running = engine.generate({ prompt: PROMPT, maxTokens: 30, temperature: 0 });
    const disposed = engine.dispose();
    await expect(running).resolves.toMatchObject({ completionTokens: 30 });
    await disposed;
    expect(engine.isDisposed).toBe(true);
    await expect(engine.generate({ prompt: PROMPT })).rejects.toThrow(/disposed/);
    expect(() => engine.tokenize("x")).toThrow(/disposed/);
    await expect(engine.dispose()).resolves.toBeUndefined();
  });
});
