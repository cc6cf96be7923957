// Types for bench.js (plain ESM JS), so that TypeScript callers such as bench/run.ts can import it.

export interface LlamaBenchOptions {
  /** Fewer repetitions (BENCH_QUICK=1). */
  quick?: boolean;
  /** Thread counts to measure (default [1, 2]); capture and steering costs run at the first. */
  threads?: number[];
  /** Write bench/results/llama.json (default true). */
  writeJson?: boolean;
}

export interface EngineFigures {
  promptTps: number | null;
  genTps: number | null;
  t1Ms: number | null;
  t64Ms: number | null;
  generated: number;
  stop: string;
}

export interface LlamaBenchSection {
  threads: number;
  loadAvgBefore: number[];
  loadAvgAfter: number[];
  repetitions: number;
  timedOut: boolean;
  promptTokens?: number;
  ours?: EngineFigures;
  oursNoHooks?: EngineFigures;
  nodeLlamaCpp?: EngineFigures;
  ratios?: {
    promptOursVsTheirs: number | null;
    genOursVsTheirs: number | null;
    promptNoHooksVsTheirs: number | null;
    genNoHooksVsTheirs: number | null;
    genHooksVsNoHooks: number | null;
  };
  sameGreedyTokens?: boolean;
  capture?: { plainDecodeMs: number | null; captureMs: number | null; ratio: number | null };
  steering?: {
    strength: number;
    minGenerated: number;
    genTps: { none: number | null; cvec: number | null; normPreserving: number | null };
    promptTps: { none: number | null; cvec: number | null; normPreserving: number | null };
    genOverhead: { cvec: number | null; normPreserving: number | null };
    promptOverhead: { cvec: number | null; normPreserving: number | null };
  };
}

export interface LlamaBenchResults {
  bench: "llama";
  date: string;
  quick: boolean;
  seconds: number;
  machine: { cpus: number; cpuModel: string; node: string };
  settings: { promptTokenBudget: number; genTokens: number; contextSize: number; reps: number };
  models: { label: string; path: string; sections: LlamaBenchSection[] }[];
}

/**
 * Our engine vs node-llama-cpp (prompt and generation tokens/s, hooks on/off), hidden-state capture cost and
 * control-vector overhead, on a synthetic SmolLM2-135M-shaped GGUF (random weights) and the tiny fixture.
 * Prints tables on stdout, progress on stderr; needs `npm run build` first.
 */
export function runLlamaBench(options?: LlamaBenchOptions): Promise<LlamaBenchResults>;
