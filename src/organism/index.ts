export * from "./format.js";
export * from "./planted.js";
export * from "./recovery.js";
export * from "./steerling.js";
