// The GPU proof (issue 15), run by scripts/gpu-check.sh after `npm run build`:
//
//   1. `steerbench doctor --gpu <backend>` on the fixture GGUF: the build loaded and its devices.
//   2. Engine speed, GPU build vs CPU, on synthetic GGUFs with SmolLM2-135M's and Qwen2.5-1.5B's shapes (F16,
//      RANDOM weights: speed depends on shapes only): prompt tok/s (a 1-token generation after a 512-token-
//      budget prompt) and generation tok/s (64 greedy tokens), median of REPS, each engine in its own process
//      (one llama.cpp build per process). CPU = `gpu: false` with every core; GPU = all layers offloaded.
//   3. The steering exact-delta tests (test/llama-steering.test.ts: l_out-L moves by exactly s·v) with the GPU
//      build loaded, checked to be the GPU build first.
//   4. One table on stdout; JSON in bench/results/gpu-check.json.
//
// GPU_CHECK_BACKEND=false: the same steps CPU against CPU, to check the script itself on a machine without a GPU.
// Worker mode (internal): node scripts/gpu-check.mjs --worker MODEL GPU THREADS
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => pathToFileURL(join(repoRoot, "dist", p)).href;
const log = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const GEN_TOKENS = 64;
const CONTEXT = 1024;
const PROMPT = "The history of the river valley begins with the first farmers, who ".repeat(24);

async function worker([model, gpuArg, threadsArg, repsArg]) {
  const { LlamaEngine } = await import(dist("llama/engine.js"));
  const gpu = gpuArg === "false" ? false : gpuArg;
  const threads = Number(threadsArg);
  const engine = await LlamaEngine.load(model, { gpu, threads, contextSize: CONTEXT, batchSize: 512 });
  try {
    // The prompt is cut to 512 tokens so one llama_decode call takes it whole.
    const tokens = engine.tokenize(PROMPT).slice(0, 512);
    const prompt = engine.detokenize(tokens);
    await engine.generate({ prompt, maxTokens: 4, temperature: 0 }); // warm-up (buffers, kernels)
    const prompts = [];
    const gens = [];
    let generated = GEN_TOKENS;
    for (let r = 0; r < Number(repsArg); r++) {
      const p = await engine.generate({ prompt, maxTokens: 1, temperature: 0 });
      prompts.push(p.timings.promptTokensPerSecond);
      const g = await engine.generate({ prompt, maxTokens: GEN_TOKENS, temperature: 0 });
      gens.push(g.timings.generationTokensPerSecond);
      generated = Math.min(generated, g.completionTokens);
    }
    const out = {
      backend: engine.info.backend,
      gpuLayers: engine.info.gpuLayers,
      threads: engine.info.threads,
      promptTokens: tokens.length,
      promptTps: median(prompts),
      genTps: median(gens),
      minGenerated: generated,
    };
    process.stdout.write(`GPU_CHECK_RESULT ${JSON.stringify(out)}\n`);
  } finally {
    await engine.dispose();
  }
}

function runNode(args, env = {}) {
  const r = spawnSync(process.execPath, args, {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
}

function measure(model, gpu, threads, reps) {
  const r = runNode([fileURLToPath(import.meta.url), "--worker", model, String(gpu), String(threads), String(reps)]);
  const line = r.out.split("\n").find((l) => l.startsWith("GPU_CHECK_RESULT "));
  if (r.code !== 0 || !line) {
    return { error: (r.err.trim().split("\n").pop() ?? `exit ${r.code}`).slice(0, 300) };
  }
  return JSON.parse(line.slice("GPU_CHECK_RESULT ".length));
}

async function main() {
  const gpu = process.env.GPU_CHECK_BACKEND ?? "cuda";
  const reps = Number(process.env.GPU_CHECK_REPS ?? 3);
  const cpuThreads = Number(process.env.GPU_CHECK_CPU_THREADS ?? availableParallelism());
  const presets = (process.env.GPU_CHECK_SHAPES ?? "smollm2-135m,qwen2.5-1.5b").split(",");
  const steeringTests = (process.env.GPU_CHECK_STEERING_TESTS ?? "test/llama-steering.test.ts").split(",");
  const shared = resolve(process.env.STEERBENCH_SHARED ?? resolve(repoRoot, "..", "shared"));
  const tiny = join(shared, "models", "aidreams260K", "aidreams260K-f32.gguf");
  const results = { date: new Date().toISOString(), gpu, cpuThreads, reps, doctor: null, engine: [], steering: null };
  const rows = [];

  // 1. doctor
  log(`gpu-check: doctor --gpu ${gpu}`);
  const d = runNode([join(repoRoot, "bin", "steerbench.js"), "doctor", "--gpu", gpu, "--model", tiny, "--format", "json"]);
  let doctor;
  try {
    doctor = JSON.parse(d.out);
  } catch {
    doctor = { error: d.err.trim() || `doctor exited ${d.code}` };
  }
  results.doctor = doctor;
  const chosen = doctor.llama?.chosen;
  const gpuDevices = (doctor.llama?.devices ?? []).filter((x) => x.type === "gpu" || x.type === "igpu");
  // GPU_CHECK_BACKEND=false runs the whole script CPU against CPU (a self-test on a machine without a GPU).
  const selfTest = gpu === "false";
  const doctorOk = d.code === 0 && (selfTest ? chosen !== undefined : chosen?.backend === gpu && gpuDevices.length > 0);
  rows.push([
    "doctor",
    `--gpu ${gpu}`,
    doctorOk
      ? `${chosen.package} ${chosen.version}; ${selfTest ? "self-test, CPU only" : ""}${gpuDevices.map((x) => `${x.description} ${(x.freeBytes / 2 ** 30).toFixed(1)}/${(x.totalBytes / 2 ** 30).toFixed(1)} GiB free`).join(", ")}`
      : `FAILED: ${doctor.llama?.error ?? doctor.modelError ?? doctor.error ?? "no GPU device"}`,
    doctorOk ? "ok" : "FAIL",
  ]);

  // 2. engine speed, GPU vs CPU, per shape
  if (doctorOk) {
    const { ensureSyntheticLlamaGguf } = await import(dist("llama/synthetic-model.js"));
    for (const preset of presets) {
      log(`gpu-check: synthetic ${preset} (F16, random weights) in ${tmpdir()}…`);
      const synth = ensureSyntheticLlamaGguf(tmpdir(), { preset, type: "f16", seed: 0 });
      log(`gpu-check: ${preset}: CPU (${cpuThreads} threads)…`);
      const cpu = measure(synth.path, false, cpuThreads, reps);
      log(`gpu-check: ${preset}: ${gpu}…`);
      const dev = measure(synth.path, gpu, 1, reps);
      const ratio = (a, b) => (a && b ? Number((a / b).toPrecision(2)) : null);
      const entry = { preset, path: synth.path, cpu, gpu: dev };
      entry.speedup = { prompt: ratio(dev.promptTps, cpu.promptTps), gen: ratio(dev.genTps, cpu.genTps) };
      results.engine.push(entry);
      const fmt = (m) =>
        m.error
          ? `error: ${m.error}`
          : `prompt ${m.promptTps?.toFixed(0)} tok/s (${m.promptTokens} tok), gen ${m.genTps?.toFixed(1)} tok/s${m.minGenerated < GEN_TOKENS ? ` (only ${m.minGenerated} tokens)` : ""}`;
      rows.push([`engine ${preset}`, `CPU, ${cpuThreads} threads`, fmt(cpu), cpu.error ? "FAIL" : "ok"]);
      rows.push([
        `engine ${preset}`,
        `${gpu}, all layers`,
        `${fmt(dev)}; ×${entry.speedup.prompt ?? "?"} prompt, ×${entry.speedup.gen ?? "?"} gen vs CPU`,
        dev.error || (!selfTest && dev.backend !== gpu) ? "FAIL" : "ok",
      ]);
    }
  }

  // 3. steering exact-delta tests on the GPU build. The tests load with gpu "auto": check auto picks it here.
  if (doctorOk) {
    const a = runNode([join(repoRoot, "bin", "steerbench.js"), "doctor", "--format", "json"]);
    let autoBackend = "unknown";
    try {
      autoBackend = JSON.parse(a.out).llama?.chosen?.backend ?? "none";
    } catch {}
    const autoOk = selfTest || autoBackend === gpu;
    log(`gpu-check: steering tests on ${gpu}: ${steeringTests.join(" ")}`);
    const reportFile = join(tmpdir(), `gpu-check-vitest-${process.pid}.json`);
    const v = spawnSync(
      "npx",
      ["vitest", "run", ...steeringTests, "--reporter=json", `--outputFile=${reportFile}`],
      { cwd: repoRoot, encoding: "utf8", env: { ...process.env }, maxBuffer: 64 * 1024 * 1024 },
    );
    let passed = 0;
    let failed = 0;
    let total = 0;
    if (existsSync(reportFile)) {
      const rep = JSON.parse(readFileSync(reportFile, "utf8"));
      passed = rep.numPassedTests;
      failed = rep.numFailedTests;
      total = rep.numTotalTests;
    }
    results.steering = { files: steeringTests, autoBackend, passed, failed, total, exit: v.status };
    rows.push([
      "steering exact Δ",
      `${autoBackend} (auto)`,
      `${total === 0 ? `no results (vitest exit ${v.status ?? v.signal}: ${(v.stderr ?? "").trim().split("\n").pop()?.slice(0, 160) ?? ""})` : `${passed}/${total} passed`}${failed ? `, ${failed} FAILED` : ""}${autoOk ? "" : `; auto chose ${autoBackend}, not ${gpu}`}`,
      autoOk && v.status === 0 && failed === 0 && total > 0 ? "ok" : "FAIL",
    ]);
  }

  // 4. one table
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[["check", "backend", "result", ""], ...rows].map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => String(c).padEnd(widths[i])).join(" | ");
  process.stdout.write(`${line(["check", "backend", "result", ""])}\n${widths.map((w) => "-".repeat(w)).join("-|-")}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  const resultsDir = join(repoRoot, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "gpu-check.json"), `${JSON.stringify(results, null, 2)}\n`);
  log(`gpu-check: JSON in ${join(resultsDir, "gpu-check.json")}`);
  if (rows.some((r) => r[3] === "FAIL")) process.exitCode = 1;
}

if (process.argv[2] === "--worker") await worker(process.argv.slice(3));
else await main();
