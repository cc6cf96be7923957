// Real models' chat templates (test/fixtures/chat-templates, sources in SOURCES.md) rendered with
// @huggingface/jinja, checked against their documented output and against llama.cpp's
// llama_chat_apply_template where the two should agree.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, tinyModel } from "../../test/paths.js";
import type { ChatMessage } from "../types.js";
import {
  applyChatTemplate,
  type ChatFormat,
  compileJinjaTemplate,
  llamaCppChatTemplate,
  renderJinjaChat,
} from "./chat-template.js";
import { LlamaEngine } from "./engine.js";
import { loadLlamaLibrary } from "./ffi.js";

const dir = join(repoRoot, "test", "fixtures", "chat-templates");
const fixture = (name: string) => readFileSync(join(dir, name), "utf8");
const expected = JSON.parse(fixture("llama-cpp-expected.json")) as Record<
  string,
  { expected_output: string; expected_output_jinja: string; bos_token: string; eos_token: string }
>;
const jinja = (file: string, bosToken = "", eosToken = "") =>
  compileJinjaTemplate(fixture(file), "option", { bosToken, eosToken });
const fn = () => loadLlamaLibrary().fn;

/** llama.cpp's test conversation (tests/test-chat-template.cpp). */
const CONVERSATION: ChatMessage[] = [
  { role: "system", content: "You are a helpful assistant" },
  { role: "user", content: "Hello" },
  { role: "assistant", content: "Hi there" },
  { role: "user", content: "Who are you" },
  { role: "assistant", content: "   I am an assistant   " },
  { role: "user", content: "Another question" },
];
const NO_SYSTEM = CONVERSATION.slice(1);

describe("Jinja chat templates of real models", () => {
  it("Llama 3: the documented rendering, identical to llama.cpp's llama3 template", () => {
    const e = expected.llama3!;
    const out = renderJinjaChat(jinja("llama-3-8b-instruct.jinja", e.bos_token), CONVERSATION);
    expect(out).toBe(e.expected_output_jinja || e.expected_output);
    expect(llamaCppChatTemplate(fn(), fixture("llama-3-8b-instruct.jinja"), CONVERSATION)).toBe(out);
    expect(llamaCppChatTemplate(fn(), "llama3", CONVERSATION)).toBe(out);
  });

  it("Mistral 7B Instruct v0.2: the documented rendering, identical to llama.cpp's", () => {
    const e = expected["mistral-v1"]!;
    const out = renderJinjaChat(
      jinja("mistral-7b-instruct-v0.2.jinja", e.bos_token, e.eos_token),
      CONVERSATION,
    );
    expect(out).toBe(e.expected_output_jinja || e.expected_output);
    expect(llamaCppChatTemplate(fn(), fixture("mistral-7b-instruct-v0.2.jinja"), CONVERSATION)).toBe(out);
    // With the model's BOS it starts with <s>, as transformers renders it.
    expect(
      renderJinjaChat(jinja("mistral-7b-instruct-v0.2.jinja", "<s>", "</s>"), CONVERSATION).startsWith(
        "<s> [INST] You are a helpful assistant\n\nHello [/INST]",
      ),
    ).toBe(true);
  });

  it("Gemma 2: refuses a system message loudly (the template's own error); otherwise agrees with llama.cpp", () => {
    const f = jinja("gemma-2-2b-it.jinja", "<bos>", "<eos>");
    expect(() => renderJinjaChat(f, CONVERSATION)).toThrow(
      /cannot render this conversation: System role not supported/,
    );
    const out = renderJinjaChat(f, NO_SYSTEM);
    expect(out).toBe(
      "<bos><start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n" +
        "<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an assistant<end_of_turn>\n" +
        "<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n",
    );
    // llama.cpp's built-in gemma template leaves BOS to the tokenizer.
    expect(`<bos>${llamaCppChatTemplate(fn(), fixture("gemma-2-2b-it.jinja"), NO_SYSTEM)}`).toBe(out);
  });

  it("SmolLM2: adds its default system prompt as documented — which llama.cpp's chatml sniffing drops", () => {
    const f = jinja("smollm2-135m-instruct.jinja");
    const single: ChatMessage[] = [{ role: "user", content: "What is the capital of France?" }];
    expect(renderJinjaChat(f, single)).toBe(
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    );
    const chatml = llamaCppChatTemplate(fn(), fixture("smollm2-135m-instruct.jinja"), single);
    expect(chatml).toBe(
      "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    );
    // With a system message of its own the two agree.
    expect(renderJinjaChat(f, CONVERSATION)).toBe(llamaCppChatTemplate(fn(), "chatml", CONVERSATION));
  });

  it("Qwen3 (hybrid): chatml for a plain conversation; enable_thinking=False adds the empty think block", () => {
    const f = jinja("qwen3.jinja");
    const turn: ChatMessage[] = [
      { role: "system", content: "You are a helpful assistant" },
      { role: "user", content: "Hello" },
    ];
    const out = renderJinjaChat(f, turn);
    expect(out).toBe(llamaCppChatTemplate(fn(), "chatml", turn));
    expect(out).toBe(
      "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(renderJinjaChat(f, turn, { enable_thinking: false })).toBe(`${out}<think>\n\n</think>\n\n`);
    // Earlier assistant turns keep only their answer, as the model card asks; llama.cpp's chatml keeps all.
    const history: ChatMessage[] = [
      { role: "user", content: "2+2?" },
      { role: "assistant", content: "<think>\nadd them\n</think>\n\n4" },
      { role: "user", content: "and 3+3?" },
    ];
    const rendered = renderJinjaChat(f, history);
    expect(rendered).toBe(
      "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nand 3+3?<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(llamaCppChatTemplate(fn(), fixture("qwen3.jinja"), history)).not.toBe(rendered);
  });

  it("Qwen3-4B-Thinking-2507: opens the thinking block, which llama.cpp's chatml does not", () => {
    const f = jinja("qwen3-4b-thinking-2507.jinja");
    const turn: ChatMessage[] = [{ role: "user", content: "Hello" }];
    const out = renderJinjaChat(f, turn);
    expect(out).toBe("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n");
    expect(`${llamaCppChatTemplate(fn(), fixture("qwen3-4b-thinking-2507.jinja"), turn)}<think>\n`).toBe(out);
  });
});

describe("templates that cannot be rendered fail loudly", () => {
  it("a Jinja syntax error, when a conversation is rendered (raw prompts still work)", () => {
    const f = compileJinjaTemplate("{% for m in messages %}", "option", { bosToken: "", eosToken: "" });
    expect(() => renderJinjaChat(f, [{ role: "user", content: "hi" }])).toThrow(
      /is not valid Jinja.*builtin:NAME/,
    );
  });

  it("a template whose output does not hold the conversation (undefined names render as nothing)", () => {
    const f = compileJinjaTemplate("{{ nonsense }}", "model", { bosToken: "", eosToken: "" });
    expect(() => renderJinjaChat(f, [{ role: "user", content: "hi" }])).toThrow(
      /the model's chat template cannot be rendered: its output does not contain the conversation/,
    );
  });

  it("a raise_exception in the template names the template and the reason", () => {
    const f = jinja("mistral-7b-instruct-v0.2.jinja");
    expect(() =>
      renderJinjaChat(f, [
        { role: "user", content: "a" },
        { role: "user", content: "b" },
      ]),
    ).toThrow(
      /chat template ".*" cannot render this conversation: After the optional system message, conversation roles must alternate/,
    );
  });
});

describe("the engine renders the templates it is given", () => {
  it("Jinja text, builtin:NAME, bare built-in names, with the model's own BOS/EOS", async () => {
    const smol = await LlamaEngine.load(tinyModel, {
      threads: 1,
      contextSize: 128,
      chatTemplate: fixture("smollm2-135m-instruct.jinja"),
      hooks: false,
    });
    try {
      expect(smol.info.chatTemplate).toBe("option");
      expect(smol.applyChatTemplate([{ role: "user", content: "hi" }])).toBe(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
      );
    } finally {
      await smol.dispose();
    }
    const bos = await LlamaEngine.load(tinyModel, {
      threads: 1,
      contextSize: 128,
      chatTemplate: "{{ bos_token }}|{{ messages[0].content }}|{{ eos_token }}",
      hooks: false,
    });
    try {
      // The fixture's llama2.c vocabulary spells BOS and EOS as "\n<s>\n" and "\n</s>\n": read from the model.
      expect(bos.applyChatTemplate([{ role: "user", content: "hi" }])).toBe("\n<s>\n|hi|\n</s>\n");
    } finally {
      await bos.dispose();
    }
    for (const choice of ["builtin:chatml", "chatml"]) {
      const e = await LlamaEngine.load(tinyModel, {
        threads: 1,
        contextSize: 128,
        chatTemplate: choice,
        hooks: false,
      });
      try {
        expect(e.applyChatTemplate([{ role: "user", content: "hi" }])).toBe(
          "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        );
      } finally {
        await e.dispose();
      }
    }
    await expect(
      LlamaEngine.load(tinyModel, {
        threads: 1,
        contextSize: 128,
        chatTemplate: "builtin:nope",
        hooks: false,
      }),
    ).rejects.toThrow(/no built-in template "nope" \(it has .*chatml/);
  });

  it("applyChatTemplate keeps plain joining for 'none'", () => {
    const none: ChatFormat = { kind: "none" };
    expect(applyChatTemplate(fn(), none, CONVERSATION.slice(0, 2))).toBe(
      "You are a helpful assistant\n\nHello",
    );
  });
});
