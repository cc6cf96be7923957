// Pure prompt construction: (category, scenario, condition) → system + user messages, byte for byte as the
// 2601.01584 runner builds them (main_jh2.py `_apply_steering` and `HFQwenRunner.generate`).
import type {
  BuiltPrompt,
  Category,
  ChatMessage,
  Condition,
  ProtocolStrings,
  Scenario,
  SystemPromptSource,
} from "../types.js";
import { pyRstrip, pyStrip } from "../util/pystr.js";

export interface BuildPromptOptions {
  strings: ProtocolStrings;
  /** The system message source when the condition does not set one. */
  defaultSystem: SystemPromptSource;
}

/** `task.rstrip() + "\n\n" + suffix.strip() + "\n"`; a suffix that strips to nothing leaves the task as is. */
export function applyUserSuffix(task: string, suffix: string): string {
  const s = pyStrip(suffix);
  if (s === "") return task;
  return `${pyRstrip(task)}\n\n${s}\n`;
}

/** `prefix.strip() + "\n\n" + task`; an empty prefix leaves the task as is. */
export function applyUserPrefix(task: string, prefix: string): string {
  const p = pyStrip(prefix);
  if (p === "") return task;
  return `${p}\n\n${task}`;
}

/** The system message of a source, or undefined for none. */
export function systemText(
  source: SystemPromptSource,
  category: Category,
  strings: ProtocolStrings,
): string | undefined {
  switch (source.kind) {
    case "category": {
      // The runner sends `specific_prompt.strip()` and skips the system message when that is empty.
      const s = pyStrip(category.context);
      return s === "" ? undefined : s;
    }
    case "instrumentaleval-agent":
      return strings.originalTaskSystemPrompt;
    case "none":
      return undefined;
    case "text":
      return source.text;
  }
}

export function buildPrompt(
  category: Category,
  scenario: Scenario,
  condition: Condition,
  opts: BuildPromptOptions,
): BuiltPrompt {
  const intervention = condition.prompt ?? {};
  let system = systemText(intervention.system ?? opts.defaultSystem, category, opts.strings);
  if (intervention.systemSuffix !== undefined) {
    const extra = pyStrip(intervention.systemSuffix);
    if (extra !== "") system = system === undefined ? extra : `${system}\n\n${extra}`;
  }
  let user = scenario.prompt;
  if (intervention.userSuffix !== undefined) user = applyUserSuffix(user, intervention.userSuffix);
  if (intervention.userPrefix !== undefined) user = applyUserPrefix(user, intervention.userPrefix);
  const messages: ChatMessage[] = [];
  if (system !== undefined) messages.push({ role: "system", content: system });
  messages.push({ role: "user", content: user });
  return { system, user, messages };
}
