// Runtime ablation hooks the residual-stream writers by their graph node names (attn_out-<il>, ffn_out-<il>,
// embd), which llama.cpp v0.5.0 names in the llama and mistral3 graphs only. On another architecture the
// ablation would silently skip writers, so the sequence fails by name instead, and its unsteered neighbours
// in the same batch are unaffected. The model here is the synthetic tiny llama rewritten as qwen3 (its
// q/k norms added as ones), which llama.cpp loads and runs with its own qwen3 graph.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type GgufTensorInput, type GgufValue, readGgufFile, writeGgufFile } from "../src/gguf/gguf.js";
import { writeControlVector } from "../src/gguf/vector-file.js";
import { controlVectorSpec } from "../src/llama/apply-steering.js";
import { LlamaEngine } from "../src/llama/engine.js";
import { writeSyntheticLlamaGguf } from "../src/llama/synthetic-model.js";

const dir = mkdtempSync(join(tmpdir(), "sb-ablate-arch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function asQwen3(src: string, out: string): void {
  const f = readGgufFile(src);
  const kv = new Map<string, GgufValue>();
  for (const [k, v] of f.kv) {
    if (k === "general.architecture") kv.set(k, { type: "string", value: "qwen3" });
    else kv.set(k.startsWith("llama.") ? `qwen3.${k.slice(6)}` : k, v);
  }
  const heads = Number((f.kv.get("llama.attention.head_count") as { value: number }).value);
  const embd = Number((f.kv.get("llama.embedding_length") as { value: number }).value);
  const tensors: GgufTensorInput[] = [];
  for (const t of f.tensors) {
    tensors.push({ name: t.name, shape: t.shape, data: t.data! });
    const m = /^blk\.(\d+)\.attn_norm\.weight$/.exec(t.name);
    if (m) {
      for (const n of ["attn_q_norm", "attn_k_norm"]) {
        tensors.push({
          name: `blk.${m[1]}.${n}.weight`,
          shape: [embd / heads],
          data: new Float32Array(embd / heads).fill(1),
        });
      }
    }
  }
  writeGgufFile(out, kv, tensors);
}

describe("runtime ablation on an architecture whose graph does not name the writers", () => {
  it("fails the ablating sequence by name; an unsteered neighbour in the batch still answers", async () => {
    const llama = join(dir, "tiny.gguf");
    writeSyntheticLlamaGguf(llama, { preset: "tiny", seed: 3, type: "f32" });
    const qwen = join(dir, "tiny-qwen3.gguf");
    asQwen3(llama, qwen);
    const vector = join(dir, "v.gguf");
    const v = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i + 1));
    writeControlVector(vector, {
      directions: new Map([1, 2, 3].map((il) => [il, v])),
      nEmbd: 64,
      modelHint: "qwen3",
    });
    const engine = await LlamaEngine.load(qwen, { threads: 1, contextSize: 128, parallel: 2 });
    try {
      const steering = await controlVectorSpec({ vector, strength: 1, mode: "ablate" }, engine.info);
      const [plain, ablated] = await Promise.allSettled([
        engine.generate({ prompt: "Once upon a time", maxTokens: 8, temperature: 0 }),
        engine.generate({ prompt: "Once upon a time", maxTokens: 8, temperature: 0, steering }),
      ]);
      expect(plain.status).toBe("fulfilled");
      expect(ablated.status).toBe("rejected");
      expect(String((ablated as PromiseRejectedResult).reason)).toMatch(
        /activation mode ablate: this model's compute graph has no node attn_out-0.*vectors bake --mode ablate/,
      );
    } finally {
      await engine.dispose();
    }
  });
});
