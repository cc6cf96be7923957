// Judges one stored response with one judge and commits the verdict. Shared by live runs and by
// judge-only passes over existing runs (judge-check, adding a judge), so both behave the same.
import { type ProviderError, withRetry } from "../providers/index.js";
import type { ItemRecord } from "../store/store.js";
import type { ResultWriter } from "../store/write-behind.js";
import type { Verdict } from "../types.js";
import type { ConnectedJudge } from "./connect.js";

export interface RetrySettings {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What happened: ok / failed are stored verdicts; error is a stored transport failure; aborted stores nothing. */
export type JudgeItemResult = "ok" | "failed" | "error" | "aborted";

export async function judgeItem(args: {
  /** Where the verdict is committed; the result returns only after it is. */
  store: ResultWriter;
  item: ItemRecord;
  responseText: string;
  judgeName: string;
  judge: ConnectedJudge;
  retry: RetrySettings;
  signal: AbortSignal | undefined;
  log: (line: string) => void;
}): Promise<JudgeItemResult> {
  const { store, item, judgeName, judge, signal } = args;
  const started = performance.now();
  let verdict: Verdict;
  try {
    verdict = await withRetry(
      () =>
        judge.limiter.run(() =>
          judge.judge(
            { context: item.context, prompt: item.userPrompt, response: args.responseText },
            signal,
          ),
        ),
      {
        ...args.retry,
        signal,
        onRetry: (err: ProviderError) => args.log(`retry judge ${judgeName}: ${err.message}`),
      },
    );
  } catch (err) {
    if (signal?.aborted) return "aborted";
    await store.saveJudgement({
      itemId: item.id,
      judge: judgeName,
      status: "error",
      label: null,
      reason: null,
      raw: null,
      scores: null,
      error: err instanceof Error ? err.message : String(err),
      latencyMs: performance.now() - started,
    });
    return "error";
  }
  await store.saveJudgement({
    itemId: item.id,
    judge: judgeName,
    status: verdict.failed ? "failed" : "ok",
    label: verdict.label ?? null,
    reason: verdict.reason ?? null,
    raw: verdict.raw,
    scores: verdict.scores ? (verdict.scores as Record<string, number>) : null,
    error: verdict.error ?? null,
    latencyMs: performance.now() - started,
    ofResponse: args.responseText,
  });
  return verdict.failed ? "failed" : "ok";
}
