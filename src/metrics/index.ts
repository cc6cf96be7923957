// Public surface of the statistics layer.
export * from "./agreement.js";
export { type Interval, toPercent, Z95 } from "./interval.js";
export { mcnemarExact } from "./mcnemar.js";
export * from "./newcombe.js";
export { mulberry32 } from "./random.js";
export * from "./table1.js";
export { wilson } from "./wilson.js";
