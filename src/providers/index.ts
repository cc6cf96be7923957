export {
  completionPrompt,
  createOpenAICompatibleProvider,
  type OpenAICompatibleOptions,
  type OpenAIMode,
} from "./openai-compatible.js";
export {
  type GenerateRequest,
  isProviderError,
  type ModelProvider,
  ProviderError,
  type ProviderErrorKind,
  type ProviderErrorOptions,
} from "./provider.js";
export { isSecretHeader, REDACTED, redact } from "./redact.js";
export {
  backoffDelayMs,
  DEFAULT_MAX_RETRY_AFTER_MS,
  type ProviderRetryOptions,
  parseRetryAfter,
  type RetryInfo,
  type RetryOptions,
  sleep,
  withRetries,
  withRetry,
} from "./retry.js";
export { splitThinking, THINK_CLOSE, THINK_OPEN, type ThinkingSplit } from "./thinking.js";
