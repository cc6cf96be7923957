// One engine in its own process, driven by bench.js over IPC. Each engine gets a process so that neither
// shares a heap, an event loop or llama.cpp's process-global log with the other, and so that bench.js can kill
// one that the machine's load has slowed past the deadline. Every timing is taken here, around the engine's
// public call only; IPC is never inside a timed region.
//
//   argv: engine ("ours" | "nlc"), model path, threads, context size, hooks ("1" | "0", ours only)
//   messages in:  { id, cmd, ...args }   out: { id, ok: true, result } | { id, ok: false, error }
import { performance } from "node:perf_hooks";

const [engineKind, modelPath, threadsArg, contextArg, hooksArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const contextSize = Number(contextArg);

/** @typedef {{ ms: number, tokens: number[], promptTokens: number, stop: string, internal?: object }} GenResult */

async function loadOurs() {
  const { LlamaEngine } = await import("../../dist/llama/engine.js");
  const engine = await LlamaEngine.load(modelPath, { threads, contextSize, hooks: hooksArg === "1" });
  const nLayer = engine.info.nLayer;
  const nEmbd = engine.info.nEmbd;
  return {
    info: { ...engine.info },
    tokenize: (text) => engine.tokenize(text),
    /** @returns {Promise<GenResult>} */
    async generate({ prompt, maxTokens }) {
      const t0 = performance.now();
      const r = await engine.generate({ prompt, maxTokens, temperature: 0 });
      const ms = performance.now() - t0;
      return {
        ms,
        tokens: r.tokens,
        promptTokens: r.promptTokens,
        stop: r.finishReason === "max_tokens" ? "maxTokens" : r.finishReason,
        text: r.text,
        internal: r.timings,
      };
    },
    async capture({ prompt }) {
      const layers = Array.from({ length: nLayer }, (_, i) => i);
      const t0 = performance.now();
      const rows = await engine.captureHiddenStates({ prompt, layers, positions: "last" });
      const ms = performance.now() - t0;
      if (rows.size !== nLayer) throw new Error(`captured ${rows.size} layers, expected ${nLayer}`);
      return { ms };
    },
    async setCvec({ strength, normPreserving, seed }) {
      // A random unit direction per steerable layer (1 … nLayer−1): cost does not depend on the values.
      let s = seed >>> 0 || 1;
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
      await engine.setControlVector({ data, strength, normPreserving });
      return engine.controlVector;
    },
    async clearCvec() {
      await engine.clearControlVector();
      return null;
    },
    dispose: () => engine.dispose(),
  };
}

async function loadNodeLlamaCpp() {
  const { getLlama, LlamaCompletion, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  // The same context settings as ours: n_ctx, n_batch = n_ubatch = min(512, n_ctx), threads, flash attention
  // left to llama.cpp ("auto", llama_context_default_params' value, which ours keeps).
  const context = await model.createContext({
    threads,
    contextSize,
    batchSize: Math.min(512, contextSize),
    flashAttention: "auto",
  });
  const sequence = context.getSequence();
  const completion = new LlamaCompletion({ contextSequence: sequence });
  const bos = model.tokens.bos;
  return {
    info: {
      contextSize: context.contextSize,
      batchSize: context.batchSize,
      threads: context.currentThreads,
      flashAttention: context.flashAttention,
    },
    tokenize: (text) => model.tokenize(text),
    /** `tokens` are ours, BOS included: LlamaCompletion prepends BOS itself, so it gets the rest. */
    async generate({ tokens, maxTokens }) {
      const input = bos !== null && bos !== undefined && tokens[0] === bos ? tokens.slice(1) : tokens;
      // Every call starts from an empty KV cache, as ours does (LlamaCompletion would reuse the prefix).
      await sequence.clearHistory();
      const got = [];
      const t0 = performance.now();
      const r = await completion.generateCompletionWithMeta(input, {
        maxTokens,
        temperature: 0,
        // Greedy on raw logits, as ours: no repeat penalty (LlamaCompletion's default is on).
        repeatPenalty: false,
        onToken: (t) => {
          for (const x of t) got.push(x);
        },
      });
      const ms = performance.now() - t0;
      // onToken may hold back a last partial UTF-8 token, so `tokens` can be a little shorter than maxTokens.
      return {
        ms,
        tokens: got,
        promptTokens: input.length + 1,
        stop: r.metadata.stopReason,
        text: r.response,
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
    else if (cmd === "tokenize") result = engine.tokenize(args.text);
    else if (cmd === "generate") result = await engine.generate(args);
    else if (cmd === "capture") result = await engine.capture(args);
    else if (cmd === "setCvec") result = await engine.setCvec(args);
    else if (cmd === "clearCvec") result = await engine.clearCvec();
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
