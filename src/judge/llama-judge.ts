// The embedded llama.cpp engine as a judge: label scoring (the label with the highest log-likelihood wins,
// so a small local judge never returns an unparseable verdict) or a generated verdict parsed like any
// judge's. It shares the subject's engine when both name the same file, scoring as its own sequence.

import { localParallel } from "../config/provider-kinds.js";
import type { JudgeConfig } from "../config/run-config.js";
import { fitPrompt } from "../llama/fit-prompt.js";
import { type BoundJudgePrompt, bindJudgePrompt } from "../protocol/judge-prompts.js";
import { createLlamaProvider, type LlamaProviderOptions, labelCue } from "../providers/llama-provider.js";
import type { ModelProvider } from "../providers/provider.js";
import type { ChatMessage, Label, ProtocolStrings, Verdict } from "../types.js";
import { Limiter } from "../util/limiter.js";
import type { JudgeCache } from "./cache.js";
import type { ConnectedJudge } from "./connected.js";
import { createJudge } from "./judge.js";

/** What a local judge needs from the run. */
export interface JudgeContext {
  strings: ProtocolStrings;
  cache?: JudgeCache;
  /** The run's concurrency (a judge without its own `concurrency` takes the local default from it). */
  concurrency: number;
}

/**
 * Label scoring: the judge prompt, then the start of a verdict, then each allowed label; the label with the
 * highest log-likelihood wins. A small local judge can therefore never return an unparseable verdict.
 */
export async function createLabelScoringJudge(
  modelRef: string,
  prompt: BoundJudgePrompt,
  opts: LlamaProviderOptions = {},
): Promise<{ judge: ConnectedJudge["judge"]; close(): Promise<void> }> {
  const provider = await createLlamaProvider(modelRef, opts);
  const engine = provider.engine;
  const { cue, continuation } = labelCue(prompt.format);
  const conts = prompt.labels.map(continuation);
  const longest = Math.max(...conts.map((c) => engine.tokenize(cue + c).length));
  return {
    async judge(input): Promise<Verdict> {
      const messages: ChatMessage[] = prompt.buildMessages(input);
      // The verdict's opening (the cue) goes into every continuation, after the template's assistant turn.
      const { prompt: fitted, truncated } = fitPrompt(
        engine,
        messages,
        engine.info.contextSize - longest - 1,
      );
      // Scored as its own sequence: batched beside generations, never under their steering.
      const scores = await engine.scoreContinuations(
        fitted,
        conts.map((c) => cue + c),
      );
      let best = 0;
      for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
      const byLabel = Object.fromEntries(prompt.labels.map((l, i) => [l, scores[i]!])) as Partial<
        Record<Label, number>
      >;
      return {
        label: prompt.labels[best],
        reason: `label scoring: highest log-likelihood${truncated ? " (judge prompt truncated to the context)" : ""}`,
        failed: false,
        raw: JSON.stringify(byLabel),
        scores: byLabel,
      };
    },
    close: () => provider.close(),
  };
}

/** The judge for a config's `provider: llama` judge: label scoring (`mode: score`) or a generated verdict. */
export async function connectLlamaJudge(j: JudgeConfig, ctx: JudgeContext): Promise<ConnectedJudge> {
  const prompt = bindJudgePrompt(j.prompt, ctx.strings);
  // Judgements are sequences of the shared engine too: as many in flight as it has slots.
  const parallel = j.concurrency ?? localParallel(ctx.concurrency);
  const limiter = new Limiter(parallel);
  const engine = {
    threads: j.threads,
    contextSize: j.contextSize,
    gpu: j.gpu,
    gpuLayers: j.gpuLayers,
    parallel,
    chatTemplate: j.chatTemplate,
  };
  if (j.mode === "score") {
    const scorer = await createLabelScoringJudge(j.model, prompt, engine);
    return { judge: scorer.judge, limiter, close: scorer.close };
  }
  const provider: ModelProvider = await createLlamaProvider(j.model, { ...engine, thinking: true });
  const judge = createJudge({
    provider,
    preset: prompt,
    retries: j.retries,
    maxTokens: j.maxTokens,
    temperature: j.temperature,
    cache: ctx.cache,
  });
  return { judge: (input, signal) => judge.judge(input, signal), limiter, close: () => provider.close() };
}
