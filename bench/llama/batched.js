// Continuous batching: aggregate generation tokens/s of our engine at N = 1, 2, 4, 8, 16 sequences against
// node-llama-cpp's own multi-sequence batching (a context with `sequences: N`) on the same GGUF and settings,
// in the same run; and ours again with a different steering vector on every sequence (per-sequence steering
// in the eval callback, every steerable layer). Run after `npm run build`:
//
//   node bench/llama/batched.js          BENCH_QUICK=1: N = 1, 4, 16 and one repetition
//   import { runBatchedLlamaBench } from "./llama/batched.js"
//
// Method. For each N, each engine runs in its own process (batch-worker.js) with an N-sequence context;
// the three runs are interleaved with a rotating order per repetition (3 repetitions: each order position
// once), 0.5 s apart, and medians reported. A run submits N
// different short prompts at once and times until the last sequence ends: T1 with 1 token each (prompt
// decode + one sample) and TG with G greedy tokens each. Aggregate generation tok/s = Σ(sampled − 1) /
// (TG − T1). Ratios ours/n-l-c and steered/unsteered are taken per repetition (adjacent runs, same load).
import { fork } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Table from "cli-table3";
import { repoRoot } from "./repo-root.js";

const workerPath = join(repoRoot, "bench", "llama", "batch-worker.js");
const distDir = join(repoRoot, "dist");
const resultsDir = join(repoRoot, "bench", "results");

/** Per-sequence context: the prompts (~20 tokens) and G tokens fit with room to spare. */
const CONTEXT_SIZE = 128;
const SYNTHETIC_SEED = 1;
/** Steering strength on unit directions: small, so the steered text stays close (cost does not depend on it). */
const STRENGTH = 0.05;
const SUBJECTS = ["The committee", "A small river", "The old map", "Every morning", "The northern warehouse"];
const VERBS = ["met to review", "ran past", "showed", "brought news of", "reported"];
const OBJECTS = [
  "the quarterly report",
  "three quiet villages",
  "a hidden road",
  "rain and wind",
  "long delays",
];

/** N different prompts (about 8–12 tokens each). */
function prompts(n) {
  return Array.from(
    { length: n },
    (_, k) => `${SUBJECTS[k % 5]} ${VERBS[(k * 3 + 1) % 5]} ${OBJECTS[(k * 7 + 2) % 5]} on day ${k + 1},`,
  );
}

const log = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const round = (x, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);

function startWorker(engine, model, threads, n) {
  const child = fork(workerPath, [engine, model, String(threads), String(CONTEXT_SIZE), String(n)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let nextId = 1;
  const pending = new Map();
  let exited = false;
  child.on("message", (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${engine}: ${m.error}`));
  });
  child.on("exit", (code, signal) => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error(`${engine} exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    call(cmd, args = {}) {
      if (exited) return Promise.reject(new Error(`${engine} is not running`));
      const id = nextId++;
      return new Promise((res, rej) => {
        pending.set(id, { resolve: res, reject: rej });
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

/** Aggregate generation tok/s from a 1-token and a G-token run of the same N prompts. */
async function genRate(worker, texts, genTokens, extra) {
  const one = await worker.call("run", { texts, maxTokens: 1, ...extra });
  const many = await worker.call("run", { texts, maxTokens: genTokens, ...extra });
  const tokens = many.sampled.reduce((s, x) => s + Math.max(0, x - 1), 0);
  return {
    tps: tokens / ((many.ms - one.ms) / 1000),
    tokens,
    ms: many.ms,
    maxSequencesInStep: many.maxSequencesInStep,
  };
}

/** Runs the batching benchmark (prints a table, writes bench/results/llama-batched.json). */
export async function runBatchedLlamaBench({
  quick = false,
  ns = quick ? [1, 4, 16] : [1, 2, 4, 8, 16],
  threads = 1,
  genTokens = 24,
  // A multiple of 3, so each of the three runs comes first, second and third equally often.
  reps = quick ? 1 : 3,
  writeJson = true,
} = {}) {
  if (!existsSync(join(distDir, "llama", "engine.js"))) {
    throw new Error("dist/ not found: run `npm run build` before the llama benchmark");
  }
  const { ensureSyntheticLlamaGguf } = await import(
    pathToFileURL(join(distDir, "llama", "synthetic-model.js")).href
  );
  const started = performance.now();
  const synth = ensureSyntheticLlamaGguf(tmpdir(), {
    preset: "smollm2-135m",
    seed: SYNTHETIC_SEED,
    type: "f16",
  });
  const rows = [];
  for (const n of ns) {
    const texts = prompts(n);
    log(`batched llama bench: N = ${n} (load ${loadavg()[0].toFixed(2)})`);
    const workers = {
      ours: startWorker("ours", synth.path, threads, n),
      nlc: startWorker("nlc", synth.path, threads, n),
    };
    const runs = { ours: [], nlc: [], steered: [] };
    const ratios = { vsNlc: [], steered: [] };
    try {
      await Promise.all(Object.values(workers).map((w) => w.call("info")));
      const kinds = ["ours", "nlc", "steered"];
      for (let rep = 0; rep < reps; rep++) {
        const got = {};
        for (let k = 0; k < kinds.length; k++) {
          const kind = kinds[(k + rep) % kinds.length];
          // A pause between engines: a process that just finished can still hold the CPU for a moment,
          // which would be charged to whichever run follows it.
          await new Promise((r) => setTimeout(r, 500));
          got[kind] =
            kind === "nlc"
              ? await genRate(workers.nlc, texts, genTokens)
              : await genRate(
                  workers.ours,
                  texts,
                  genTokens,
                  kind === "steered" ? { steer: true, strength: STRENGTH } : {},
                );
          runs[kind].push(got[kind]);
        }
        ratios.vsNlc.push(got.ours.tps / got.nlc.tps);
        ratios.steered.push(got.steered.tps / got.ours.tps);
      }
    } finally {
      await Promise.all(Object.values(workers).map((w) => w.stop()));
    }
    rows.push({
      n,
      oursTps: round(median(runs.ours.map((r) => r.tps)), 1),
      nlcTps: round(median(runs.nlc.map((r) => r.tps)), 1),
      steeredTps: round(median(runs.steered.map((r) => r.tps)), 1),
      oursVsNlc: round(median(ratios.vsNlc), 3),
      steeredVsUnsteered: round(median(ratios.steered), 3),
      maxSequencesInStep: runs.ours.at(-1)?.maxSequencesInStep,
    });
  }
  const base = rows.find((r) => r.n === 1);
  for (const r of rows) {
    r.speedupOurs = base ? round(r.oursTps / base.oursTps, 2) : null;
    r.speedupNlc = base ? round(r.nlcTps / base.nlcTps, 2) : null;
  }
  const results = {
    bench: "llama-batched",
    date: new Date().toISOString(),
    settings: { threads, genTokens, contextPerSequence: CONTEXT_SIZE, reps, steeringStrength: STRENGTH },
    model: "synthetic SmolLM2-135M shape, F16, random weights",
    rows,
    seconds: round((performance.now() - started) / 1000, 1),
  };
  const t = new Table({
    head: [
      "N",
      "ours tok/s",
      "n-l-c tok/s",
      "ours/n-l-c",
      "speed-up ours (n-l-c)",
      "steered tok/s",
      "steered/unsteered",
    ],
  });
  for (const r of rows) {
    t.push([
      r.n,
      r.oursTps,
      r.nlcTps,
      r.oursVsNlc,
      `${r.speedupOurs}× (${r.speedupNlc}×)`,
      r.steeredTps,
      r.steeredVsUnsteered,
    ]);
  }
  console.log(t.toString());
  console.log(
    `aggregate greedy generation tok/s, ${genTokens} tokens per sequence, ${threads} thread(s), context ${CONTEXT_SIZE} per sequence; ` +
      "steered = a different vector on every sequence, all steerable layers. Goals: ours/n-l-c ≥ 0.95, steered ≥ 0.90.",
  );
  if (writeJson) {
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, "llama-batched.json"), `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote bench/results/llama-batched.json (${results.seconds} s)`);
  }
  return results;
}

const self = fileURLToPath(import.meta.url);
if (
  process.argv[1] &&
  self.endsWith(join("bench", "llama", "batched.js")) &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
  await runBatchedLlamaBench({ quick: process.env.BENCH_QUICK === "1" });
}
