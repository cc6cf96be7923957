// The embedded llama.cpp engine (src/llama) against node-llama-cpp, on the same GGUF, prompt and settings,
// measured in the same run. Run after `npm run build` (it imports the compiled dist/):
//
//   node bench/llama/bench.js            BENCH_QUICK=1 for fewer repetitions; BENCH_PROFILE=1 adds
//                                        --cpu-prof to the engine processes (bench/results/prof-llama/)
//   import { runLlamaBench } from "./llama/bench.js"; await runLlamaBench({ quick })
//
// Models: a synthetic GGUF in SmolLM2-135M's shape (30 layers, n_embd 576, 49,152 tokens, F16) with RANDOM
// weights, written once per seed to os.tmpdir() (~270 MB, never committed), and the tiny shared fixture
// (aidreams260K, F32). Speed depends on shapes, not on what the weights mean.
//
// Method. Each engine runs in its own process (worker.js); the runs are interleaved A, B, C, A, B, C… (the
// order rotating each repetition) and every figure is a median. Prompt: English text of at most 128 tokens
// and at most (training context − 64), so that the tiny fixture (trained on 128) does not stop at once; the
// same token ids for both engines (ours tokenizes; node-llama-cpp gets those ids and prepends the same BOS).
// Each repetition times, per engine, a generation of 1 token (T1 = prompt decode + one sample) and of 64
// greedy tokens (T64), both from an empty KV cache and through each library's public call
// (LlamaEngine.generate vs LlamaCompletion.generateCompletionWithMeta with temperature 0 and no repeat
// penalty): prompt tokens/s = n_prompt / T1, generation tokens/s = (n − 1) / (T64 − T1). Ratios ours/theirs
// are taken per repetition (adjacent runs, so under the same load) and their median reported. Capture and
// steering costs are our engine against itself (same process, interleaved). ggml's thread pool spin-waits:
// with 2 threads on this 2-core machine a busy box can slow a decode 10–100×, so 1 and 2 threads are
// measured separately and the load average is printed beside every section.
import { fork } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Table from "cli-table3";
import { repoRoot } from "./repo-root.js";

const workerPath = join(repoRoot, "bench", "llama", "worker.js");
const distDir = join(repoRoot, "dist");
const resultsDir = join(repoRoot, "bench", "results");
const sharedDir = resolve(process.env.STEERBENCH_SHARED ?? resolve(repoRoot, "..", "shared"));

const PROMPT_TOKENS = 128;
const GEN_TOKENS = 64;
const CONTEXT_SIZE = 512;
const SYNTHETIC_SEED = 1;
/**
 * Control vector strength for the steering runs (unit directions). Cost does not depend on it; it is small
 * so that the steered text stays close to the unsteered one (an early end-of-generation would skew a rate).
 */
const CVEC_STRENGTH = 0.05;

const PARAGRAPH =
  "The committee met on a grey Tuesday morning to review the quarterly report. Revenue had grown in " +
  "three of the four regions, but shipping costs rose sharply after the new contracts took effect, and " +
  "the northern warehouse still reported delays of up to nine days. The chair asked each team to explain " +
  "what had changed since the spring, which measures had worked, and which had simply moved the problem " +
  "somewhere else. After a long discussion they agreed to publish the figures, to hire two more drivers " +
  "before winter, and to meet again in six weeks with a plan that everyone could defend in public. " +
  "Nobody expected the plan to be perfect, but everyone wanted it to be honest about what was known.";

const log = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const round = (x, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
const load = () => loadavg().map((x) => round(x, 2));

class TimeoutError extends Error {}

/** A worker process holding one engine; `call` rejects with TimeoutError (and kills it) past the deadline. */
function startWorker({ engine, model, threads, hooks = true, deadlineMs, profileDir, label }) {
  const execArgv = profileDir
    ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${label}.cpuprofile`]
    : [];
  const child = fork(workerPath, [engine, model, String(threads), String(CONTEXT_SIZE), hooks ? "1" : "0"], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv,
  });
  let nextId = 1;
  const pending = new Map();
  let exited = false;
  child.on("message", (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${label}: ${m.error}`));
  });
  child.on("exit", (code, signal) => {
    exited = true;
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(
        p.timedOut
          ? new TimeoutError(`${label} timed out`)
          : new Error(`${label} exited (${code ?? signal})`),
      );
    }
    pending.clear();
  });
  return {
    label,
    call(cmd, args = {}) {
      if (exited) return Promise.reject(new Error(`${label} is not running`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const p = { resolve, reject, timedOut: false, timer: undefined };
        p.timer = setTimeout(() => {
          p.timedOut = true;
          child.kill("SIGKILL");
        }, deadlineMs);
        pending.set(id, p);
        child.send({ id, cmd, ...args });
      });
    },
    async stop() {
      if (exited) return;
      try {
        await this.call("exit");
      } catch {
        child.kill("SIGKILL");
      }
    },
  };
}

/** Tokens sampled by a generate call (a final end-of-generation token counts: it was decoded for). */
function sampled(r, maxTokens) {
  if (r.stop === "maxTokens") return maxTokens;
  return r.tokens.length + (r.stop === "eog" || r.stop === "eogToken" ? 1 : 0);
}

/**
 * The longest prefix of PARAGRAPH (whole words) of at most `budget` tokens for our tokenizer (BOS included).
 */
async function fitPrompt(ours, budget) {
  const words = PARAGRAPH.split(" ");
  let lo = 1;
  let hi = words.length;
  let best = { prompt: words[0], tokens: await ours.call("tokenize", { text: words[0] }) };
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const prompt = words.slice(0, mid).join(" ");
    const tokens = await ours.call("tokenize", { text: prompt });
    if (tokens.length <= budget) {
      best = { prompt, tokens };
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/** One T1 + T64 measurement of a variant (`inner` pairs, medians: the tiny model's calls take milliseconds). */
async function measureGeneration(worker, prompt, inner = 1) {
  const args = worker.engineKind === "nlc" ? { tokens: prompt.tokens } : { prompt: prompt.prompt };
  const pairs = [];
  for (let i = 0; i < inner; i++) {
    const one = await worker.call("generate", { ...args, maxTokens: 1 });
    const full = await worker.call("generate", { ...args, maxTokens: GEN_TOKENS });
    pairs.push({ one, full });
  }
  const { full } = pairs[0];
  const n = sampled(full, GEN_TOKENS);
  const med = (f) => median(pairs.map(f));
  return {
    promptTokens: pairs[0].one.promptTokens,
    t1Ms: med((p) => p.one.ms),
    t64Ms: med((p) => p.full.ms),
    generated: n,
    stop: full.stop,
    tokens: full.tokens,
    promptTps: med((p) => (p.one.promptTokens * 1000) / p.one.ms),
    genTps: med((p) => ((sampled(p.full, GEN_TOKENS) - 1) * 1000) / (p.full.ms - p.one.ms)),
    internal: {
      promptTokensPerSecond: med((p) => p.full.internal?.promptTokensPerSecond),
      generationTokensPerSecond: med((p) => p.full.internal?.generationTokensPerSecond),
    },
  };
}

const sameTokens = (a, b) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return n > 0 || a.length === b.length;
};

/** ours (hooks on), ours (hooks off), node-llama-cpp: interleaved repetitions at one thread count. */
async function compareEngines({ model, threads, reps, inner, deadlineMs, profileDir, modelLabel, extras }) {
  const tag = `${modelLabel}-t${threads}`;
  const variants = [
    { key: "ours", engine: "ours", hooks: true },
    { key: "oursNoHooks", engine: "ours", hooks: false },
    { key: "nodeLlamaCpp", engine: "nlc", hooks: true },
  ];
  const workers = variants.map((v) => {
    const w = startWorker({
      engine: v.engine,
      model,
      threads,
      hooks: v.hooks,
      deadlineMs,
      profileDir,
      label: `${tag}-${v.key}`,
    });
    w.engineKind = v.engine;
    w.key = v.key;
    return w;
  });
  const loadBefore = load();
  const started = performance.now();
  const section = { threads, loadAvgBefore: loadBefore, reps: [], timedOut: false };
  try {
    const infos = await Promise.all(workers.map((w) => w.call("info")));
    section.contexts = Object.fromEntries(workers.map((w, i) => [w.key, infos[i]]));
    // Prompt + generation within the model's training context: past it the tiny fixture (trained on 128)
    // ends its text at once, and a 2-token generation says nothing about generation speed.
    const budget = Math.min(PROMPT_TOKENS, infos[0].nCtxTrain - GEN_TOKENS);
    const prompt = await fitPrompt(workers[0], budget);
    section.promptTokens = prompt.tokens.length;
    // Warm-up: the first decodes allocate the graphs and fault the weights in.
    const warm = [];
    for (const w of workers) {
      const args = w.engineKind === "nlc" ? { tokens: prompt.tokens } : { prompt: prompt.prompt };
      warm.push(await w.call("generate", { ...args, maxTokens: 4 }));
    }
    // Calls of a few milliseconds (the tiny model) are repeated within a repetition, up to `inner` times,
    // as many as fit in ~0.3 s: a collapsed 2-thread pool must not stretch the run by minutes.
    if (warm[0].ms > 100) inner = 1;
    else {
      const probe = await workers[0].call("generate", { prompt: prompt.prompt, maxTokens: GEN_TOKENS });
      inner = Math.max(1, Math.min(inner, Math.floor(300 / probe.ms)));
    }
    section.innerRepetitions = inner;
    for (let r = 0; r < reps; r++) {
      const rep = {};
      for (let k = 0; k < workers.length; k++) {
        const w = workers[(r + k) % workers.length];
        rep[w.key] = await measureGeneration(w, prompt, inner);
      }
      rep.loadAvg = load();
      section.reps.push(rep);
      log(
        `  ${tag} rep ${r + 1}/${reps}: gen tok/s ours ${rep.ours.genTps.toFixed(1)}, no hooks ${rep.oursNoHooks.genTps.toFixed(1)}, node-llama-cpp ${rep.nodeLlamaCpp.genTps.toFixed(1)} (load ${rep.loadAvg[0]})`,
      );
    }
    if (extras) Object.assign(section, await extras(workers[0], prompt, inner));
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    section.timedOut = true;
    log(`  ${tag}: ${err.message} after ${deadlineMs / 1000} s (machine busy?); figures so far kept`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  section.loadAvgAfter = load();
  section.seconds = round((performance.now() - started) / 1000, 1);
  return summarize(section);
}

function summarize(section) {
  const reps = section.reps;
  const pick = (key, f) => reps.map((r) => f(r[key]));
  const out = { ...section, reps: undefined, repetitions: reps.length };
  if (reps.length === 0) return out;
  for (const key of ["ours", "oursNoHooks", "nodeLlamaCpp"]) {
    out[key] = {
      promptTps: round(median(pick(key, (m) => m.promptTps)), 1),
      genTps: round(median(pick(key, (m) => m.genTps)), 2),
      t1Ms: round(median(pick(key, (m) => m.t1Ms)), 1),
      t64Ms: round(median(pick(key, (m) => m.t64Ms)), 1),
      generated: reps[0][key].generated,
      stop: reps[0][key].stop,
    };
  }
  const ratio = (a, b, f) => round(median(reps.map((r) => f(r[a]) / f(r[b]))), 3);
  out.ratios = {
    promptOursVsTheirs: ratio("ours", "nodeLlamaCpp", (m) => m.promptTps),
    genOursVsTheirs: ratio("ours", "nodeLlamaCpp", (m) => m.genTps),
    promptNoHooksVsTheirs: ratio("oursNoHooks", "nodeLlamaCpp", (m) => m.promptTps),
    genNoHooksVsTheirs: ratio("oursNoHooks", "nodeLlamaCpp", (m) => m.genTps),
    genHooksVsNoHooks: ratio("ours", "oursNoHooks", (m) => m.genTps),
  };
  // Greedy on the same weights and token ids: the two libraries should pick the same tokens.
  out.sameGreedyTokens = reps.every((r) => sameTokens(r.ours.tokens, r.nodeLlamaCpp.tokens));
  out.ourInternalTimings = {
    promptTps: round(median(pick("ours", (m) => m.internal?.promptTokensPerSecond)), 1),
    genTps: round(median(pick("ours", (m) => m.internal?.generationTokensPerSecond)), 2),
  };
  return out;
}

/** Capture of all layers at the last position vs a plain prompt decode; control-vector overhead. */
function ourEngineCosts(reps) {
  return async (ours, prompt, inner) => {
    const capture = { plainMs: [], captureMs: [], ratio: [] };
    for (let r = 0; r < reps * inner; r++) {
      const plain = await ours.call("generate", { prompt: prompt.prompt, maxTokens: 0 });
      const cap = await ours.call("capture", { prompt: prompt.prompt });
      capture.plainMs.push(plain.ms);
      capture.captureMs.push(cap.ms);
      capture.ratio.push(cap.ms / plain.ms);
    }
    const steering = { none: [], cvec: [], normPreserving: [] };
    const run = async (key) => {
      const r = await ours.call("generate", { prompt: prompt.prompt, maxTokens: GEN_TOKENS });
      steering[key].push({ ...r.internal, generated: sampled(r, GEN_TOKENS) });
    };
    for (let r = 0; r < reps * inner; r++) {
      // Rotate the order so that a load trend does not favour one setting.
      const order = ["none", "cvec", "normPreserving"];
      for (let k = 0; k < 3; k++) {
        const key = order[(r + k) % 3];
        if (key === "none") await ours.call("clearCvec");
        else
          await ours.call("setCvec", {
            strength: CVEC_STRENGTH,
            normPreserving: key === "normPreserving",
            seed: 7,
          });
        await run(key);
      }
    }
    await ours.call("clearCvec");
    const med = (xs, f) => median(xs.map(f));
    const gen = (key) => med(steering[key], (t) => t.generationTokensPerSecond);
    const pr = (key) => med(steering[key], (t) => t.promptTokensPerSecond);
    return {
      capture: {
        layers: "all",
        positions: "last",
        plainDecodeMs: round(median(capture.plainMs), 1),
        captureMs: round(median(capture.captureMs), 1),
        ratio: round(median(capture.ratio), 3),
      },
      steering: {
        layers: "1 … nLayer−1",
        strength: CVEC_STRENGTH,
        /** Fewest tokens any steering run generated (64 = none stopped early). */
        minGenerated: Math.min(...Object.values(steering).flatMap((xs) => xs.map((x) => x.generated))),
        genTps: {
          none: round(gen("none"), 2),
          cvec: round(gen("cvec"), 2),
          normPreserving: round(gen("normPreserving"), 2),
        },
        promptTps: {
          none: round(pr("none"), 1),
          cvec: round(pr("cvec"), 1),
          normPreserving: round(pr("normPreserving"), 1),
        },
        genOverhead: {
          cvec: round(gen("none") / gen("cvec") - 1, 3),
          normPreserving: round(gen("none") / gen("normPreserving") - 1, 3),
        },
        promptOverhead: {
          cvec: round(pr("none") / pr("cvec") - 1, 3),
          normPreserving: round(pr("none") / pr("normPreserving") - 1, 3),
        },
      },
    };
  };
}

const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);
const num = (x, d = 1) => (x === null || x === undefined ? "–" : x.toFixed(d));

function printTables(results) {
  const t = new Table({
    head: [
      "model",
      "threads",
      "tokens prompt+gen",
      "load avg (1 min)",
      "prompt tok/s ours | no hooks | n-l-c",
      "gen tok/s ours | no hooks | n-l-c",
      "ours/n-l-c prompt, gen",
      "no hooks/n-l-c prompt, gen",
      "same tokens",
    ],
  });
  for (const m of results.models) {
    for (const s of m.sections) {
      if (!s.ours) {
        t.push([
          m.label,
          s.threads,
          s.loadAvgBefore.join(" "),
          { colSpan: 5, content: "timed out (machine busy)" },
        ]);
        continue;
      }
      t.push([
        m.label,
        s.threads,
        `${s.promptTokens}+${s.ours.generated}`,
        `${s.loadAvgBefore[0]} → ${s.loadAvgAfter[0]}`,
        `${num(s.ours.promptTps)} | ${num(s.oursNoHooks.promptTps)} | ${num(s.nodeLlamaCpp.promptTps)}`,
        `${num(s.ours.genTps)} | ${num(s.oursNoHooks.genTps)} | ${num(s.nodeLlamaCpp.genTps)}`,
        `${num(s.ratios.promptOursVsTheirs, 3)}, ${num(s.ratios.genOursVsTheirs, 3)}`,
        `${num(s.ratios.promptNoHooksVsTheirs, 3)}, ${num(s.ratios.genNoHooksVsTheirs, 3)}`,
        `${s.sameGreedyTokens ? "yes" : "NO"}${s.timedOut ? " (timed out)" : ""}`,
      ]);
    }
  }
  console.log(t.toString());
  const c = new Table({
    head: [
      "model (1 thread)",
      "capture all layers / plain decode",
      "gen tok/s none | cvec | norm-pres.",
      "cvec overhead gen, prompt",
      "norm-pres. overhead gen, prompt",
    ],
  });
  for (const m of results.models) {
    const s = m.sections.find((x) => x.capture);
    if (!s) continue;
    const st = s.steering;
    c.push([
      m.label,
      `${num(s.capture.ratio, 3)} (${num(s.capture.captureMs)} vs ${num(s.capture.plainDecodeMs)} ms)`,
      `${num(st.genTps.none)} | ${num(st.genTps.cvec)} | ${num(st.genTps.normPreserving)}`,
      `${pct(st.genOverhead.cvec)}, ${pct(st.promptOverhead.cvec)}`,
      `${pct(st.genOverhead.normPreserving)}, ${pct(st.promptOverhead.normPreserving)}`,
    ]);
  }
  console.log(c.toString());
  console.log(
    `prompt ≤ ${PROMPT_TOKENS} tokens (and within the training context), ${GEN_TOKENS} greedy tokens, context ${CONTEXT_SIZE}; ` +
      "synthetic model = SmolLM2-135M shapes with RANDOM weights (speed only). Goals: ours/n-l-c ≥ 0.95, cvec overhead ≤ 10%.",
  );
}

/**
 * Runs the llama.cpp benchmark and returns its results (also printed as tables on stdout and written to
 * bench/results/llama.json). Needs `npm run build` first. Takes ~1 min quick, ~3 min full on 2 idle cores.
 */
export async function runLlamaBench({ quick = false, threads = [1, 2], writeJson = true } = {}) {
  if (!existsSync(join(distDir, "llama", "engine.js"))) {
    throw new Error("dist/ not found: run `npm run build` before the llama benchmark");
  }
  const { ensureSyntheticLlamaGguf, syntheticModelFileName } = await import(
    pathToFileURL(join(distDir, "llama", "synthetic-model.js")).href
  );
  const reps = quick ? 2 : 3;
  const deadlineMs = quick ? 60_000 : 120_000;
  const profileDir = process.env.BENCH_PROFILE === "1" ? join(resultsDir, "prof-llama") : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const started = performance.now();
  const synthOpts = { preset: "smollm2-135m", seed: SYNTHETIC_SEED, type: "f16" };
  log(`llama bench: synthetic ${syntheticModelFileName(synthOpts)} in ${tmpdir()} (RANDOM weights)…`);
  const synth = ensureSyntheticLlamaGguf(tmpdir(), synthOpts);
  if (synth.created) log(`  written in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const models = [
    { label: "synthetic SmolLM2-135M shape, F16, random weights", path: synth.path, synthetic: true },
  ];
  const tiny = join(sharedDir, "models", "aidreams260K", "aidreams260K-f32.gguf");
  if (existsSync(tiny))
    models.push({ label: "aidreams260K F32 (shared fixture)", path: tiny, synthetic: false });
  else log(`  tiny fixture not found at ${tiny}; skipped`);

  const results = {
    bench: "llama",
    date: new Date().toISOString(),
    quick,
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? "unknown", node: process.version },
    settings: { promptTokenBudget: PROMPT_TOKENS, genTokens: GEN_TOKENS, contextSize: CONTEXT_SIZE, reps },
    models: [],
  };
  for (const m of models) {
    const entry = {
      label: m.label,
      path: m.synthetic ? syntheticModelFileName(synthOpts) : "shared fixture",
      sections: [],
    };
    for (const t of threads) {
      log(`${m.label}, threads ${t} (load ${load().join(" ")})`);
      entry.sections.push(
        await compareEngines({
          model: m.path,
          threads: t,
          reps,
          // The tiny model's calls take milliseconds: more of them per repetition.
          inner: 5,
          deadlineMs,
          profileDir,
          modelLabel: m.synthetic ? "smollm2" : "tiny",
          // Capture and steering are our engine against itself: two repetitions keep the run near 3 minutes.
          extras: t === threads[0] ? ourEngineCosts(2) : undefined,
        }),
      );
    }
    results.models.push(entry);
  }
  results.seconds = round((performance.now() - started) / 1000, 1);
  printTables(results);
  if (writeJson) {
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, "llama.json"), `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote bench/results/llama.json (${results.seconds} s)`);
  }
  return results;
}

// Run directly (`node bench/llama/bench.js`), not when bundled into bench/dist/run.js (whose import.meta.url
// is then also argv[1]).
const self = fileURLToPath(import.meta.url);
if (
  process.argv[1] &&
  self.endsWith(join("bench", "llama", "bench.js")) &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
  await runLlamaBench({ quick: process.env.BENCH_QUICK === "1" });
}
