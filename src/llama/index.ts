// The in-process llama.cpp engine (FFI to libllama): generation, hidden states, control vectors, scoring.
export { builtinChatTemplates, PLAIN_JOINER } from "./chat-template.js";
export { type ControlVectorSpec, controlVectorFromFlat } from "./control-vector.js";
export {
  type CaptureRequest,
  ContextOverflowError,
  type EngineGenerateRequest,
  type FinishReason,
  type GenerateResult,
  type GenerateTimings,
  type HiddenStatePositions,
  LlamaEngine,
  type LlamaEngineOptions,
  type LlamaModelInfo,
  openAIFinishReason,
  type PromptInput,
} from "./engine.js";
export { LLAMA_CPP_RELEASE, NODE_LLAMA_CPP_VERSION } from "./ffi.js";
export { LAYER_TENSOR_PREFIX } from "./hooks.js";
export type { LlamaLogLevel, LlamaLogLine } from "./log.js";
export type { SequenceSteeringSpec, SteeringMode } from "./steer-ops.js";
export type { TokenizeOptions } from "./vocab.js";
