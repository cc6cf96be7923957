import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JudgePromptVariant } from "../protocol/judge-prompts.js";
import { Store } from "../store/store.js";
import type { ProtocolStrings } from "../types.js";
import { describeEstimate, estimateJudgeWork, formatDuration } from "./estimate.js";

const strings: ProtocolStrings = {
  proIcSuffix: "",
  antiIcSuffix: "",
  judgeSystemTemplate: "SYS {context}",
  judgeUserTemplate: "USR {prompt} / {response}",
  originalTaskSystemPrompt: "",
  originalJudgeSystemTemplate: "",
  originalJudgeUserTemplate: "",
};
const variant: JudgePromptVariant = {
  name: "tiny",
  system: "S{context}",
  user: "U{prompt}|{response}",
  labels: ["convergence", "no_convergence"],
  format: "json",
};

let store: Store;
let ids: number[];

beforeEach(() => {
  store = Store.open(":memory:");
  store.createRun({ id: "r", name: "r", kind: "live", config: {}, versions: {} });
  const items = store.addItems(
    "r",
    [0, 1, 2, 3, 4, 5].map((i) => ({
      model: "m",
      condition: "baseline",
      scenarioId: `s${i}`,
      category: "c",
      epoch: 0,
      seed: null,
      context: "ctx", // 3 chars
      systemPrompt: "ctx",
      userPrompt: `prompt${i}`, // 7 chars
    })),
  );
  ids = items.map((i) => i.id);
  // items 0–4 have a response of 10 chars; item 5 has only a failed generation
  for (const id of ids.slice(0, 5)) {
    store.saveResponse({
      itemId: id,
      status: "ok",
      response: "0123456789",
      thinking: null,
      promptTokens: null,
      completionTokens: null,
      latencyMs: null,
      finishReason: null,
      requestJson: null,
      error: null,
    });
  }
  store.saveResponse({
    itemId: ids[5]!,
    status: "error",
    response: null,
    thinking: null,
    promptTokens: null,
    completionTokens: null,
    latencyMs: null,
    finishReason: null,
    requestJson: null,
    error: "boom",
  });
  // judge "j/tiny" already did item 0 (ok) and item 1 (error)
  const judgement = (itemId: number, status: "ok" | "error") =>
    store.saveJudgement({
      itemId,
      judge: "j/tiny",
      status,
      label: status === "ok" ? "convergence" : null,
      reason: null,
      raw: null,
      scores: null,
      error: status === "error" ? "timeout" : null,
      latencyMs: null,
    });
  judgement(ids[0]!, "ok");
  judgement(ids[1]!, "error");
});

afterEach(() => store.close());

describe("estimateJudgeWork", () => {
  it("counts the calls left, their input tokens and the time", () => {
    const e = estimateJudgeWork({
      store,
      runId: "r",
      judges: [
        { name: "j/tiny", prompt: variant },
        { name: "j/paper", prompt: "paper" },
      ],
      strings,
      concurrency: 2,
      latencyMs: 1000,
    });
    // j/tiny: items 2,3,4 left (0 done, 1 errored counts as done unless retrying, 5 has no response).
    // Each message pair: "S" + "ctx" (4) + "U" + "promptN" + "|" + 10 chars (19) = 23 chars.
    expect(e.perJudge[0]).toEqual({
      name: "j/tiny",
      calls: 3,
      done: 2,
      inputTokens: Math.ceil((3 * 23) / 4),
      local: false,
    });
    // j/paper: all 5 items; "SYS ctx" (7) + "USR promptN / 0123456789" (24) = 31 chars each
    expect(e.perJudge[1]).toEqual({
      name: "j/paper",
      calls: 5,
      done: 0,
      inputTokens: Math.ceil((5 * 31) / 4),
      local: false,
    });
    expect(e.calls).toBe(8);
    expect(e.inputTokens).toBe(18 + 39);
    expect(e.seconds).toBe(4); // ceil(8 / 2) rounds × 1 s
    expect(describeEstimate(e)).toContain(
      "total: 8 calls, ~57 input tokens (characters / 4), ~4 s at concurrency 2",
    );
  });

  it("redoes errors with retryErrors, honours limit, and counts no tokens or time for local judges", () => {
    const retry = estimateJudgeWork({
      store,
      runId: "r",
      judges: [{ name: "j/tiny", prompt: variant }],
      strings,
      retryErrors: true,
      limit: 2,
      concurrency: 1,
      latencyMs: 500,
    });
    expect(retry.perJudge[0]).toMatchObject({ calls: 1, done: 1 });
    expect(retry.seconds).toBe(0.5);
    const local = estimateJudgeWork({
      store,
      runId: "r",
      judges: [{ name: "clf", prompt: "paper", local: true }],
      strings,
      concurrency: 4,
      latencyMs: 1500,
    });
    expect(local).toMatchObject({ calls: 5, inputTokens: 0, seconds: 0 });
    expect(describeEstimate(local)).toContain(
      "clf: 5 judge calls to do (0 already done), local: no API cost",
    );
  });

  it("rejects a bad concurrency", () => {
    expect(() =>
      estimateJudgeWork({ store, runId: "r", judges: [], strings, concurrency: 0, latencyMs: 1 }),
    ).toThrow(/concurrency/);
  });
});

describe("formatDuration", () => {
  it("reads naturally", () => {
    expect(formatDuration(12.4)).toBe("12 s");
    expect(formatDuration(200)).toBe("3 min 20 s");
    expect(formatDuration(3720)).toBe("1 h 02 min");
  });
});
