// The provider kinds a config may name, one descriptor each. The config schema, the CLI help, the
// judge checks and the runner's connection code all read this list; the implementations are loaded
// lazily by the runner (src/runner/connect.ts), so HTTP-only users never load the native engine.

export interface ProviderKind {
  /** The `provider:` value in a config. */
  kind: string;
  description: string;
  /** An endpoint kind: needs `baseUrl` or `baseUrls`. */
  needsBaseUrl: boolean;
  /** Can answer the benchmark's prompts (a subject model). */
  canGenerate: boolean;
  /** Can be a judge. */
  canJudge: boolean;
  /** Supports judge `mode: score` (pick the label with the highest log-likelihood). */
  canScore: boolean;
  /** Requests in flight when the config sets no `concurrency`; undefined: the run's. */
  defaultConcurrency?: (runConcurrency: number) => number;
}

/**
 * Sequences in flight on a local model whose config gives no `concurrency`: the run's, at most 4. Every
 * sequence reserves a whole context window of KV cache, and with one unified cache each token attends over
 * every active sequence's cells, so 16 slots of a large context cost memory and time.
 */
export function localParallel(runConcurrency: number): number {
  return Math.max(1, Math.min(runConcurrency, 4));
}

export const PROVIDER_KINDS = [
  {
    kind: "openai",
    description:
      "OpenAI-compatible /chat/completions (vLLM, Ollama, llama.cpp server, OpenAI, OpenRouter, steerbench serve)",
    needsBaseUrl: true,
    canGenerate: true,
    canJudge: true,
    canScore: false,
  },
  {
    kind: "openai-completions",
    description: "plain /completions for base models served without a chat template",
    needsBaseUrl: true,
    canGenerate: true,
    canJudge: true,
    canScore: false,
  },
  {
    kind: "llama",
    description: "the embedded llama.cpp engine on a GGUF file (continuous batching, per-sequence steering)",
    needsBaseUrl: false,
    canGenerate: true,
    canJudge: true,
    canScore: true,
    defaultConcurrency: localParallel,
  },
  {
    kind: "classifier",
    description: "steerbench's offline judge (model = the JSON file `train-judge` wrote)",
    needsBaseUrl: false,
    canGenerate: false,
    canJudge: true,
    canScore: false,
    defaultConcurrency: () => 1,
  },
] as const satisfies readonly ProviderKind[];

export type ProviderKindName = (typeof PROVIDER_KINDS)[number]["kind"];

export const MODEL_PROVIDER_KINDS = PROVIDER_KINDS.filter((k) => k.canGenerate).map((k) => k.kind) as [
  "openai",
  "openai-completions",
  "llama",
];
export const JUDGE_PROVIDER_KINDS = PROVIDER_KINDS.filter((k) => k.canJudge).map((k) => k.kind) as [
  "openai",
  "openai-completions",
  "llama",
  "classifier",
];

export function providerKind(kind: string): ProviderKind | undefined {
  return PROVIDER_KINDS.find((k) => k.kind === kind);
}

/** "openai | openai-completions | llama", for help texts. */
export function kindList(which: "model" | "judge"): string {
  return (which === "model" ? MODEL_PROVIDER_KINDS : JUDGE_PROVIDER_KINDS).join(" | ");
}
