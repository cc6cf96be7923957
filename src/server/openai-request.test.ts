import { describe, expect, it } from "vitest";
import { parseOpenAIRequest, RequestError } from "./openai-request.js";

const user = [{ role: "user", content: "hi" }];
const chat = (extra: Record<string, unknown>) => parseOpenAIRequest("chat", { messages: user, ...extra });
const refusal = (fn: () => unknown): RequestError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RequestError);
    return err as RequestError;
  }
  throw new Error("expected a RequestError");
};

describe("parseOpenAIRequest", () => {
  it("takes the shapes real clients send: text parts, developer, assistant content null", () => {
    const r = parseOpenAIRequest("chat", {
      model: "m",
      messages: [
        { role: "developer", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "one" },
            { type: "text", text: "two" },
          ],
        },
        { role: "assistant", content: null, refusal: null },
        { role: "user", content: "again" },
      ],
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
      logprobs: false,
      response_format: { type: "text" },
      frequency_penalty: 0,
      seed: null,
      user: "u-1",
    });
    expect(r.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "one\ntwo" },
      { role: "assistant", content: "" },
      { role: "user", content: "again" },
    ]);
    expect(r).toMatchObject({ n: 2, stream: true, includeUsage: true, seed: undefined, raw: false });
  });

  it("refuses every unknown parameter by name", () => {
    const e = refusal(() => chat({ top_k: 40 }));
    expect(e.status).toBe(400);
    expect(e.param).toBe("top_k");
    expect(e.message).toMatch(/^top_k: unknown parameter/);
    expect(refusal(() => chat({ steering: { vector: "v", strength: 1, scale: 2 } })).param).toBe(
      "steering.scale",
    );
    expect(refusal(() => chat({ stream: true, stream_options: { foo: 1 } })).param).toBe(
      "stream_options.foo",
    );
    expect(
      refusal(() => parseOpenAIRequest("chat", { messages: [{ role: "user", content: "x", name: "bob" }] }))
        .param,
    ).toBe("messages.0.name");
  });

  it("refuses known parameters it cannot honour, naming them and why", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ logprobs: true }, "logprobs", /log-probabilities/],
      [{ top_logprobs: 2 }, "top_logprobs", /log-probabilities/],
      [{ response_format: { type: "json_object" } }, "response_format", /grammar/],
      [{ response_format: { type: "json_schema", json_schema: {} } }, "response_format", /json_schema/],
      [{ tools: [{ type: "function" }] }, "tools", /tool/],
      [{ tool_choice: "auto" }, "tool_choice", /tool/],
      [{ presence_penalty: 0.5 }, "presence_penalty", /penalt/],
      [{ logit_bias: { "1": 5 } }, "logit_bias", /logit_bias/],
      [{ reasoning_effort: "high" }, "reasoning_effort", /reasoning/],
    ];
    for (const [extra, param, why] of cases) {
      const e = refusal(() => chat(extra));
      expect(e.param, JSON.stringify(extra)).toBe(param);
      expect(e.message).toMatch(why);
    }
    expect(refusal(() => parseOpenAIRequest("completion", { prompt: "x", echo: true })).param).toBe("echo");
    expect(refusal(() => parseOpenAIRequest("completion", { prompt: "x", logprobs: 3 })).param).toBe(
      "logprobs",
    );
  });

  it("names the bad message part or role", () => {
    const img = refusal(() =>
      parseOpenAIRequest("chat", {
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }],
      }),
    );
    expect(img.param).toBe("messages.0.content.0.type");
    expect(img.message).toMatch(/text parts only/);
    expect(
      refusal(() => parseOpenAIRequest("chat", { messages: [{ role: "tool", content: "x" }] })).param,
    ).toBe("messages.0.role");
    expect(
      refusal(() => parseOpenAIRequest("chat", { messages: [{ role: "wizard", content: "x" }] })).message,
    ).toMatch(/unknown role "wizard"/);
    expect(
      refusal(() => parseOpenAIRequest("chat", { messages: [{ role: "user", content: null }] })).param,
    ).toBe("messages.0.content");
    expect(
      refusal(() =>
        parseOpenAIRequest("chat", {
          messages: [{ role: "assistant", content: null, tool_calls: [{ id: "1" }] }],
        }),
      ).param,
    ).toBe("messages.0.tool_calls");
  });

  it("checks ranges and consistency", () => {
    expect(refusal(() => chat({ temperature: 9 })).param).toBe("temperature");
    expect(refusal(() => chat({ n: 0 })).param).toBe("n");
    expect(refusal(() => chat({ seed: 0xffffffff })).param).toBe("seed");
    expect(refusal(() => chat({ stream_options: { include_usage: true } })).param).toBe("stream_options");
    expect(refusal(() => chat({ max_tokens: 5, max_completion_tokens: 6 })).param).toBe(
      "max_completion_tokens",
    );
    expect(chat({ max_completion_tokens: 7 }).maxTokens).toBe(7);
    expect(refusal(() => parseOpenAIRequest("chat", { messages: [] })).param).toBe("messages");
    expect(refusal(() => parseOpenAIRequest("chat", [1])).message).toMatch(/JSON object/);
  });

  it("reads completions as one raw prompt", () => {
    const r = parseOpenAIRequest("completion", { prompt: ["The robot"], max_tokens: 3, stop: "x" });
    expect(r).toMatchObject({
      raw: true,
      messages: [{ role: "user", content: "The robot" }],
      maxTokens: 3,
      stop: ["x"],
      temperature: 1,
    });
    expect(refusal(() => parseOpenAIRequest("completion", { prompt: ["a", "b"] })).param).toBe("prompt");
  });
});
