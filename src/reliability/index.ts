// Public surface of judge reliability: several judges and their consensus, one judge checked against
// reference labels, prompt sensitivity, cost estimates, and the offline classifier judge.
export * from "../judge/classifier/features.js";
export * from "../judge/classifier/judge.js";
export * from "../judge/classifier/model.js";
export * from "../judge/classifier/softmax.js";
export * from "./classifier/train.js";
export * from "./compare.js";
export * from "./estimate.js";
export * from "./format.js";
export * from "./judge-check.js";
export * from "./multi-judge.js";
export * from "./sensitivity.js";
