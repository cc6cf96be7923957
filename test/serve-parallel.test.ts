// `serve --parallel N`: up to N engine generations in flight at once, each with its own AbortSignal and its
// own steering, and every answer the same as the request would get alone. The backend is the real llama
// backend, wrapped only to count the calls in flight.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeControlVector } from "../src/gguf/vector-file.js";
import { type BackendRequest, createLlamaBackend, type GenerationBackend } from "../src/server/backend.js";
import { type RunningServer, startServer } from "../src/server/openai-server.js";
import { tinyModel } from "./paths.js";

let dir: string;
let server: RunningServer;
let inFlight = 0;
let maxInFlight = 0;
const signals: AbortSignal[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-serve-par-"));
  mkdirSync(join(dir, "v"));
  for (const [name, phase] of [
    ["a", 0],
    ["b", 2],
  ] as const) {
    const directions = new Map<number, Float32Array>();
    for (let il = 1; il <= 3; il++)
      directions.set(
        il,
        Float32Array.from({ length: 64 }, (_, i) => Math.cos(i * 0.7 + il + phase)),
      );
    writeControlVector(join(dir, "v", `${name}.gguf`), { directions, nEmbd: 64, modelHint: "llama" });
  }
  const real = await createLlamaBackend(tinyModel, { threads: 1, contextSize: 512 });
  const counting: GenerationBackend = {
    ...real,
    modelId: real.modelId,
    modelNames: real.modelNames,
    contextSize: real.contextSize,
    maxTokenBytes: real.maxTokenBytes,
    async generate(req: BackendRequest) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      signals.push(req.signal);
      try {
        return await real.generate(req);
      } finally {
        inFlight--;
      }
    },
  };
  server = await startServer({
    model: tinyModel,
    port: 0,
    parallel: 3,
    maxQueue: 16,
    vectorsDir: join(dir, "v"),
    backend: counting,
  });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const chat = async (body: Record<string, unknown>) => {
  const res = await fetch(`${server.url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content: "Once upon a time" }],
      max_tokens: 24,
      ...body,
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { choices: { message: { content: string } }[] }).choices.map(
    (c) => c.message.content,
  );
};

describe("serve --parallel", () => {
  it("keeps up to N generations in flight, each with its own signal, and mixed steering stays per request", async () => {
    const variants = [
      { temperature: 0 },
      { temperature: 0, steering: { vector: "a", strength: 6 } },
      { temperature: 0, steering: { vector: "b", strength: 6 } },
      { temperature: 1, seed: 11 },
      { temperature: 0, steering: { vector: "a", strength: -6 } },
      { temperature: 1, seed: 12, n: 2 },
    ];
    // Alone, one at a time.
    const alone: string[][] = [];
    for (const v of variants) alone.push(await chat(v));
    expect(maxInFlight).toBe(2); // the n: 2 request's two choices
    expect(alone[5]).toHaveLength(2);
    // Steering changes the answer, so a leak between requests would show.
    expect(alone[1]).not.toEqual(alone[0]);
    expect(alone[2]).not.toEqual(alone[1]);
    maxInFlight = 0;
    signals.length = 0;
    const together = await Promise.all([...variants, ...variants].map((v) => chat(v)));
    expect(maxInFlight).toBe(3);
    expect(together).toEqual([...alone, ...alone]);
    expect(signals).toHaveLength(14);
    expect(new Set(signals).size).toBe(12); // one AbortSignal per request; its n choices share it
    expect(signals.every((s) => !s.aborted)).toBe(true);
  });
});
