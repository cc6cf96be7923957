import { LlamaEngine } from "../../dist/llama/engine.js";

const [path, threads, hooks, n] = process.argv.slice(2);
const e = await LlamaEngine.load(path, { threads: Number(threads), contextSize: 512, hooks: hooks === "1" });
const out = [];
for (let i = 0; i < Number(n ?? 4); i++) {
  const r = await e.generate({
    prompt: "The committee met on a grey Tuesday morning",
    maxTokens: 16,
    temperature: 0,
  });
  out.push(r.timings.generationTokensPerSecond.toFixed(1));
}
console.log(`threads ${threads} hooks ${hooks}: gen tok/s ${out.join(" ")}`);
await e.dispose();
