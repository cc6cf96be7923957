// A judge ready for a run: how to judge one item, how many calls at once, and how to let go of it.
// Every kind (an HTTP judge, the embedded engine's label scoring, the offline classifier) connects to
// this one shape, so the runner treats them alike.
import type { Verdict } from "../types.js";
import type { Limiter } from "../util/limiter.js";
import type { JudgeInput } from "./judge.js";

export interface ConnectedJudge {
  judge(input: JudgeInput, signal?: AbortSignal): Promise<Verdict>;
  limiter: Limiter;
  /** One cheap request before the run starts (see ModelProvider.preflight). */
  preflight?(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
