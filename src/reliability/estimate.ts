// What a judge pass will cost before it starts: the judge calls still to do (a resumed pass only
// does the missing ones), the input tokens they send (characters / 4 of the built messages, the usual
// rough rate for English), and the wall time at a given concurrency and per-call latency.

import { buildJudgeMessages, type JudgePrompt } from "../protocol/judge-prompts.js";
import { loadItemStates, needsJudge } from "../runner/work-left.js";
import type { Store } from "../store/store.js";
import type { ProtocolStrings } from "../types.js";

export interface PlannedJudge {
  /** The judge name the verdicts are stored under. */
  name: string;
  prompt: JudgePrompt;
  /** A local judge (the classifier) sends nothing anywhere: no tokens, no latency guess. */
  local?: boolean;
}

export interface JudgeEstimate {
  perJudge: { name: string; calls: number; done: number; inputTokens: number; local: boolean }[];
  /** Judge calls left over all judges. */
  calls: number;
  inputTokens: number;
  /** ceil(remote calls / concurrency) × latency, in seconds. */
  seconds: number;
  concurrency: number;
  latencyMs: number;
}

export function estimateJudgeWork(args: {
  store: Store;
  runId: string;
  judges: readonly PlannedJudge[];
  strings: ProtocolStrings;
  limit?: number;
  retryErrors?: boolean;
  concurrency: number;
  latencyMs: number;
}): JudgeEstimate {
  const { store, runId } = args;
  if (!Number.isInteger(args.concurrency) || args.concurrency < 1) {
    throw new Error(`concurrency must be a positive integer, got ${args.concurrency}`);
  }
  if (!(args.latencyMs >= 0)) throw new Error(`latency must be ≥ 0 ms, got ${args.latencyMs}`);
  let items = store.items(runId);
  if (args.limit !== undefined) items = items.slice(0, args.limit);
  // One reading of the store for all items (it once queried each item's response, per judge).
  const states = loadItemStates(store, runId);

  const perJudge = args.judges.map((judge) => {
    let calls = 0;
    let done = 0;
    let chars = 0;
    for (const item of items) {
      const state = states.get(item.id);
      if (state?.response?.status !== "ok") continue;
      if (!needsJudge(state, judge.name, args.retryErrors === true)) {
        done++;
        continue;
      }
      calls++;
      if (judge.local) continue;
      const messages = buildJudgeMessages(
        judge.prompt,
        { context: item.context, prompt: item.userPrompt, response: state.response.text ?? "" },
        args.strings,
      );
      for (const m of messages) chars += m.content.length;
    }
    return { name: judge.name, calls, done, inputTokens: Math.ceil(chars / 4), local: judge.local === true };
  });
  const remote = perJudge.filter((j) => !j.local).reduce((s, j) => s + j.calls, 0);
  return {
    perJudge,
    calls: perJudge.reduce((s, j) => s + j.calls, 0),
    inputTokens: perJudge.reduce((s, j) => s + j.inputTokens, 0),
    seconds: (Math.ceil(remote / args.concurrency) * args.latencyMs) / 1000,
    concurrency: args.concurrency,
    latencyMs: args.latencyMs,
  };
}

/** "1 h 02 min", "3 min 20 s", "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

export function describeEstimate(e: JudgeEstimate): string {
  const lines = e.perJudge.map(
    (j) =>
      `  ${j.name}: ${j.calls} judge call${j.calls === 1 ? "" : "s"} to do (${j.done} already done), ` +
      (j.local ? "local: no API cost" : `~${j.inputTokens.toLocaleString("en-US")} input tokens`),
  );
  lines.push(
    `  total: ${e.calls} calls, ~${e.inputTokens.toLocaleString("en-US")} input tokens (characters / 4), ` +
      `~${formatDuration(e.seconds)} at concurrency ${e.concurrency} and ${e.latencyMs} ms per call`,
  );
  return `${lines.join("\n")}\n`;
}
