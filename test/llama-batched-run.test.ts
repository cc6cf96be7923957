// A sweep-like run on the tiny GGUF through the real run engine, llama provider and label-scoring llama
// judge, with concurrency 4: a condition's strengths for one item decode in the same batches (and the judge
// scores beside them), and every stored response and label equals those of the same run at concurrency 1.
// With run's default 1024 max tokens on this small-context model, no item is generated from a cut prompt.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRunConfig } from "../src/config/run-config.js";
import { writeControlVector } from "../src/gguf/vector-file.js";
import type { LlamaEngine } from "../src/llama/engine.js";
import { connectModel } from "../src/runner/connect.js";
import { runEvaluation } from "../src/runner/run.js";
import { Store } from "../src/store/store.js";
import { packDir, tinyModel } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "steerbench-batched-run-"));
const vectorPath = join(dir, "v.gguf");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  const d = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 0.9));
  writeControlVector(vectorPath, {
    directions: new Map([
      [1, d],
      [2, d],
      [3, d],
    ]),
    nEmbd: 64,
    modelHint: "llama",
  });
});

function config(concurrency: number, maxTokens?: number) {
  return parseRunConfig({
    limit: 3,
    concurrency,
    conditions: [
      "baseline",
      { name: "s-2", activation: { vector: vectorPath, strength: -2 } },
      { name: "s+2", activation: { vector: vectorPath, strength: 2 } },
      { name: "abl", activation: { vector: vectorPath, mode: "ablate" } },
    ],
    models: [{ model: tinyModel, provider: "llama", threads: 1, contextSize: 256 }],
    judges: [{ model: tinyModel, provider: "llama", mode: "score", threads: 1, contextSize: 256 }],
    decoding: maxTokens === undefined ? {} : { maxTokens },
    retry: { retries: 0 },
  });
}

async function run(concurrency: number, maxTokens?: number) {
  const store = Store.open(join(dir, `c${concurrency}-${maxTokens ?? "default"}.sqlite`));
  let engine: LlamaEngine | undefined;
  try {
    const summary = await runEvaluation({
      config: config(concurrency, maxTokens),
      store,
      packDir,
      connect: {
        model: async (m, ctx) => {
          const c = await connectModel(m, ctx);
          engine = (c.provider as unknown as { engine: LlamaEngine }).engine;
          return c;
        },
      },
    });
    const items = store.items(summary.run.id);
    const byKey = new Map(
      items.map((i) => [`${i.condition}/${i.scenarioId}`, { response: store.response(i.id)!, id: i.id }]),
    );
    const labels = new Map(store.judgements(summary.run.id).map((j) => [j.itemId, j.label]));
    return { summary, byKey, labels, stats: engine!.batchStats, parallel: engine!.info.parallel };
  } finally {
    store.close();
  }
}

describe("a batched run on a local model", () => {
  it("batches a sweep's strengths and stores what the serial run stores", async () => {
    const serial = await run(1, 24);
    const batched = await run(4, 24);
    expect(serial.parallel).toBe(1);
    expect(batched.parallel).toBe(4);
    expect(serial.stats.maxSequencesInStep).toBe(1);
    expect(batched.stats.maxSequencesInStep).toBeGreaterThanOrEqual(3);
    expect(batched.summary.generationErrors).toBe(0);
    expect(batched.byKey.size).toBe(12);
    for (const [key, s] of serial.byKey) {
      const b = batched.byKey.get(key)!;
      expect(b.response.response, key).toBe(s.response.response);
      expect(batched.labels.get(b.id), key).toBe(serial.labels.get(s.id));
    }
    // Steering reached the steered conditions only.
    const text = (c: string) =>
      [...batched.byKey].filter(([k]) => k.startsWith(`${c}/`)).map(([, v]) => v.response.response);
    expect(text("s+2")).not.toEqual(text("baseline"));
    expect(text("abl")).not.toEqual(text("baseline"));
  });

  it("with the default 1024 max tokens, generates from the whole prompt and caps the answer", async () => {
    const { byKey } = await run(4);
    for (const [key, { response }] of byKey) {
      expect(response.status, key).toBe("ok");
      // The bug this guards against: the prompt cut to 1 token to leave room for 1024.
      expect(response.promptTokens!, key).toBeGreaterThan(50);
      expect(response.promptTokens! + response.completionTokens!, key).toBeLessThanOrEqual(256);
    }
  });
});
