// The llama provider on the real tiny GGUF: context-length honesty (max_tokens capped and reported, never a
// prompt cut to make room; a prompt that alone fills the window cut from the front and reported), activation
// modes from a config's `activation` (ablate without a strength), and concurrent steered and unsteered
// requests batched without one's vector reaching the other.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tinyModel } from "../../test/paths.js";
import { writeControlVector } from "../gguf/vector-file.js";
import { conditionFromSpec, conditionSchema } from "../protocol/conditions.js";
import type { ChatMessage, ProtocolStrings } from "../types.js";
import { createLlamaProvider } from "./llama-provider.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-llama-provider-"));
const vectorPath = join(dir, "v.gguf");
const strings = {} as ProtocolStrings;
const msgs = (content: string): ChatMessage[] => [{ role: "user", content }];

describe("llama provider", () => {
  let provider: Awaited<ReturnType<typeof createLlamaProvider>>;

  beforeAll(async () => {
    provider = await createLlamaProvider(tinyModel, { threads: 1, contextSize: 256, parallel: 4 });
    const nEmbd = provider.engine.info.nEmbd;
    writeControlVector(vectorPath, {
      directions: new Map(
        [1, 2, 3].map((il) => [il, Float32Array.from({ length: nEmbd }, (_, i) => Math.cos(i * il))]),
      ),
      nEmbd,
      modelHint: "llama",
    });
  });
  afterAll(async () => {
    await provider?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("caps max_tokens to the room left instead of generating from a cut prompt, and says so", async () => {
    const window = provider.engine.info.contextSize;
    const text = "the quiet river ran over the old stone and into the morning light ".repeat(6);
    const promptTokens = provider.engine.tokenize(text).length;
    expect(promptTokens).toBeGreaterThan(window / 2);
    const g = await provider.generate({ messages: msgs(text), maxTokens: 1024, rawPrompt: true });
    // Before: the prompt was cut to 1 token to leave 1024 − … tokens for generation.
    expect(g.promptTokens).toBe(promptTokens);
    expect(g.maxTokensCapped).toEqual({ requested: 1024, granted: window - promptTokens });
    expect(g.promptTruncated).toBeUndefined();
  });

  it("cuts a prompt that alone fills the window from the front, and reports both numbers", async () => {
    const text = "the quiet river ran over the old stone and into the morning light ".repeat(12);
    const g = await provider.generate({ messages: msgs(text), maxTokens: 1024, rawPrompt: true });
    expect(g.promptTruncated?.from).toBe(provider.engine.tokenize(text).length);
    expect(g.promptTruncated?.to).toBe(g.promptTokens);
    expect(g.maxTokensCapped?.granted).toBe(provider.engine.info.contextSize - g.promptTokens!);
    await expect(
      provider.generate({ messages: msgs(text), maxTokens: 8, rawPrompt: true, contextOverflow: "error" }),
    ).rejects.toThrow(/the context holds/);
  });

  it("runs a config's activation { vector, mode: ablate } (no strength) per request, beside unsteered ones", async () => {
    const spec = conditionSchema.parse({ name: "abl", activation: { vector: vectorPath, mode: "ablate" } });
    const condition = conditionFromSpec(spec, strings);
    expect(condition.activation).toMatchObject({ vector: vectorPath, mode: "ablate" });
    expect(() => conditionSchema.parse({ name: "x", activation: { vector: vectorPath } })).toThrow(
      /strength/,
    );
    const req = { messages: msgs("I dream of"), maxTokens: 24, rawPrompt: true };
    const plain = await provider.generate(req);
    const [a, b, c] = await Promise.all([
      provider.generate({ ...req, steering: condition.activation }),
      provider.generate(req),
      provider.generate({ ...req, steering: { vector: vectorPath, strength: 0.8, mode: "rotate" } }),
    ]);
    expect(b.response).toBe(plain.response);
    expect(a.response).not.toBe(plain.response);
    expect(c.response).not.toBe(plain.response);
    await expect(
      provider.generate({ ...req, steering: { vector: vectorPath, strength: 4, mode: "rotate" } }),
    ).rejects.toThrow(/rotate takes the rotation angle in radians/);
  });
});
