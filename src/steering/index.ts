// Activation steering: extract steering vectors from the engine's hidden states, save and load them as
// llama.cpp control-vector GGUFs, apply them as conditions, sweep their strength, measure side effects
// (perplexity) and compare them with prompt steering.

export {
  decodeGguf,
  encodeGguf,
  GgufError,
  type GgufFile,
  type GgufScalar,
  type GgufScalarType,
  type GgufTensorInfo,
  type GgufTensorInput,
  type GgufValue,
  readGgufFile,
  writeGgufFile,
} from "../gguf/gguf.js";
export {
  CONTROL_VECTOR_ARCH,
  type ControlVector,
  controlVectorFromGguf,
  type LayerQuality,
  modelArchitecture,
  readControlVector,
  type VectorMetadata,
  writeControlVector,
} from "../gguf/vector-file.js";
export {
  checkVectorFitsModel,
  clearVectorCache,
  controlVectorSpec,
  loadControlVector,
  resolveVectorPath,
  SteeringError,
  VECTORS_ENV,
} from "../llama/apply-steering.js";
export {
  countPromptTokens,
  type FitResult,
  fitPrompt,
  type PromptInput,
  type TokenCounter,
} from "../llama/fit-prompt.js";
export {
  type AttackCost,
  type AttackRow,
  type AttackSide,
  type AttackTable,
  buildAttackTables,
  costKey,
} from "./attacks.js";
export { attackReportHtml, formatAttackTables } from "./attacks-format.js";
export {
  BakeError,
  type BakeMode,
  type BakeOptions,
  type BakeResult,
  bakedEdit,
  bakeModel,
  orthogonaliseOutputs,
  orthogonaliseRows,
} from "./bake.js";
export {
  buildSteeringComparison,
  type ComparisonInput,
  type ComparisonSide,
  formatSteeringComparison,
  type SideCost,
  type SteeringComparison,
  storedConditions,
} from "./compare.js";
export {
  randomControl,
  type SignCheck,
  type Specificity,
  signCheck,
  specificity,
} from "./controls.js";
export {
  type Extraction,
  type ExtractionEngine,
  type ExtractOptions,
  extractionToVector,
  extractSteeringVectors,
  formatLayerList,
  type LayerReport,
  steerableLayers,
} from "./extract.js";
export {
  formatExtraction,
  formatSweep,
  formatVectorInfo,
  renderTables,
  STEERING_FORMATS,
  type SteeringFormat,
} from "./format.js";
export { type ModelFile, openModelFile, readTensorF32, writeModelFile } from "./gguf-model.js";
export { type AutoLayers, autoLayers, LayerSelectionError } from "./layer-select.js";
export {
  auc,
  cosine,
  type ExtractionMethod,
  firstPrincipalComponent,
  pairAccuracy,
  pairDifferences,
  separation,
  splitTrainTest,
  steeringDirection,
} from "./math.js";
export {
  type BuiltinPairsOptions,
  builtinPairs,
  type ContrastPair,
  PairsError,
  parsePairsJsonl,
  readPairsFile,
} from "./pairs.js";
export {
  conditionMessages,
  conditionPerplexity,
  NEUTRAL_PASSAGE,
  NEUTRAL_TASK,
  type PerplexityEngine,
  type PerplexityOptions,
  type PerplexityResult,
  passagePerplexity,
} from "./perplexity.js";
export {
  klDivergence,
  measureSideEffects,
  NEUTRAL_PROMPTS,
  observeReference,
  readOutputHead,
  SideEffectError,
  type SideEffectResult,
} from "./side-effects.js";
export {
  fileSha256,
  measurePerplexities,
  type RunSweepOptions,
  runSweep,
  type SweepResult,
  storedSweep,
} from "./sweep.js";
export { analyzeSweep, type Breakdown, type SweepAnalysis, type SweepPoint } from "./sweep-analysis.js";
export {
  buildSweepConfig,
  parseLayerRange,
  parseStrengths,
  type SweepConfigInput,
  type SweepRecord,
  type SweepSpec,
  steeringBody,
  strengthLabel,
  sweepConditionName,
  sweepConditions,
  sweepRecord,
  WITH_PROMPT,
  type WithPrompt,
} from "./sweep-config.js";
