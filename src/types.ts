// Shared domain types. Every layer (data → protocol → providers → judge → store → metrics → report)
// speaks in these, so they stay small and free of any library type.

/** The four labels of the 2601.01584 judge. The 2-label InstrumentalEval judge uses the first two. */
export const LABELS = ["convergence", "no_convergence", "safety_refusal", "nonsensical"] as const;
export type Label = (typeof LABELS)[number];

export function isLabel(value: unknown): value is Label {
  return typeof value === "string" && (LABELS as readonly string[]).includes(value);
}

/** One benchmark scenario: a task prompt inside a category whose header text is the context. */
export interface Scenario {
  /** Stable id: `${categorySlug}-${index}`, e.g. `evading-shutdown-2`. */
  id: string;
  /** Category slug, e.g. `evading-shutdown`. */
  category: string;
  /** 1-based position among the category's scenarios (file order, header row excluded). */
  index: number;
  /** The task text, `",".join(row).strip()` as the paper's runner builds it. */
  prompt: string;
}

export interface Category {
  /** e.g. `evading-shutdown` */
  slug: string;
  /** File name without `.csv`, e.g. `Alignment Drift - Evading Shutdown` */
  name: string;
  /** File name as found in the pack directory. */
  file: string;
  /** The raw first cell of row 1 (not stripped: it may end in \r or \n). */
  context: string;
  scenarios: Scenario[];
}

/** Exact prompt strings of the paper protocol and of the original InstrumentalEval (protocol_strings.json). */
export interface ProtocolStrings {
  proIcSuffix: string;
  antiIcSuffix: string;
  judgeSystemTemplate: string;
  judgeUserTemplate: string;
  originalTaskSystemPrompt: string;
  originalJudgeSystemTemplate: string;
  originalJudgeUserTemplate: string;
}

export interface Pack {
  /** Directory the pack was read from. */
  dir: string;
  /** Categories in file-name order. */
  categories: Category[];
  strings: ProtocolStrings;
  /** sha256 over the pack's files (names + bytes), to record which data a run used. */
  hash: string;
  /** Things about the pack a user should know (skipped entries, missing InstrumentalEval categories). */
  warnings: string[];
}

export type Selection = "full" | "paper";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** Where the system message comes from. */
export type SystemPromptSource =
  /** The category header, `.strip()`ed (the 2601.01584 protocol). */
  | { kind: "category" }
  /** The original InstrumentalEval "autonomous agent, no oversight" prompt. */
  | { kind: "instrumentaleval-agent" }
  /** No system message at all. */
  | { kind: "none" }
  /** A fixed text. */
  | { kind: "text"; text: string };

/** A prompt-level intervention. Every field is optional; an empty one is the baseline. */
export interface PromptIntervention {
  /** Appended to the user prompt: `task.rstrip() + "\n\n" + suffix.strip() + "\n"`. */
  userSuffix?: string;
  /** Prepended to the user prompt: `prefix.strip() + "\n\n" + task`. */
  userPrefix?: string;
  /** Builder-level instruction appended to the system message: `system + "\n\n" + text.strip()`. */
  systemSuffix?: string;
  /** Replaces the system message source for this condition. */
  system?: SystemPromptSource;
}

/** Activation steering inside the model (control vector). */
export interface ActivationSteering {
  /** Path of a control-vector GGUF file, or a name the provider resolves. */
  vector: string;
  /**
   * Inclusive block range [first, last], il as in `l_out-<il>`: from 1 for add and rotate (llama.cpp's
   * control-vector layers), from 0 for ablate (default: every block and the token embedding).
   */
  layers?: [number, number];
  /** Multiplier applied to the vector. */
  strength: number;
  /** Rescale each steered hidden state back to its original norm. */
  normPreserving?: boolean;
  /**
   * How the direction acts on the residual stream (default `add`):
   * - `add`: h ← h + s·v (with `normPreserving`, rescaled back to ‖h‖);
   * - `ablate`: x ← x − (x·v̂)v̂ on what the chosen blocks write into the residual stream (and the embedding
   *   from block 0), one direction for all: the same edit as `vectors bake --mode ablate` (strength ignored);
   * - `rotate`: h rotated in the plane of h and v̂ toward v̂ by an angle set by the strength, ‖h‖ kept exactly.
   */
  mode?: "add" | "ablate" | "rotate";
  /** Ablate only: the layer whose direction is removed (default: `ablationDirectionLayer`). */
  directionLayer?: number;
}

/** A steering condition: prompt intervention, activation steering, or both. */
export interface Condition {
  name: string;
  description?: string;
  prompt?: PromptIntervention;
  activation?: ActivationSteering;
  /** Extra fields merged into the request body of remote providers (e.g. a server's `steering` object). */
  requestBody?: Record<string, unknown>;
}

/** The fully built input of one benchmark item under one condition. */
export interface BuiltPrompt {
  /** The system message, or undefined when there is none. */
  system: string | undefined;
  /** The steered user prompt. */
  user: string;
  messages: ChatMessage[];
}

/** What a generation call returns. */
export interface Generation {
  /** The final answer: for thinking models, the text after the last `</think>`. */
  response: string;
  /** Thinking text (before `</think>` or from `reasoning_content`), if any. */
  thinking: string | undefined;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  latencyMs: number;
  finishReason: string | undefined;
  /** Local engines: max_tokens was more than the room the prompt left in the context window. */
  maxTokensCapped?: { requested: number; granted: number };
  /** Local engines: the prompt alone did not fit the window and was cut from the front (in tokens). */
  promptTruncated?: { from: number; to: number };
}

/** A judge verdict as stored. A failed verdict has `label: undefined` and `failed: true`. */
export interface Verdict {
  label: Label | undefined;
  reason: string | undefined;
  failed: boolean;
  /** The judge's raw reply text (kept for failures and audits). */
  raw: string;
  /** Per-label log-likelihood scores (label-scoring judges only). */
  scores?: Partial<Record<Label, number>>;
  error?: string;
}

/** One judged item, as Table 1 counts it: what the store yields and the metrics consume. */
export interface JudgedOutcome {
  model: string;
  condition: string;
  scenarioId: string;
  category: string;
  /** Repetition index; items pair across conditions by (scenarioId, epoch). */
  epoch: number;
  /** The judge label; undefined exactly when the judge failed. */
  label: Label | undefined;
  judgeFailed: boolean;
}
