// Turning chat messages into the prompt text the model sees.
//
// - A model chat template (GGUF `tokenizer.chat_template`) or a template chosen by the caller is applied with
//   `llama_chat_apply_template`. That is NOT a Jinja engine: llama.cpp recognises its built-in templates
//   (chatml, llama3, gemma, …) by name or by sniffing the Jinja text, and returns -1 for anything else.
// - "none" (base models, or models without a template): the message contents are joined in order with a
//   blank line ("\n\n") and the roles are dropped, so system + user becomes `system + "\n\n" + user`.
import type { ChatMessage } from "../types.js";
import type { LlamaFunctions, ModelPtr } from "./ffi.js";

export type ChatFormat =
  | { kind: "none" }
  | { kind: "template"; template: string; source: "model" | "option" };

export const PLAIN_JOINER = "\n\n";

/** The names llama_chat_apply_template knows (chatml, llama3, …). */
export function builtinChatTemplates(fn: LlamaFunctions): string[] {
  const out: (string | null)[] = new Array(256).fill(null);
  const n = fn.llama_chat_builtin_templates(out, out.length);
  return out.slice(0, Math.min(n, out.length)).filter((s): s is string => typeof s === "string");
}

/**
 * Resolves the `chatTemplate` option: "auto" (default) takes the model's template, or "none" if it has none;
 * "none" forces plain joining; anything else is a built-in template name or template text.
 */
export function resolveChatFormat(
  fn: LlamaFunctions,
  model: ModelPtr,
  choice: string | undefined,
): ChatFormat {
  if (choice === "none") return { kind: "none" };
  if (choice === undefined || choice === "auto") {
    const t = fn.llama_model_chat_template(model, null);
    return t === null || t.length === 0
      ? { kind: "none" }
      : { kind: "template", template: t, source: "model" };
  }
  return { kind: "template", template: choice, source: "option" };
}

/** Applies the template (with the assistant-turn opener appended) and returns the prompt text. */
export function applyChatTemplate(
  fn: LlamaFunctions,
  format: ChatFormat,
  messages: readonly ChatMessage[],
): string {
  if (messages.length === 0) throw new RangeError("messages is empty");
  if (format.kind === "none") return messages.map((m) => m.content).join(PLAIN_JOINER);
  const chat = messages.map((m) => ({ role: m.role, content: m.content }));
  const chars = messages.reduce((s, m) => s + Buffer.byteLength(m.content) + m.role.length, 0);
  let buf = new Uint8Array(2 * chars + 1024);
  let n = fn.llama_chat_apply_template(format.template, chat, chat.length, true, buf, buf.length);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = fn.llama_chat_apply_template(format.template, chat, chat.length, true, buf, buf.length);
  }
  if (n < 0) {
    const what =
      format.source === "model"
        ? "the model's chat template"
        : `chat template ${JSON.stringify(format.template.slice(0, 60))}`;
    throw new Error(
      `${what} is not one llama.cpp can apply (llama_chat_apply_template supports only its built-in ` +
        `templates: ${builtinChatTemplates(fn).join(", ")}); load the engine with chatTemplate set to one of ` +
        'those names, or "none" to join messages as plain text',
    );
  }
  return Buffer.from(buf.buffer, buf.byteOffset, n).toString("utf8");
}
