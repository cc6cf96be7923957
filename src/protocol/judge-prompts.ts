// Judge prompts: the 4-label judge of 2601.01584 (`paper`), the original 2-label InstrumentalEval judge
// (`instrumentaleval`), and user-defined variants. Templates are filled in one pass, so text inside a
// filled value (a model response quoting "{prompt}") is never substituted again.
import { z } from "zod";
import { type ChatMessage, LABELS, type Label, type ProtocolStrings } from "../types.js";

export const JUDGE_PRESET_NAMES = ["paper", "instrumentaleval"] as const;
export type JudgePresetName = (typeof JUDGE_PRESET_NAMES)[number];

/** How a judge is asked to answer: strict JSON `{"decision","reason"}`, or `DECISION:`/`REASON:` lines. */
export type JudgeOutputFormat = "json" | "decision-line";

export const JUDGE_PRESET_LABELS: Readonly<Record<JudgePresetName, readonly Label[]>> = {
  paper: LABELS,
  instrumentaleval: ["convergence", "no_convergence"],
};

export const JUDGE_PRESET_FORMATS: Readonly<Record<JudgePresetName, JudgeOutputFormat>> = {
  paper: "json",
  instrumentaleval: "decision-line",
};

const PLACEHOLDER_HINT = "placeholders: {context}, {prompt}, {response}";

/** A user-defined judge prompt. `{context}` is the raw category context, `{prompt}` the steered prompt. */
export const judgePromptVariantSchema = z
  .object({
    name: z.string().min(1).describe("name of this judge prompt"),
    system: z.string().describe(`system message template (${PLACEHOLDER_HINT})`),
    user: z.string().describe(`user message template (${PLACEHOLDER_HINT})`),
    labels: z
      .array(z.enum(LABELS))
      .min(2)
      .refine((l) => new Set(l).size === l.length, "labels must not repeat")
      .describe("labels the judge may answer with"),
    format: z
      .enum(["json", "decision-line"])
      .default("json")
      .describe('json: {"decision":…,"reason":…}; decision-line: DECISION:/REASON: lines'),
  })
  .strict()
  .refine((v) => `${v.system}\n${v.user}`.includes("{response}"), {
    message: "the judge prompt never shows the model response: put {response} in system or user",
    path: ["user"],
  });

export type JudgePromptVariant = z.output<typeof judgePromptVariantSchema>;
export type JudgePrompt = JudgePresetName | JudgePromptVariant;

export interface JudgePromptInput {
  /** The raw category context (row 1 of the CSV, not stripped). */
  context: string;
  /** The prompt the model saw (the steered user prompt). */
  prompt: string;
  /** The model's final answer (for thinking models, the text after the last </think>). */
  response: string;
}

export function judgeLabels(prompt: JudgePrompt): readonly Label[] {
  return typeof prompt === "string" ? JUDGE_PRESET_LABELS[prompt] : prompt.labels;
}

export function judgeFormat(prompt: JudgePrompt): JudgeOutputFormat {
  return typeof prompt === "string" ? JUDGE_PRESET_FORMATS[prompt] : prompt.format;
}

export function judgePromptName(prompt: JudgePrompt): string {
  return typeof prompt === "string" ? prompt : prompt.name;
}

/**
 * Replaces `{context}` (alias `{specific_prompt}`, the name upstream uses), `{prompt}` and `{response}`
 * verbatim, in a single pass. Other braces are left alone.
 */
export function fillJudgeTemplate(template: string, input: JudgePromptInput): string {
  return template.replace(/\{(context|specific_prompt|prompt|response)\}/g, (_m, key: string) => {
    if (key === "prompt") return input.prompt;
    if (key === "response") return input.response;
    return input.context;
  });
}

/** The judge's [system, user] messages for one item. */
export function buildJudgeMessages(
  prompt: JudgePrompt,
  input: JudgePromptInput,
  strings: ProtocolStrings,
): ChatMessage[] {
  let system: string;
  let user: string;
  if (prompt === "paper") {
    system = strings.judgeSystemTemplate;
    user = strings.judgeUserTemplate;
  } else if (prompt === "instrumentaleval") {
    system = strings.originalJudgeSystemTemplate;
    user = strings.originalJudgeUserTemplate;
  } else {
    system = prompt.system;
    user = prompt.user;
  }
  return [
    { role: "system", content: fillJudgeTemplate(system, input) },
    { role: "user", content: fillJudgeTemplate(user, input) },
  ];
}

/** A judge prompt bound to a pack's strings; structurally the `JudgePreset` that src/judge consumes. */
export interface BoundJudgePrompt {
  name: string;
  labels: readonly Label[];
  format: JudgeOutputFormat;
  buildMessages(input: JudgePromptInput): ChatMessage[];
}

export function bindJudgePrompt(prompt: JudgePrompt, strings: ProtocolStrings): BoundJudgePrompt {
  return {
    name: judgePromptName(prompt),
    labels: judgeLabels(prompt),
    format: judgeFormat(prompt),
    buildMessages: (input) => buildJudgeMessages(prompt, input, strings),
  };
}
