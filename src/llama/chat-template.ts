// Turning chat messages into the prompt text the model sees.
//
// - Jinja (the default for a model's own GGUF `tokenizer.chat_template`, and for template text given as the
//   `chatTemplate` option): rendered exactly, with `@huggingface/jinja` (the renderer transformers.js uses),
//   as Hugging Face's `apply_chat_template(messages, add_generation_prompt=True)` does, with the model's
//   `bos_token` and `eos_token`. The paper's prompts went through these templates; llama.cpp's built-in
//   templates are matched by sniffing the Jinja text and can differ (SmolLM2's default system prompt, the
//   `<think>` opener of thinking models, …).
// - `builtin:NAME` (or a bare built-in name such as "chatml"): llama.cpp's `llama_chat_apply_template` with
//   that built-in template.
// - "none" (base models, or models without a template): the message contents are joined in order with a
//   blank line ("\n\n") and the roles are dropped, so system + user becomes `system + "\n\n" + user`.
// A template that cannot be rendered (a syntax error, a `raise_exception`, output that does not contain the
// conversation) fails loudly, naming the template; it is never replaced by a guess.
import { Template } from "@huggingface/jinja";
import koffi from "koffi";
import type { ChatMessage } from "../types.js";
import { type LlamaFunctions, loadLlamaLibrary, type ModelPtr, type VocabPtr } from "./ffi.js";

export type ChatFormat =
  | { kind: "none" }
  | {
      kind: "template";
      /** Template text (Jinja) or the built-in name. */
      template: string;
      source: "model" | "option";
      engine: "jinja";
      /** The parsed template, or why it does not parse (thrown when a conversation is rendered, so a model
       * with a broken template still loads for raw prompts, capture and scoring). */
      compiled: Template | Error;
      bosToken: string;
      eosToken: string;
    }
  | { kind: "template"; template: string; source: "model" | "option"; engine: "builtin" };

export const PLAIN_JOINER = "\n\n";
export const BUILTIN_PREFIX = "builtin:";

/** The names llama_chat_apply_template knows (chatml, llama3, …). */
export function builtinChatTemplates(fn: LlamaFunctions): string[] {
  const out: (string | null)[] = new Array(256).fill(null);
  const n = fn.llama_chat_builtin_templates(out, out.length);
  return out.slice(0, Math.min(n, out.length)).filter((s): s is string => typeof s === "string");
}

// llama_vocab_eos is the one vocabulary call the shared bindings in ffi.ts do not have yet; bound here from
// the same library file (dlopen hands back the already loaded one) so ffi.ts stays untouched.
let vocabEos: ((vocab: VocabPtr) => number) | undefined;
function eosId(vocab: VocabPtr): number {
  vocabEos ??= koffi
    .load(loadLlamaLibrary().files.libllama)
    .func("int32_t llama_vocab_eos(const llama_vocab *vocab)") as (vocab: VocabPtr) => number;
  return vocabEos(vocab);
}

/** The text of a special token (e.g. "<s>"), or "" when the model has none (id -1). */
function tokenText(fn: LlamaFunctions, vocab: VocabPtr, id: number): string {
  if (id < 0) return "";
  let buf = new Uint8Array(64);
  let n = fn.llama_token_to_piece(vocab, id, buf, buf.length, 0, true);
  if (n < 0) {
    buf = new Uint8Array(-n);
    n = fn.llama_token_to_piece(vocab, id, buf, buf.length, 0, true);
  }
  return n > 0 ? Buffer.from(buf.buffer, buf.byteOffset, n).toString("utf8") : "";
}

/** The BOS and EOS token texts that Jinja chat templates read as `bos_token` / `eos_token`. */
export function specialTokenTexts(
  fn: LlamaFunctions,
  model: ModelPtr,
): { bosToken: string; eosToken: string } {
  const vocab = fn.llama_model_get_vocab(model);
  return {
    bosToken: tokenText(fn, vocab, fn.llama_vocab_bos(vocab)),
    eosToken: tokenText(fn, vocab, eosId(vocab)),
  };
}

function templateLabel(source: "model" | "option", template: string): string {
  return source === "model"
    ? "the model's chat template"
    : `chat template ${JSON.stringify(template.slice(0, 60))}`;
}

/** Parses Jinja template text; a syntax error is kept, naming the template, and thrown on first use. */
export function compileJinjaTemplate(
  template: string,
  source: "model" | "option",
  tokens: { bosToken: string; eosToken: string },
): Extract<ChatFormat, { engine: "jinja" }> {
  let compiled: Template | Error;
  try {
    compiled = new Template(template);
  } catch (err) {
    compiled = new Error(
      `${templateLabel(source, template)} is not valid Jinja: ${(err as Error).message}; set chatTemplate to "builtin:NAME" for one of llama.cpp's built-in templates, or "none" to join messages as plain text`,
    );
  }
  return { kind: "template", template, source, engine: "jinja", compiled, ...tokens };
}

/**
 * Resolves the `chatTemplate` option: "auto" (default) takes the model's template (Jinja), or "none" if it has
 * none; "none" forces plain joining; "builtin:NAME" or a bare built-in name picks llama.cpp's template NAME;
 * anything else is Jinja template text.
 */
export function resolveChatFormat(
  fn: LlamaFunctions,
  model: ModelPtr,
  choice: string | undefined,
): ChatFormat {
  if (choice === "none") return { kind: "none" };
  if (choice === undefined || choice === "auto") {
    const t = fn.llama_model_chat_template(model, null);
    if (t === null || t.length === 0) return { kind: "none" };
    return compileJinjaTemplate(t, "model", specialTokenTexts(fn, model));
  }
  const builtins = builtinChatTemplates(fn);
  if (choice.startsWith(BUILTIN_PREFIX)) {
    const name = choice.slice(BUILTIN_PREFIX.length);
    if (!builtins.includes(name))
      throw new Error(
        `chatTemplate "${choice}": llama.cpp has no built-in template "${name}" (it has ${builtins.join(", ")})`,
      );
    return { kind: "template", template: name, source: "option", engine: "builtin" };
  }
  if (builtins.includes(choice))
    return { kind: "template", template: choice, source: "option", engine: "builtin" };
  return compileJinjaTemplate(choice, "option", specialTokenTexts(fn, model));
}

/** Renders a Jinja chat format as Hugging Face's apply_chat_template(add_generation_prompt=True) does. */
export function renderJinjaChat(
  format: Extract<ChatFormat, { engine: "jinja" }>,
  messages: readonly ChatMessage[],
  extra: Record<string, unknown> = {},
): string {
  if (format.compiled instanceof Error) throw format.compiled;
  let text: string;
  try {
    text = format.compiled.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: true,
      bos_token: format.bosToken,
      eos_token: format.eosToken,
      ...extra,
    });
  } catch (err) {
    throw new Error(
      `${templateLabel(format.source, format.template)} cannot render this conversation: ${(err as Error).message}`,
    );
  }
  // A template that renders without the conversation's last user turn is not this model's chat template
  // (e.g. undefined variables render as nothing in Jinja): refuse it rather than prompt the model with it.
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const needle = lastUser?.content.trim();
  if (needle && !text.includes(needle))
    throw new Error(
      `${templateLabel(format.source, format.template)} cannot be rendered: its output does not contain the conversation ` +
        `(as template text it is not one llama.cpp can apply either; set chatTemplate to "builtin:NAME" for a built-in ` +
        `template such as chatml, or "none" to join messages as plain text)`,
    );
  return text;
}

function applyBuiltin(fn: LlamaFunctions, name: string, messages: readonly ChatMessage[]): string {
  const chat = messages.map((m) => ({ role: m.role, content: m.content }));
  const chars = messages.reduce((s, m) => s + Buffer.byteLength(m.content) + m.role.length, 0);
  let buf = new Uint8Array(2 * chars + 1024);
  let n = fn.llama_chat_apply_template(name, chat, chat.length, true, buf, buf.length);
  if (n > buf.length) {
    buf = new Uint8Array(n);
    n = fn.llama_chat_apply_template(name, chat, chat.length, true, buf, buf.length);
  }
  if (n < 0)
    throw new Error(
      `llama.cpp's built-in chat template "${name}" failed (${n}); its built-in templates are ${builtinChatTemplates(fn).join(", ")}`,
    );
  return Buffer.from(buf.buffer, buf.byteOffset, n).toString("utf8");
}

/** Applies the format (with the assistant-turn opener appended) and returns the prompt text. */
export function applyChatTemplate(
  fn: LlamaFunctions,
  format: ChatFormat,
  messages: readonly ChatMessage[],
): string {
  if (messages.length === 0) throw new RangeError("messages is empty");
  if (format.kind === "none") return messages.map((m) => m.content).join(PLAIN_JOINER);
  if (format.engine === "builtin") return applyBuiltin(fn, format.template, messages);
  return renderJinjaChat(format, messages);
}

/** llama.cpp's own rendering of template text or a built-in name (for comparisons), or undefined (-1). */
export function llamaCppChatTemplate(
  fn: LlamaFunctions,
  template: string,
  messages: readonly ChatMessage[],
): string | undefined {
  try {
    return applyBuiltin(fn, template, messages);
  } catch {
    return undefined;
  }
}
