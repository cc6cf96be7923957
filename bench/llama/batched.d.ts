// Types for batched.js (plain ESM JS), so that TypeScript callers such as bench/run.ts can import it.

export interface BatchedLlamaBenchOptions {
  /** N = 1, 4, 16 and one repetition (BENCH_QUICK=1). */
  quick?: boolean;
  /** Sequence counts (default 1, 2, 4, 8, 16). */
  ns?: number[];
  threads?: number;
  /** Greedy tokens per sequence (default 24). */
  genTokens?: number;
  reps?: number;
  /** Write bench/results/llama-batched.json (default true). */
  writeJson?: boolean;
}

export interface BatchedLlamaRow {
  n: number;
  oursTps: number | null;
  nlcTps: number | null;
  steeredTps: number | null;
  oursVsNlc: number | null;
  steeredVsUnsteered: number | null;
  maxSequencesInStep: number | undefined;
  speedupOurs: number | null;
  speedupNlc: number | null;
}

export interface BatchedLlamaBenchResults {
  bench: "llama-batched";
  date: string;
  settings: {
    threads: number;
    genTokens: number;
    contextPerSequence: number;
    reps: number;
    steeringStrength: number;
  };
  model: string;
  rows: BatchedLlamaRow[];
  seconds: number | null;
}

export function runBatchedLlamaBench(options?: BatchedLlamaBenchOptions): Promise<BatchedLlamaBenchResults>;
