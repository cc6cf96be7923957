// One engine with an N-sequence context in its own process, driven by batched.js over IPC: ours
// (LlamaEngine with `parallel: N`) or node-llama-cpp (a context with `sequences: N`, one LlamaCompletion per
// sequence, all generating at once so its batch scheduler packs them). Timings are taken here, around the
// public calls only.
//
//   argv: engine ("ours" | "nlc"), model path, threads, context size per sequence, N
//   messages in:  { id, cmd, ...args }   out: { id, ok: true, result } | { id, ok: false, error }
import { performance } from "node:perf_hooks";

const [engineKind, modelPath, threadsArg, contextArg, nArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const contextSize = Number(contextArg);
const n = Number(nArg);

async function loadOurs() {
  const { LlamaEngine } = await import("../../dist/llama/engine.js");
  const engine = await LlamaEngine.load(modelPath, { threads, contextSize, parallel: n });
  const { nLayer, nEmbd } = engine.info;
  /** A different random unit direction per sequence and layer (1 … nLayer−1): cost does not depend on it. */
  const vectorFor = (k) => {
    let s = (k + 1) * 2654435761 || 1;
    const rand = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 4294967296 - 0.5;
    };
    const data = new Map();
    for (let il = 1; il < nLayer; il++) {
      const v = new Float32Array(nEmbd).map(rand);
      const norm = Math.hypot(...v);
      data.set(
        il,
        v.map((x) => x / norm),
      );
    }
    return data;
  };
  const vectors = Array.from({ length: n }, (_, k) => vectorFor(k));
  return {
    info: { ...engine.info },
    async run({ texts, maxTokens, steer, strength }) {
      const t0 = performance.now();
      const rs = await Promise.all(
        texts.map((prompt, k) =>
          engine.generate({
            prompt,
            maxTokens,
            temperature: 0,
            steering: steer ? { data: vectors[k], strength } : undefined,
          }),
        ),
      );
      const ms = performance.now() - t0;
      return {
        ms,
        sampled: rs.map((r) => r.tokens.length + (r.finishReason === "eog" ? 1 : 0)),
        promptTokens: rs.map((r) => r.promptTokens),
        maxSequencesInStep: engine.batchStats.maxSequencesInStep,
      };
    },
    dispose: () => engine.dispose(),
  };
}

async function loadNodeLlamaCpp() {
  const { getLlama, LlamaCompletion, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({
    threads,
    contextSize,
    sequences: n,
    batchSize: Math.min(512, contextSize * n),
    flashAttention: "auto",
  });
  const sequences = Array.from({ length: n }, () => context.getSequence());
  const completions = sequences.map((s) => new LlamaCompletion({ contextSequence: s }));
  return {
    info: { contextSize: context.contextSize, batchSize: context.batchSize, sequences: n },
    async run({ texts, maxTokens }) {
      await Promise.all(sequences.map((s) => s.clearHistory()));
      const t0 = performance.now();
      const rs = await Promise.all(
        texts.map((text, k) => {
          const got = [];
          return completions[k]
            .generateCompletionWithMeta(text, {
              maxTokens,
              temperature: 0,
              repeatPenalty: false,
              onToken: (t) => {
                for (const x of t) got.push(x);
              },
            })
            .then((r) => ({ got, stop: r.metadata.stopReason }));
        }),
      );
      const ms = performance.now() - t0;
      return {
        ms,
        sampled: rs.map((r) =>
          r.stop === "maxTokens" ? maxTokens : r.got.length + (r.stop === "eogToken" ? 1 : 0),
        ),
      };
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

const enginePromise = engineKind === "ours" ? loadOurs() : loadNodeLlamaCpp();

process.on("message", async (msg) => {
  const { id, cmd, ...args } = msg;
  try {
    const engine = await enginePromise;
    let result;
    if (cmd === "info") result = engine.info;
    else if (cmd === "run") result = await engine.run(args);
    else if (cmd === "exit") {
      await engine.dispose();
      process.send({ id, ok: true, result: null }, () => process.exit(0));
      return;
    } else throw new Error(`unknown command ${cmd}`);
    process.send({ id, ok: true, result });
  } catch (err) {
    process.send({ id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
