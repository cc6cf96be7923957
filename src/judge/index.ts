export { createMemoryJudgeCache, type JudgeCache, type JudgeCacheKeyInput, judgeCacheKey } from "./cache.js";
export {
  createJudge,
  type Judge,
  type JudgeInput,
  type JudgeOptions,
  type JudgeOutcome,
  type JudgePreset,
} from "./judge.js";
export { normaliseLabel, type ParsedVerdict, parseVerdict } from "./parse-verdict.js";
