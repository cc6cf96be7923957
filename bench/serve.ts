// `steerbench serve` under load: 64 concurrent clients against the built CLI's server on the fixture GGUF,
// with --parallel 1 (the baseline, measured in the same run) and --parallel 8. Per setting: requests/s,
// generated tokens/s, p50/p99 latency, and requests lost (any answer but 200). Until the engine batches
// concurrent generate() calls, --parallel N only overlaps queueing, so the ratio is expected near 1.
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";

export interface ServeBenchRow {
  parallel: number;
  clients: number;
  requests: number;
  lost: number;
  seconds: number;
  requestsPerS: number;
  tokensPerS: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ServeBenchResult {
  rows: ServeBenchRow[];
  /** requests/s at the largest --parallel ÷ at --parallel 1. */
  speedup: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function startServe(repoRoot: string, model: string, parallel: number) {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "bin", "steerbench.js"),
      "serve",
      "--model",
      model,
      "--port",
      "0",
      "--threads",
      "1",
      "--parallel",
      String(parallel),
      "--max-queue",
      "256",
      "--quiet",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((ok, fail) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /steerbench serve: (http:\/\/\S+\/v1)/.exec(out);
      if (m) ok(m[1]!);
    });
    child.on("exit", (code) => fail(new Error(`serve exited (${code}) before listening`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((done) => {
        child.on("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}

async function load(url: string, clients: number, perClient: number, maxTokens: number) {
  const latencies: number[] = [];
  let lost = 0;
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        const started = performance.now();
        try {
          const res = await fetch(`${url}/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ prompt: `Story ${c}.${i}: once`, max_tokens: maxTokens, temperature: 0 }),
          });
          const body = (await res.json()) as { usage?: { completion_tokens: number } };
          if (res.status !== 200) lost++;
          else tokens += body.usage?.completion_tokens ?? 0;
        } catch {
          lost++;
        }
        latencies.push(performance.now() - started);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return { seconds, lost, tokens, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function runServeBench(opts: { quick: boolean; repoRoot: string }): Promise<ServeBenchResult> {
  const model = resolve(opts.repoRoot, "..", "shared", "models", "aidreams260K", "aidreams260K-f32.gguf");
  const clients = 64;
  const perClient = opts.quick ? 1 : 4;
  const rows: ServeBenchRow[] = [];
  for (const parallel of [1, 8]) {
    const serve = await startServe(opts.repoRoot, model, parallel);
    try {
      await load(serve.url, 4, 1, 32); // warm-up
      const r = await load(serve.url, clients, perClient, 32);
      const requests = clients * perClient;
      rows.push({
        parallel,
        clients,
        requests,
        lost: r.lost,
        seconds: r.seconds,
        requestsPerS: requests / r.seconds,
        tokensPerS: r.tokens / r.seconds,
        p50Ms: r.p50,
        p99Ms: r.p99,
      });
    } finally {
      await serve.stop();
    }
  }
  return { rows, speedup: rows[rows.length - 1]!.requestsPerS / rows[0]!.requestsPerS };
}
